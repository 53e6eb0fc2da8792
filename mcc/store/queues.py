# -*- test-case-name: tests.test_store_queues -*-
"""
Queues: named groups of operators that chats are directed to.

Membership rows go with their queue or their user; history (chats) names
operators and queues by value, so it does not depend on these rows.
"""

import sqlite3
from dataclasses import dataclass

from mcc.store.database import transaction


class UnknownQueue(KeyError):
    """
    No queue has that id or name.
    """

    def __str__(self):
        return f"no queue {self.args[0]!r}"


class DuplicateQueue(ValueError):
    """
    A queue with that name (in any letter case) exists already.
    """

    def __str__(self):
        return f"a queue named {self.args[0]!r} exists already"


@dataclass(frozen=True)
class Queue:
    id: int
    name: str
    description: str
    operators: tuple
    """
    Usernames of the assigned operators, sorted.
    """


_COLUMNS = "id, name, description"


class Queues:
    def __init__(self, db):
        self._db = db
        self._conn = db.conn

    def add(self, name, description, now):
        try:
            cursor = self._conn.execute(
                "INSERT INTO queues (name, description, created_at) VALUES (?, ?, ?)",
                (name, description, now),
            )
        except sqlite3.IntegrityError:
            raise DuplicateQueue(name) from None
        return self.get(cursor.lastrowid)

    def get(self, queue_id):
        """
        The L{Queue} with id C{queue_id}, or L{UnknownQueue}.
        """
        return self._one(f"SELECT {_COLUMNS} FROM queues WHERE id = ?", queue_id)

    def named(self, name):
        """
        The L{Queue} called C{name} in any letter case, or L{UnknownQueue}.
        """
        return self._one(f"SELECT {_COLUMNS} FROM queues WHERE name = ?", name)

    def _one(self, query, key):
        row = self._conn.execute(query, (key,)).fetchone()
        if row is None:
            raise UnknownQueue(key)
        return self._queue(row, self._operators(row[0]))

    def all(self):
        """
        Every queue, by name.
        """
        members = {}
        for queue_id, username in self._conn.execute(
            "SELECT queue_id, username FROM queue_operators ORDER BY username"
        ):
            members.setdefault(queue_id, []).append(username)
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM queues ORDER BY name, id")
        return [self._queue(row, members.get(row[0], ())) for row in rows]

    def _operators(self, queue_id):
        rows = self._conn.execute(
            "SELECT username FROM queue_operators WHERE queue_id = ? ORDER BY username",
            (queue_id,),
        )
        return [username for (username,) in rows]

    @staticmethod
    def _queue(row, operators):
        queue_id, name, description = row
        return Queue(queue_id, name, description, tuple(operators))

    def update(self, queue_id, name, description):
        try:
            cursor = self._conn.execute(
                "UPDATE queues SET name = ?, description = ? WHERE id = ?",
                (name, description, queue_id),
            )
        except sqlite3.IntegrityError:
            raise DuplicateQueue(name) from None
        if cursor.rowcount == 0:
            raise UnknownQueue(queue_id)
        return self.get(queue_id)

    def remove(self, queue_id):
        cursor = self._conn.execute("DELETE FROM queues WHERE id = ?", (queue_id,))
        if cursor.rowcount == 0:
            raise UnknownQueue(queue_id)

    def set_operators(self, queue_id, usernames):
        """
        Make C{usernames} the whole set of the queue's operators, at once.
        """
        with transaction(self._db):
            exists = self._conn.execute("SELECT 1 FROM queues WHERE id = ?", (queue_id,)).fetchone()
            if exists is None:
                raise UnknownQueue(queue_id)
            self._conn.execute("DELETE FROM queue_operators WHERE queue_id = ?", (queue_id,))
            self._conn.executemany(
                "INSERT INTO queue_operators (queue_id, username) VALUES (?, ?)",
                [(queue_id, username) for username in sorted(set(usernames))],
            )
        return self.get(queue_id)
