# -*- test-case-name: tests.test_routing_gateways -*-
"""
SMS gateways, the texts they took in, their texters and the texts waiting
to go out.
"""

from dataclasses import dataclass

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNCERTAIN = "uncertain"
"""
A text that was being sent when mcc stopped: the provider may or may not
have taken it, and it is not sent again.
"""

GATEWAY_COLUMNS = (
    "id", "provider", "number", "account", "secret", "public_key", "queue", "target_user",
    "offline_reply", "concatenate", "disabled", "failing", "last_error", "last_error_at",
    "last_inbound_at", "last_outbound_at", "created_at",
)
CONTACT_COLUMNS = ("gateway_id", "number", "chat_id", "stopped", "offline_reply_at", "last_text_at")
TEXT_COLUMNS = (
    "id", "gateway_id", "chat_id", "number", "body", "status", "tries", "reason",
    "created_at", "updated_at", "attempt",
)
EDITABLE = (
    "provider", "number", "account", "secret", "public_key", "queue", "target_user",
    "offline_reply", "concatenate",
)


class DuplicateGateway(Exception):
    """
    Another gateway has this phone number.
    """


class UnknownGateway(Exception):
    pass


@dataclass(frozen=True)
class Gateway:
    id: int
    provider: str
    number: str
    account: str
    secret: str
    public_key: str
    queue: str | None
    target_user: str | None
    offline_reply: str
    concatenate: bool
    disabled: bool
    failing: bool
    last_error: str
    last_error_at: float | None
    last_inbound_at: float | None
    last_outbound_at: float | None
    created_at: float


@dataclass(frozen=True)
class Contact:
    gateway_id: int
    number: str
    chat_id: int | None
    stopped: bool
    offline_reply_at: float | None
    last_text_at: float | None


@dataclass(frozen=True)
class OutgoingText:
    id: int
    gateway_id: int
    chat_id: int | None
    number: str
    body: str
    status: str
    tries: int
    reason: str
    created_at: float
    updated_at: float
    attempt: int


def _gateway(row):
    values = list(row)
    for index in (9, 10, 11):
        values[index] = bool(values[index])
    return Gateway(*values)


def _contact(row):
    values = list(row)
    values[3] = bool(values[3])
    return Contact(*values)


class Gateways:
    def __init__(self, db):
        self._conn = db.conn

    # Gateways

    def add(self, now, **fields):
        names = [name for name in EDITABLE if name in fields]
        try:
            (gateway_id,) = self._conn.execute(
                f"INSERT INTO sms_gateways ({', '.join(names)}, created_at)"
                f" VALUES ({', '.join('?' for _ in names)}, ?) RETURNING id",
                [fields[name] for name in names] + [now],
            ).fetchone()
        except self._duplicate_error():
            raise DuplicateGateway(f"a gateway has the number {fields['number']} already") from None
        return self.get(gateway_id)

    def _duplicate_error(self):
        import sqlite3

        return sqlite3.IntegrityError

    def update(self, gateway_id, **fields):
        names = [name for name in EDITABLE if name in fields]
        self.get(gateway_id)
        try:
            self._conn.execute(
                f"UPDATE sms_gateways SET {', '.join(f'{name} = ?' for name in names)},"
                " failing = 0, last_error = '' WHERE id = ?",
                [fields[name] for name in names] + [gateway_id],
            )
        except self._duplicate_error():
            raise DuplicateGateway(f"a gateway has the number {fields['number']} already") from None
        return self.get(gateway_id)

    def find(self, gateway_id):
        row = self._conn.execute(
            f"SELECT {', '.join(GATEWAY_COLUMNS)} FROM sms_gateways WHERE id = ?", (gateway_id,)
        ).fetchone()
        return None if row is None else _gateway(row)

    def get(self, gateway_id):
        found = self.find(gateway_id)
        if found is None:
            raise UnknownGateway(f"no gateway is number {gateway_id}")
        return found

    def by_number(self, provider, number):
        row = self._conn.execute(
            f"SELECT {', '.join(GATEWAY_COLUMNS)} FROM sms_gateways WHERE provider = ? AND number = ?",
            (provider, number),
        ).fetchone()
        return None if row is None else _gateway(row)

    def all(self):
        rows = self._conn.execute(
            f"SELECT {', '.join(GATEWAY_COLUMNS)} FROM sms_gateways ORDER BY number"
        )
        return [_gateway(row) for row in rows]

    def set_disabled(self, gateway_id, disabled):
        self._conn.execute(
            "UPDATE sms_gateways SET disabled = ? WHERE id = ?", (int(disabled), gateway_id)
        )
        return self.get(gateway_id)

    def delete(self, gateway_id):
        self.get(gateway_id)
        self._conn.execute("DELETE FROM sms_gateways WHERE id = ?", (gateway_id,))

    def activity(self, gateway_id, now, inbound=False, outbound=False, error=None, failing=None):
        """
        Record what the gateway just did: a text in or out, an error (the
        empty string clears it), whether its provider refuses its credentials.
        """
        if inbound:
            self._conn.execute("UPDATE sms_gateways SET last_inbound_at = ? WHERE id = ?", (now, gateway_id))
        if outbound:
            self._conn.execute("UPDATE sms_gateways SET last_outbound_at = ? WHERE id = ?", (now, gateway_id))
        if error is not None:
            self._conn.execute(
                "UPDATE sms_gateways SET last_error = ?, last_error_at = ? WHERE id = ?",
                (error, now if error else None, gateway_id),
            )
        if failing is not None:
            self._conn.execute(
                "UPDATE sms_gateways SET failing = ? WHERE id = ?", (int(failing), gateway_id)
            )

    # Texts taken in

    def take_in(self, gateway_id, provider_id, number, now):
        """
        Note the text C{provider_id}; whether it is new (a provider's retry
        of a webhook is not).
        """
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO sms_inbound (gateway_id, provider_id, number, received_at)"
            " VALUES (?, ?, ?, ?)",
            (gateway_id, provider_id, number, now),
        )
        return cursor.rowcount == 1

    def inbound_count(self, gateway_id):
        (count,) = self._conn.execute(
            "SELECT COUNT(*) FROM sms_inbound WHERE gateway_id = ?", (gateway_id,)
        ).fetchone()
        return count

    # Texters

    def contact(self, gateway_id, number):
        row = self._conn.execute(
            f"SELECT {', '.join(CONTACT_COLUMNS)} FROM sms_contacts WHERE gateway_id = ? AND number = ?",
            (gateway_id, number),
        ).fetchone()
        if row is None:
            self._conn.execute(
                "INSERT INTO sms_contacts (gateway_id, number) VALUES (?, ?)", (gateway_id, number)
            )
            return self.contact(gateway_id, number)
        return _contact(row)

    def contact_of_chat(self, chat_id):
        row = self._conn.execute(
            f"SELECT {', '.join(CONTACT_COLUMNS)} FROM sms_contacts WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return None if row is None else _contact(row)

    def update_contact(self, gateway_id, number, **fields):
        names = [name for name in ("chat_id", "stopped", "offline_reply_at", "last_text_at") if name in fields]
        self._conn.execute(
            f"UPDATE sms_contacts SET {', '.join(f'{name} = ?' for name in names)}"
            " WHERE gateway_id = ? AND number = ?",
            [fields[name] for name in names] + [gateway_id, number],
        )
        return self.contact(gateway_id, number)

    # Texts going out

    def queue_text(self, gateway_id, chat_id, number, body, now):
        (text_id,) = self._conn.execute(
            "INSERT INTO sms_outbox (gateway_id, chat_id, number, body, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (gateway_id, chat_id, number, body, QUEUED, now, now),
        ).fetchone()
        return self.text(text_id)

    def text(self, text_id):
        row = self._conn.execute(
            f"SELECT {', '.join(TEXT_COLUMNS)} FROM sms_outbox WHERE id = ?", (text_id,)
        ).fetchone()
        return None if row is None else OutgoingText(*row)

    def next_queued(self, gateway_id, number):
        """
        The oldest text still to go to C{number}: texts go out in order.
        """
        row = self._conn.execute(
            f"SELECT {', '.join(TEXT_COLUMNS)} FROM sms_outbox WHERE status = '{QUEUED}'"
            " AND gateway_id = ? AND number = ? ORDER BY id LIMIT 1",
            (gateway_id, number),
        ).fetchone()
        return None if row is None else OutgoingText(*row)

    def queued_recipients(self):
        """
        C{(gateway_id, number)} with texts still to send: what a restart goes on with.
        """
        return [
            tuple(row)
            for row in self._conn.execute(
                f"SELECT DISTINCT gateway_id, number FROM sms_outbox WHERE status = '{QUEUED}'"
                " ORDER BY gateway_id, number"
            )
        ]

    def texts(self, gateway_id=None, chat_id=None):
        where, args = [], []
        if gateway_id is not None:
            where.append("gateway_id = ?")
            args.append(gateway_id)
        if chat_id is not None:
            where.append("chat_id = ?")
            args.append(chat_id)
        rows = self._conn.execute(
            f"SELECT {', '.join(TEXT_COLUMNS)} FROM sms_outbox"
            f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id",
            args,
        )
        return [OutgoingText(*row) for row in rows]

    def start_sending(self, text_id, now):
        """
        Mark the queued text C{text_id} as being sent, before the provider
        is asked: the number of this attempt, or C{None} when the text is
        no longer queued.
        """
        row = self._conn.execute(
            f"UPDATE sms_outbox SET status = '{SENDING}', attempt = attempt + 1, updated_at = ?"
            f" WHERE id = ? AND status = '{QUEUED}' RETURNING attempt",
            (now, text_id),
        ).fetchone()
        return None if row is None else row[0]

    def tried(self, text_id, attempt, reason, now):
        """
        Attempt C{attempt} failed in a way worth trying again: the text is
        queued again.  Only the attempt still in progress changes anything.
        """
        self._conn.execute(
            f"UPDATE sms_outbox SET status = '{QUEUED}', tries = tries + 1, reason = ?, updated_at = ?"
            f" WHERE id = ? AND status = '{SENDING}' AND attempt = ?",
            (reason, now, text_id, attempt),
        )
        return self.text(text_id)

    def settle(self, text_id, attempt, status, reason, now):
        """
        How attempt C{attempt} ended for good; a late answer to an attempt
        that a restart already gave up on changes nothing.
        """
        self._conn.execute(
            "UPDATE sms_outbox SET status = ?, reason = ?, updated_at = ?, tries = tries + 1"
            f" WHERE id = ? AND status = '{SENDING}' AND attempt = ?",
            (status, reason, now, text_id, attempt),
        )
        return self.text(text_id)

    def interrupted(self, reason, now):
        """
        Mark the texts left "sending" by a stopped mcc as L{UNCERTAIN} and
        return them: whether the provider took them cannot be known.
        """
        rows = self._conn.execute(
            f"UPDATE sms_outbox SET status = '{UNCERTAIN}', reason = ?, updated_at = ?"
            f" WHERE status = '{SENDING}' RETURNING {', '.join(TEXT_COLUMNS)}",
            (reason, now),
        ).fetchall()
        return sorted((OutgoingText(*row) for row in rows), key=lambda text: text.id)

    def drop_queued(self, gateway_id, number, reason, now):
        """
        Give up the texts still to go to C{number} (who sent STOP).
        """
        self._conn.execute(
            f"UPDATE sms_outbox SET status = '{FAILED}', reason = ?, updated_at = ?"
            f" WHERE status = '{QUEUED}' AND gateway_id = ? AND number = ?",
            (reason, now, gateway_id, number),
        )
