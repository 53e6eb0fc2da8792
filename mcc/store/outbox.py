# -*- test-case-name: tests.test_routing_transcripts -*-
"""
E-mails waiting to be sent, and what became of those that were: a queued
one survives a restart.
"""

from dataclasses import dataclass

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"

OUTBOX_COLUMNS = (
    "id", "chat_id", "recipient", "message", "requested_by", "status", "tries", "reason",
    "created_at", "updated_at",
)


@dataclass(frozen=True)
class OutgoingMail:
    id: int
    chat_id: int | None
    recipient: str
    message: bytes
    requested_by: str
    status: str
    tries: int
    reason: str
    created_at: float
    updated_at: float


class Outbox:
    def __init__(self, db):
        self._conn = db.conn

    def add(self, chat_id, recipient, message, requested_by, now):
        (mail_id,) = self._conn.execute(
            "INSERT INTO mail_outbox (chat_id, recipient, message, requested_by, status,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (chat_id, recipient, message, requested_by, QUEUED, now, now),
        ).fetchone()
        return self.get(mail_id)

    def get(self, mail_id):
        row = self._conn.execute(
            f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM mail_outbox WHERE id = ?", (mail_id,)
        ).fetchone()
        return None if row is None else OutgoingMail(*row)

    def queued(self):
        """
        The e-mails not sent yet, oldest first: what a restart goes on with.
        """
        rows = self._conn.execute(
            f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM mail_outbox"
            f" WHERE status = '{QUEUED}' ORDER BY id"
        )
        return [OutgoingMail(*row) for row in rows]

    def tried(self, mail_id, reason, now):
        """
        One more try failed, for C{reason}; the e-mail stays queued.
        """
        self._conn.execute(
            "UPDATE mail_outbox SET tries = tries + 1, reason = ?, updated_at = ? WHERE id = ?",
            (reason, now, mail_id),
        )
        return self.get(mail_id)

    def settle(self, mail_id, status, reason, now):
        """
        The e-mail was sent, or failed for good.
        """
        self._conn.execute(
            "UPDATE mail_outbox SET status = ?, reason = ?, updated_at = ?,"
            " tries = tries + 1 WHERE id = ?",
            (status, reason, now, mail_id),
        )
        return self.get(mail_id)
