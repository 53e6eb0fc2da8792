# -*- test-case-name: tests.test_routing_operations -*-
"""
Canned messages: a short name and a text, shared by a queue's operators or
kept by one operator for themselves.
"""

import sqlite3
from dataclasses import dataclass


class UnknownCanned(KeyError):
    def __str__(self):
        return f"no canned message {self.args[0]!r}"


class DuplicateCanned(ValueError):
    def __str__(self):
        return f"a canned message named {self.args[0]!r} exists already there"


@dataclass(frozen=True)
class Canned:
    id: int
    queue_id: int | None
    owner: str | None
    name: str
    text: str


_COLUMNS = "id, queue_id, owner, name, text"


class CannedMessages:
    def __init__(self, db):
        self._conn = db.conn

    def add(self, name, text, now, queue_id=None, owner=None):
        try:
            cursor = self._conn.execute(
                "INSERT INTO canned_messages (queue_id, owner, name, text, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (queue_id, owner, name, text, now),
            )
        except sqlite3.IntegrityError:
            raise DuplicateCanned(name) from None
        return self.get(cursor.lastrowid)

    def get(self, canned_id):
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM canned_messages WHERE id = ?", (canned_id,)
        ).fetchone()
        if row is None:
            raise UnknownCanned(canned_id)
        return Canned(*row)

    def update(self, canned_id, name, text):
        try:
            cursor = self._conn.execute(
                "UPDATE canned_messages SET name = ?, text = ? WHERE id = ?",
                (name, text, canned_id),
            )
        except sqlite3.IntegrityError:
            raise DuplicateCanned(name) from None
        if cursor.rowcount == 0:
            raise UnknownCanned(canned_id)
        return self.get(canned_id)

    def remove(self, canned_id):
        cursor = self._conn.execute("DELETE FROM canned_messages WHERE id = ?", (canned_id,))
        if cursor.rowcount == 0:
            raise UnknownCanned(canned_id)

    def of_queue(self, queue_id):
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM canned_messages WHERE queue_id = ? ORDER BY name",
            (queue_id,),
        )
        return [Canned(*row) for row in rows]

    def of_owner(self, owner):
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM canned_messages WHERE owner = ? ORDER BY name", (owner,)
        )
        return [Canned(*row) for row in rows]
