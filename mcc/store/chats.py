# -*- test-case-name: tests.test_routing_chats,tests.test_chat_restart,tests.test_chat_summaries -*-
"""
Chats and their events: what visitors and operators said, and when.

Every event is written before it is acknowledged to its sender, so a restart
loses nothing; an event's sequence number is the visitor's cursor.
"""

import json
from dataclasses import dataclass

from mcc.store.database import unbatched


class ChatState:
    """
    The words for what a chat is doing, as the database, the rules and the
    visitor API's JSON all spell them (the schema's CHECK on C{chats.state}
    lists the same ones).  A chat waits for an operator, is active once one
    takes it, and ends closed, or missed when nobody answered in time.
    """

    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"
    MISSED = "missed"
    OPEN = (WAITING, ACTIVE)
    """
    A chat that has not ended yet.
    """


_OPEN_SQL = "(" + ", ".join(f"'{state}'" for state in ChatState.OPEN) + ")"
"""
L{ChatState.OPEN} written into the SQL text itself, so that the partial
index C{chats_unfinished} serves the queries that use it.
"""

CHAT_COLUMNS = (
    "id",
    "token",
    "guest",
    "queue",
    "target_user",
    "visitor_name",
    "visitor_email",
    "question",
    "ip",
    "page",
    "referrer",
    "user_agent",
    "protocol",
    "state",
    "operator",
    "operator_name",
    "created_at",
    "picked_up_at",
    "closed_at",
    "closed_by",
)


@dataclass(frozen=True)
class ChatRecord:
    id: int
    token: str
    guest: str
    queue: str | None
    target_user: str | None
    visitor_name: str
    visitor_email: str
    question: str
    ip: str
    page: str
    referrer: str
    user_agent: str
    protocol: str
    state: str
    operator: str | None
    operator_name: str | None
    created_at: float
    picked_up_at: float | None
    closed_at: float | None
    closed_by: str | None


@dataclass(frozen=True)
class ChatEvent:
    seq: int
    kind: str
    data: dict
    internal: bool
    at: float


def _event(row):
    seq, kind, data, internal, at = row
    return ChatEvent(seq, kind, json.loads(data), bool(internal), at)


def _summary(kind, data):
    """
    What an event of C{kind} with C{data} changes of its chat's summary
    columns (step 15 of the schema says which and backfills them the same
    way): C{(assignments, condition)} pairs of SQL, one UPDATE each, and
    the values they name besides C{:now} (the event's time) and C{:id};
    C{None} for nothing.
    """
    if kind == "message":
        speaker = data.get("from")
        if speaker == "visitor":
            return [("messages_visitor = messages_visitor + 1", "")], {}
        if speaker == "operator":
            # The first response is set apart, and only when it moves: an
            # assignment rewrites the column's two report indexes and runs
            # the operators' report triggers even when the value stays.
            return [
                ("messages_operator = messages_operator + 1", ""),
                (
                    "first_response_at = :now",
                    " AND (first_response_at IS NULL OR first_response_at > :now)",
                ),
            ], {}
    elif kind == "transferred":
        target = data.get("to_queue") or data.get("to_operator") or ""
        return [("transfers = transfers + 1, transferred_to = :target", "")], {
            "target": str(target)
        }
    return None


class Chats:
    def __init__(self, db):
        self._conn = db.conn
        self.begin = unbatched  # Or a GroupCommit's begin (Store.commit_per_turn).

    def create(self, **fields):
        columns = [name for name in CHAT_COLUMNS if name != "id" and name in fields]
        self._conn.execute(
            f"INSERT INTO chats ({', '.join(columns)}) VALUES "
            f"({', '.join('?' for _ in columns)})",
            [fields[name] for name in columns],
        )
        return self.by_token(fields["token"])

    def _one(self, where, value):
        row = self._conn.execute(
            f"SELECT {', '.join(CHAT_COLUMNS)} FROM chats WHERE {where} = ?", (value,)
        ).fetchone()
        return None if row is None else ChatRecord(*row)

    def by_token(self, token):
        return self._one("token", token)

    def by_guest(self, guest):
        return self._one("guest", guest)

    def by_id(self, chat_id):
        return self._one("id", chat_id)

    def unfinished(self):
        """
        Chats still waiting or under way, oldest first: what a restart resumes.
        """
        rows = self._conn.execute(
            f"SELECT {', '.join(CHAT_COLUMNS)} FROM chats"
            f" WHERE state IN {_OPEN_SQL} ORDER BY id"
        )
        return [ChatRecord(*row) for row in rows]

    def held_by(self, operator):
        """
        The chats under way that C{operator} holds, oldest first.
        """
        # Through the partial index of unfinished chats (the unary plus
        # keeps SQLite off the index of every chat an operator ever held),
        # and the repeated state lets SQLite read that index.
        rows = self._conn.execute(
            f"SELECT {', '.join(CHAT_COLUMNS)} FROM chats"
            f" WHERE state IN {_OPEN_SQL} AND state = ? AND +operator = ? ORDER BY id",
            (ChatState.ACTIVE, operator),
        )
        return [ChatRecord(*row) for row in rows]

    def waiting(self):
        """
        The chats waiting for an operator, oldest first.
        """
        # The repeated state lets SQLite read the partial index of
        # unfinished chats rather than the whole table.
        rows = self._conn.execute(
            f"SELECT {', '.join(CHAT_COLUMNS)} FROM chats"
            f" WHERE state IN {_OPEN_SQL} AND state = ? ORDER BY id",
            (ChatState.WAITING,),
        )
        return [ChatRecord(*row) for row in rows]

    def claim(self, chat_id, operator, operator_name, now):
        """
        Give a waiting chat to C{operator}; false when it is not waiting any more.
        """
        self.begin()
        cursor = self._conn.execute(
            "UPDATE chats SET state = ?, operator = ?, operator_name = ?,"
            " picked_up_at = coalesce(picked_up_at, ?) WHERE id = ? AND state = ?",
            (ChatState.ACTIVE, operator, operator_name, now, chat_id, ChatState.WAITING),
        )
        return cursor.rowcount == 1

    def requeue(self, chat_id):
        self._conn.execute(
            "UPDATE chats SET state = ?, operator = NULL, operator_name = NULL"
            " WHERE id = ? AND state = ?",
            (ChatState.WAITING, chat_id, ChatState.ACTIVE),
        )

    def hand_over(self, chat_id, holder, operator, operator_name, queue, target_user):
        """
        Give the active chat that C{holder} has to C{operator}, now for
        C{queue} or C{target_user}; false when C{holder} no longer has it
        (it ended, or someone else took it first).
        """
        cursor = self._conn.execute(
            "UPDATE chats SET operator = ?, operator_name = ?, queue = ?, target_user = ?"
            " WHERE id = ? AND state = ? AND operator = ?",
            (operator, operator_name, queue, target_user, chat_id, ChatState.ACTIVE, holder),
        )
        return cursor.rowcount == 1

    def redirect(self, chat_id, queue, target_user):
        """
        Send a waiting chat to C{queue} or C{target_user} instead; false
        when it is not waiting any more.
        """
        cursor = self._conn.execute(
            "UPDATE chats SET queue = ?, target_user = ? WHERE id = ? AND state = ?",
            (queue, target_user, chat_id, ChatState.WAITING),
        )
        return cursor.rowcount == 1

    def earlier(self, chat, since):
        """
        The visitor's chats before C{chat}, newest first: those with the
        same e-mail address (in any letter case), or, when C{chat} has none,
        those from the same IP address that began at C{since} or later.
        """
        if chat.visitor_email:
            where, values = "lower(visitor_email) = lower(?)", (chat.visitor_email,)
        elif chat.ip:
            where, values = "visitor_email = '' AND ip = ? AND created_at >= ?", (chat.ip, since)
        else:
            return []
        rows = self._conn.execute(
            f"SELECT {', '.join(CHAT_COLUMNS)} FROM chats WHERE {where} AND id < ?"
            " ORDER BY id DESC LIMIT 50",
            (*values, chat.id),
        )
        return [ChatRecord(*row) for row in rows]

    def finish(self, chat_id, state, closed_by, now):
        self.begin()
        self._conn.execute(
            "UPDATE chats SET state = ?, closed_by = ?, closed_at = ?"
            f" WHERE id = ? AND state IN {_OPEN_SQL}",
            (state, closed_by, now, chat_id),
        )

    def add_event(self, chat_id, kind, data, now, internal=False, message_id=None):
        """
        Append an event and return its sequence number.  C{message_id} is
        the sender's own name for a message, unique within its chat.  The
        chat's summary columns change with it, in the same transaction.
        """
        self.begin()
        summary = _summary(kind, data)
        if summary is None:
            return self._insert_event(chat_id, kind, data, now, internal, message_id)
        updates, values = summary
        values = {**values, "now": now, "id": chat_id}
        self._conn.execute("SAVEPOINT add_event")
        try:
            seq = self._insert_event(chat_id, kind, data, now, internal, message_id)
            for assignments, condition in updates:
                self._conn.execute(
                    f"UPDATE chats SET {assignments} WHERE id = :id{condition}", values
                )
        except BaseException:
            self._conn.execute("ROLLBACK TO add_event")
            self._conn.execute("RELEASE add_event")
            raise
        self._conn.execute("RELEASE add_event")
        return seq

    def _insert_event(self, chat_id, kind, data, now, internal, message_id):
        (seq,) = self._conn.execute(
            "INSERT INTO chat_events (chat_id, seq, kind, data, internal, at, message_id)"
            " SELECT ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ? FROM chat_events"
            " WHERE chat_id = ? RETURNING seq",
            (chat_id, kind, json.dumps(data), int(internal), now, message_id, chat_id),
        ).fetchone()
        return seq

    def message_seq(self, chat_id, message_id):
        """
        The sequence number of the event of chat C{chat_id} stored under
        C{message_id}, or C{None}.
        """
        row = self._conn.execute(
            "SELECT seq FROM chat_events WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        ).fetchone()
        return None if row is None else row[0]

    def last_seq(self, chat_id):
        """
        The sequence number of the chat's newest event, internal or not; 0 for none.
        """
        (seq,) = self._conn.execute(
            "SELECT coalesce(max(seq), 0) FROM chat_events WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return seq

    def visible_before(self, chat_id, seq):
        """
        The sequence number of the chat's newest event before C{seq} that
        is not internal (what its visitor sees); 0 for none.
        """
        (found,) = self._conn.execute(
            "SELECT coalesce(max(seq), 0) FROM chat_events"
            " WHERE chat_id = ? AND seq < ? AND internal = 0",
            (chat_id, seq),
        ).fetchone()
        return found

    def events_after(self, chat_id, after, include_internal=False):
        rows = self._conn.execute(
            "SELECT seq, kind, data, internal, at FROM chat_events"
            " WHERE chat_id = ? AND seq > ? AND (internal = 0 OR ?) ORDER BY seq",
            (chat_id, after, int(include_internal)),
        )
        return [_event(row) for row in rows]
