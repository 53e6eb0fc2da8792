# -*- test-case-name: tests.test_routing_operations -*-
"""
Tags: shared names, matched case-folded, shown as first written, and the
chats each is on.
"""

import sqlite3
from dataclasses import dataclass

from mcc.store.database import transaction


class UnknownTag(KeyError):
    def __str__(self):
        return f"no tag {self.args[0]!r}"


class DuplicateTag(ValueError):
    def __str__(self):
        return f"a tag named {self.args[0]!r} exists already"


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    chats: int
    """
    How many chats carry it.
    """


_SELECT = (
    "SELECT tags.id, tags.name, count(chat_tags.chat_id) FROM tags"
    " LEFT JOIN chat_tags ON chat_tags.tag_id = tags.id"
)


class Tags:
    def __init__(self, db):
        self._db = db
        self._conn = db.conn

    def _ensure(self, name, folded, now):
        self._conn.execute(
            "INSERT OR IGNORE INTO tags (name, folded, created_at) VALUES (?, ?, ?)",
            (name, folded, now),
        )
        (tag_id,) = self._conn.execute("SELECT id FROM tags WHERE folded = ?", (folded,)).fetchone()
        return tag_id

    def add_to_chat(self, chat_id, name, folded, by, now):
        """
        Put the tag C{folded} on the chat, creating the name if new; false
        when the chat had it already.
        """
        with transaction(self._db):
            tag_id = self._ensure(name, folded, now)
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO chat_tags (chat_id, tag_id, added_by, added_at)"
                " VALUES (?, ?, ?, ?)",
                (chat_id, tag_id, by, now),
            )
        return cursor.rowcount == 1

    def remove_from_chat(self, chat_id, folded):
        cursor = self._conn.execute(
            "DELETE FROM chat_tags WHERE chat_id = ?"
            " AND tag_id = (SELECT id FROM tags WHERE folded = ?)",
            (chat_id, folded),
        )
        return cursor.rowcount == 1

    def of_chat(self, chat_id):
        """
        The names on the chat, in the order they were put there.
        """
        rows = self._conn.execute(
            "SELECT tags.name FROM chat_tags JOIN tags ON tags.id = chat_tags.tag_id"
            " WHERE chat_tags.chat_id = ? ORDER BY chat_tags.added_at, tags.name",
            (chat_id,),
        )
        return [name for (name,) in rows]

    def starting(self, folded_prefix, limit):
        """
        Tags whose folded name starts with C{folded_prefix}, most used first.
        """
        escaped = folded_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._conn.execute(
            f"{_SELECT} WHERE tags.folded LIKE ? ESCAPE '\\' GROUP BY tags.id"
            " ORDER BY count(chat_tags.chat_id) DESC, tags.folded LIMIT ?",
            (escaped + "%", limit),
        )
        return [Tag(*row) for row in rows]

    def all(self):
        rows = self._conn.execute(f"{_SELECT} GROUP BY tags.id ORDER BY tags.folded")
        return [Tag(*row) for row in rows]

    def named(self, folded):
        row = self._conn.execute(
            f"{_SELECT} WHERE tags.folded = ? GROUP BY tags.id", (folded,)
        ).fetchone()
        if row is None:
            raise UnknownTag(folded)
        return Tag(*row)

    def rename(self, folded, name, new_folded):
        self.named(folded)
        try:
            self._conn.execute(
                "UPDATE tags SET name = ?, folded = ? WHERE folded = ?", (name, new_folded, folded)
            )
        except sqlite3.IntegrityError:
            raise DuplicateTag(name) from None
        return self.named(new_folded)

    def merge(self, folded, into_folded):
        """
        Every chat tagged C{folded} is tagged C{into_folded} instead, and
        C{folded} goes.
        """
        with transaction(self._db):
            source = self.named(folded)
            target = self.named(into_folded)
            self._conn.execute(
                "INSERT OR IGNORE INTO chat_tags (chat_id, tag_id, added_by, added_at)"
                " SELECT chat_id, ?, added_by, added_at FROM chat_tags WHERE tag_id = ?",
                (target.id, source.id),
            )
            self._conn.execute("DELETE FROM tags WHERE id = ?", (source.id,))
        return self.named(into_folded)

    def remove(self, folded):
        cursor = self._conn.execute("DELETE FROM tags WHERE folded = ?", (folded,))
        if cursor.rowcount == 0:
            raise UnknownTag(folded)
