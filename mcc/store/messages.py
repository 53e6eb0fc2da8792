# -*- test-case-name: tests.test_store -*-
"""
Offline messages (XEP-0160) and vCards (XEP-0054), kept as serialized XML.
"""


class OfflineMessages:
    def __init__(self, db):
        self._conn = db.conn

    def add(self, owner, stanza, now):
        self._conn.execute(
            "INSERT INTO offline_messages (owner, stanza, stored_at) VALUES (?, ?, ?)",
            (owner, stanza, now),
        )

    def take(self, owner):
        """
        Remove and return C{owner}'s messages, oldest first, with their times.
        """
        rows = self._conn.execute(
            "DELETE FROM offline_messages WHERE owner = ? RETURNING id, stanza, stored_at",
            (owner,),
        ).fetchall()
        return [(stanza, stored_at) for _, stanza, stored_at in sorted(rows)]

    def count(self, owner):
        return self._conn.execute(
            "SELECT count(*) FROM offline_messages WHERE owner = ?", (owner,)
        ).fetchone()[0]

    def size(self, owner):
        """
        How many bytes (UTF-8) C{owner}'s messages take together.
        """
        return self._conn.execute(
            "SELECT coalesce(sum(length(CAST(stanza AS BLOB))), 0)"
            " FROM offline_messages WHERE owner = ?",
            (owner,),
        ).fetchone()[0]


class VCards:
    def __init__(self, db):
        self._conn = db.conn

    def get(self, owner):
        row = self._conn.execute(
            "SELECT vcard FROM vcards WHERE owner = ?", (owner,)
        ).fetchone()
        return None if row is None else row[0]

    def put(self, owner, vcard):
        self._conn.execute(
            "INSERT OR REPLACE INTO vcards (owner, vcard) VALUES (?, ?)", (owner, vcard)
        )
