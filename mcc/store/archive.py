# -*- test-case-name: tests.test_xmpp_archive -*-
"""
The message archive of each account (XEP-0313), kept as serialized stanzas
in the order they were archived.
"""

from dataclasses import dataclass

from mcc.store.database import unbatched


@dataclass(frozen=True)
class ArchivedMessage:
    stanza_id: str
    contact: str
    stanza: str
    archived_at: float


class MessageArchive:
    def __init__(self, db):
        self._conn = db.conn
        self.begin = unbatched  # Or a GroupCommit's begin (Store.commit_per_turn).

    def add(self, owner, stanza_id, contact, stanza, now):
        self.begin()
        self._conn.execute(
            "INSERT INTO message_archive (owner, stanza_id, contact, stanza, archived_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (owner, stanza_id, contact, stanza, now),
        )

    def remove_before(self, moment):
        """
        Forget every message archived before C{moment}.
        """
        self._conn.execute("DELETE FROM message_archive WHERE archived_at < ?", (moment,))

    def position(self, owner, stanza_id):
        """
        Where C{stanza_id} is in C{owner}'s archive (an opaque number that
        orders messages), or C{None}.
        """
        row = self._conn.execute(
            "SELECT id FROM message_archive WHERE owner = ? AND stanza_id = ?", (owner, stanza_id)
        ).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _where(owner, contact, start, end):
        clauses, values = ["owner = ?"], [owner]
        if contact is not None:
            clauses.append("contact = ?")
            values.append(contact)
        if start is not None:
            clauses.append("archived_at >= ?")
            values.append(start)
        if end is not None:
            clauses.append("archived_at <= ?")
            values.append(end)
        return clauses, values

    def count(self, owner, contact=None, start=None, end=None, below=None):
        """
        How many messages match; with C{below}, only those before that position.
        """
        clauses, values = self._where(owner, contact, start, end)
        if below is not None:
            clauses.append("id < ?")
            values.append(below)
        return self._conn.execute(
            f"SELECT count(*) FROM message_archive WHERE {' AND '.join(clauses)}", values
        ).fetchone()[0]

    def page(self, owner, limit, contact=None, start=None, end=None, after=None, before=None,
             from_end=False):
        """
        Up to C{limit} matching messages between positions C{after} and
        C{before} (both excluded), oldest first: the first ones there, or
        the last ones with C{from_end}.  Each comes with its position.
        """
        clauses, values = self._where(owner, contact, start, end)
        if after is not None:
            clauses.append("id > ?")
            values.append(after)
        if before is not None:
            clauses.append("id < ?")
            values.append(before)
        order = "DESC" if from_end else "ASC"
        rows = self._conn.execute(
            "SELECT id, stanza_id, contact, stanza, archived_at FROM message_archive"
            f" WHERE {' AND '.join(clauses)} ORDER BY id {order} LIMIT ?",
            values + [limit],
        ).fetchall()
        rows.sort()
        return [(row[0], ArchivedMessage(*row[1:])) for row in rows]
