# -*- test-case-name: tests.test_uploads -*-
"""
HTTP upload slots (XEP-0363): what an account asked to put, how large, and
whether its bytes arrived.  The bytes are on disk under the slot's id, in
the same folder as the chats' files (mcc.routing.uploads).
"""

from dataclasses import dataclass

SLOT_COLUMNS = (
    "id", "owner", "name", "size", "content_type", "requested_at", "expires_at", "stored_at",
)


@dataclass(frozen=True)
class UploadSlot:
    id: str
    owner: str
    name: str
    size: int
    content_type: str
    requested_at: float
    expires_at: float
    stored_at: float | None


class UploadSlots:
    def __init__(self, db):
        self._conn = db.conn

    def add(self, **fields):
        fields.setdefault("stored_at", None)
        self._conn.execute(
            f"INSERT INTO upload_slots ({', '.join(SLOT_COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in SLOT_COLUMNS)})",
            [fields[name] for name in SLOT_COLUMNS],
        )
        return self.get(fields["id"])

    def get(self, slot_id):
        row = self._conn.execute(
            f"SELECT {', '.join(SLOT_COLUMNS)} FROM upload_slots WHERE id = ?", (slot_id,)
        ).fetchone()
        return None if row is None else UploadSlot(*row)

    def mark_stored(self, slot_id, at):
        """
        Record that the bytes of C{slot_id} arrived; C{False} when they
        had already (the slot is used once).
        """
        cursor = self._conn.execute(
            "UPDATE upload_slots SET stored_at = ? WHERE id = ? AND stored_at IS NULL",
            (at, slot_id),
        )
        return cursor.rowcount == 1

    def used_by(self, owner, now):
        """
        The bytes C{owner} holds or may still put: stored files and slots
        not expired yet, so that asking for many slots gains nothing.
        """
        (used,) = self._conn.execute(
            "SELECT COALESCE(SUM(size), 0) FROM upload_slots "
            "WHERE owner = ? AND (stored_at IS NOT NULL OR expires_at > ?)",
            (owner, now),
        ).fetchone()
        return used

    def remove_unused(self, now):
        """
        Forget the slots that expired with nothing put; their ids.
        """
        rows = self._conn.execute(
            "SELECT id FROM upload_slots WHERE stored_at IS NULL AND expires_at <= ?", (now,)
        ).fetchall()
        self._conn.execute(
            "DELETE FROM upload_slots WHERE stored_at IS NULL AND expires_at <= ?", (now,)
        )
        return [slot_id for (slot_id,) in rows]
