# -*- test-case-name: tests.test_routing_files -*-
"""
The files sent in chats: what they are called, how large, by whom.  The
bytes themselves are on disk, under the file's random id (mcc.routing.files).
"""

from dataclasses import dataclass

FILE_COLUMNS = ("id", "chat_id", "name", "size", "content_type", "sender", "sent_by", "stored_at")


@dataclass(frozen=True)
class ChatFile:
    id: str
    chat_id: int
    name: str
    size: int
    content_type: str
    sender: str
    sent_by: str
    stored_at: float


class ChatFiles:
    def __init__(self, db):
        self._conn = db.conn

    def add(self, **fields):
        self._conn.execute(
            f"INSERT INTO chat_files ({', '.join(FILE_COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in FILE_COLUMNS)})",
            [fields[name] for name in FILE_COLUMNS],
        )
        return self.get(fields["chat_id"], fields["id"])

    def get(self, chat_id, file_id):
        """
        The file C{file_id} of chat C{chat_id}, or C{None}: a file of
        another chat is not found.
        """
        row = self._conn.execute(
            f"SELECT {', '.join(FILE_COLUMNS)} FROM chat_files WHERE id = ? AND chat_id = ?",
            (file_id, chat_id),
        ).fetchone()
        return None if row is None else ChatFile(*row)

    def by_id(self, file_id):
        row = self._conn.execute(
            f"SELECT {', '.join(FILE_COLUMNS)} FROM chat_files WHERE id = ?", (file_id,)
        ).fetchone()
        return None if row is None else ChatFile(*row)

    def of_chat(self, chat_id):
        rows = self._conn.execute(
            f"SELECT {', '.join(FILE_COLUMNS)} FROM chat_files WHERE chat_id = ? ORDER BY stored_at, id",
            (chat_id,),
        )
        return [ChatFile(*row) for row in rows]

    def remove(self, file_id):
        self._conn.execute("DELETE FROM chat_files WHERE id = ?", (file_id,))
