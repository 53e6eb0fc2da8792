# -*- test-case-name: tests.test_store_history -*-
"""
Chat histories: finding past chats by when they started and what they were,
in pages or in batches, and what privacy and retention remove of them.

Times here are seconds since the epoch; turning days of a time zone into
them is the routing layer's business (L{mcc.routing.history}).
"""

import json
import sqlite3
from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, replace

from mcc.store.chats import _OPEN_SQL, CHAT_COLUMNS, ChatRecord, ChatState
from mcc.store.database import ReadersPerThread

OUTCOMES = ("answered", "missed", "abandoned", "open")

_OUTCOME_SQL = {
    "answered": "picked_up_at IS NOT NULL",
    "missed": f"state = '{ChatState.MISSED}'",
    "abandoned": f"state = '{ChatState.CLOSED}' AND picked_up_at IS NULL",
    "open": f"state IN {_OPEN_SQL}",
}
"""
How each outcome reads in SQL: abandoned chats ended (the visitor left or
closed) before any operator answered; missed ones rang out unanswered.
"""

IP_POLICIES = ("keep", "subnet", "none")

_COLUMNS = ", ".join(CHAT_COLUMNS)

CSVChat = namedtuple(
    "CSVChat",
    "id created_at closed_at picked_up_at queue protocol state operator visitor_name visitor_email"
    " ip referrer page messages_visitor messages_operator transferred_to",
)
"""
A chat as the CSV file shows it: C{messages_visitor} and
C{messages_operator} count the messages of each side, C{transferred_to}
is where its last transfer sent it ("" for none).
"""
_CSV_SQL_COLUMNS = ", ".join(CSVChat._fields)


@dataclass(frozen=True)
class ChatFilter:
    """
    Chats that started in C{[start, end)}, in one of C{queues} (any when
    empty), taken by C{operator}, over C{protocol}, with C{outcome} (one of
    L{OUTCOMES}), tagged C{tag} (a folded tag name), whose question or
    messages hold C{text}; C{ended} keeps only chats that are over.
    """

    start: float
    end: float
    queues: tuple = ()
    operator: str = ""
    protocol: str = ""
    outcome: str = ""
    text: str = ""
    ended: bool = False
    tag: str = ""

    def where(self):
        """
        The SQL condition and its parameters.
        """
        clauses = ["created_at >= ?", "created_at < ?"]
        values = [self.start, self.end]
        if self.queues:
            clauses.append(f"queue IN ({', '.join('?' for _ in self.queues)})")
            values.extend(self.queues)
        for column in ("operator", "protocol"):
            if getattr(self, column):
                clauses.append(f"{column} = ?")
                values.append(getattr(self, column))
        if self.outcome:
            clauses.append(_OUTCOME_SQL[self.outcome])
        if self.ended:
            clauses.append(f"state NOT IN {_OPEN_SQL}")
        if self.tag:
            clauses.append(
                "EXISTS (SELECT 1 FROM chat_tags ct JOIN tags t ON t.id = ct.tag_id"
                " WHERE ct.chat_id = chats.id AND t.folded = ?)"
            )
            values.append(self.tag)
        if self.text:
            pattern = "%" + _like_escaped(self.text) + "%"
            clauses.append(
                "(question LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM chat_events e"
                " WHERE e.chat_id = chats.id AND e.kind IN ('message', 'note')"
                " AND json_extract(e.data, '$.text') LIKE ? ESCAPE '\\'))"
            )
            values.extend([pattern, pattern])
        return " AND ".join(clauses), values


def _like_escaped(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class History:
    def __init__(self, db):
        self._conn = db.conn

    @contextmanager
    def _atomic(self):
        """
        The statements of the block as one, whether or not a transaction
        is open already (the chat router may call inside one).
        """
        self._conn.execute("SAVEPOINT history")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO history")
            self._conn.execute("RELEASE history")
            raise
        self._conn.execute("RELEASE history")

    # Finding chats

    def counts(self, bounds, chats):
        """
        How many chats of the filter C{chats} started in each interval
        between consecutive C{bounds}, one count per interval.
        """
        counts = []
        for start, end in zip(bounds, bounds[1:]):
            where, values = replace(chats, start=start, end=end).where()
            (count,) = self._conn.execute(f"SELECT count(*) FROM chats WHERE {where}", values).fetchone()
            counts.append(count)
        return counts

    def count(self, chats):
        where, values = chats.where()
        return self._conn.execute(f"SELECT count(*) FROM chats WHERE {where}", values).fetchone()[0]

    def page(self, chats, limit, offset):
        """
        Chats of the filter, in the order they started.
        """
        where, values = chats.where()
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM chats WHERE {where} ORDER BY created_at, id LIMIT ? OFFSET ?",
            values + [limit, offset],
        )
        return [ChatRecord(*row) for row in rows]

    def after(self, chats, cursor, limit):
        """
        At most C{limit} chats of the filter after C{cursor}, a C{(created_at,
        id)} pair (C{None} for the first batch), in the order they started:
        each batch costs the same however far into the range it is.
        """
        return [ChatRecord(*row) for row in self._after(chats, cursor, limit, _COLUMNS)]

    def csv_after(self, chats, cursor, limit):
        """
        As L{after}, each chat as a L{CSVChat}: only what the CSV file
        shows, with the summary columns its events keep up to date, so
        that no event is read; and a tuple, cheaper to make than a
        L{ChatRecord} a million times.
        """
        return list(map(CSVChat._make, self._after(chats, cursor, limit, _CSV_SQL_COLUMNS)))

    def _after(self, chats, cursor, limit, columns):
        if cursor is not None:
            # The cursor's time as the range's start: the index then begins
            # there instead of at the range's start.
            chats = replace(chats, start=max(chats.start, cursor[0]))
        where, values = chats.where()
        if cursor is not None:
            where += " AND (created_at > ? OR id > ?)"
            values = values + list(cursor)
        return self._conn.execute(
            f"SELECT {columns} FROM chats WHERE {where} ORDER BY created_at, id LIMIT ?",
            values + [limit],
        ).fetchall()

    def tags_of(self, chat_ids):
        """
        C{chat id -> [tag names]} for C{chat_ids}, in the order they were put.
        """
        tags = {chat_id: [] for chat_id in chat_ids}
        if not tags:
            return {}
        rows = self._conn.execute(
            "SELECT ct.chat_id, t.name FROM chat_tags ct JOIN tags t ON t.id = ct.tag_id"
            f" WHERE ct.chat_id IN ({', '.join('?' for _ in tags)})"
            " ORDER BY ct.chat_id, ct.added_at, t.name",
            list(tags),
        )
        for chat_id, name in rows:
            tags[chat_id].append(name)
        return tags

    def last_messages(self, chat_ids):
        """
        C{chat id -> time of its latest message} for those of C{chat_ids} with one.
        """
        if not chat_ids:
            return {}
        rows = self._conn.execute(
            "SELECT chat_id, max(at) FROM chat_events"
            f" WHERE chat_id IN ({', '.join('?' for _ in chat_ids)}) AND kind = 'message'"
            " GROUP BY chat_id",
            list(chat_ids),
        )
        return dict(rows.fetchall())

    def events_of(self, chat_ids):
        """
        C{chat id -> [(kind, data, internal, at)]} for C{chat_ids}, in order.
        """
        events = {chat_id: [] for chat_id in chat_ids}
        if not events:
            return {}
        rows = self._conn.execute(
            "SELECT chat_id, kind, data, internal, at FROM chat_events"
            f" WHERE chat_id IN ({', '.join('?' for _ in events)}) ORDER BY chat_id, seq",
            list(events),
        )
        for chat_id, kind, data, internal, at in rows:
            events[chat_id].append((kind, json.loads(data), bool(internal), at))
        return events

    def transcript_removed_at(self, chat_id):
        row = self._conn.execute(
            "SELECT transcript_removed_at FROM chats WHERE id = ?", (chat_id,)
        ).fetchone()
        return None if row is None else row[0]

    def operators(self):
        """
        The operators of any chat, in order: each one the first after the
        one before in the index by operator, so that a million chats of
        twenty operators cost twenty lookups, not a scan.
        """
        rows = self._conn.execute(
            "WITH RECURSIVE named(operator) AS ("
            " SELECT min(operator) FROM chats WHERE operator IS NOT NULL"
            " UNION ALL"
            " SELECT (SELECT min(operator) FROM chats WHERE operator > named.operator)"
            " FROM named WHERE named.operator IS NOT NULL)"
            " SELECT operator FROM named WHERE operator IS NOT NULL"
        )
        return [operator for (operator,) in rows]

    # Privacy and retention

    def privacy(self, queue_name):
        """
        C{(keep_transcripts, visitor_ips)} for the queue called C{queue_name}:
        what its chats keep once over; everything for unknown queues.
        """
        row = self._conn.execute(
            "SELECT p.keep_transcripts, p.visitor_ips FROM queue_privacy p"
            " JOIN queues q ON q.id = p.queue_id WHERE q.name = ?",
            (queue_name,),
        ).fetchone()
        return (True, "keep") if row is None else (bool(row[0]), row[1])

    def all_privacy(self):
        """
        C{queue id -> (keep_transcripts, visitor_ips)} for queues that set them.
        """
        rows = self._conn.execute("SELECT queue_id, keep_transcripts, visitor_ips FROM queue_privacy")
        return {queue_id: (bool(keep), ips) for queue_id, keep, ips in rows}

    def set_privacy(self, queue_id, keep_transcripts, visitor_ips):
        self._conn.execute(
            "INSERT INTO queue_privacy (queue_id, keep_transcripts, visitor_ips) VALUES (?, ?, ?)"
            " ON CONFLICT (queue_id) DO UPDATE SET keep_transcripts = excluded.keep_transcripts,"
            " visitor_ips = excluded.visitor_ips",
            (queue_id, int(keep_transcripts), visitor_ips),
        )

    def transcript_days(self):
        row = self._conn.execute("SELECT transcript_days FROM retention WHERE id = 1").fetchone()
        return None if row is None else row[0]

    def set_transcript_days(self, days):
        self._conn.execute(
            "INSERT INTO retention (id, transcript_days) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET transcript_days = excluded.transcript_days",
            (days,),
        )

    def set_ip(self, chat_id, ip):
        self._conn.execute("UPDATE chats SET ip = ? WHERE id = ?", (ip, chat_id))

    def remove_transcripts(self, where, values, now):
        """
        Remove the events and opening question of the ended chats matching
        the SQL condition C{where}; return how many chats lost them.  The
        chats themselves stay, saying when their transcript went.
        """
        chosen = (
            f"SELECT id FROM chats WHERE ({where}) AND state NOT IN {_OPEN_SQL}"
            " AND transcript_removed_at IS NULL"
        )
        with self._atomic():
            self._conn.execute(f"DELETE FROM chat_events WHERE chat_id IN ({chosen})", values)
            return self._conn.execute(
                f"UPDATE chats SET question = '', transcript_removed_at = ? WHERE id IN ({chosen})",
                [now] + values,
            ).rowcount

    def remove_transcript(self, chat_id, now):
        return self.remove_transcripts("id = ?", [chat_id], now)

    def purgeable(self, ended_before, limit):
        """
        At most C{limit} ids of the chats that ended before C{ended_before}
        and still have their transcript: the next batch of a purge.
        """
        rows = self._conn.execute(
            f"SELECT id FROM chats WHERE closed_at < ? AND state NOT IN {_OPEN_SQL}"
            " AND transcript_removed_at IS NULL ORDER BY id LIMIT ?",
            (ended_before, limit),
        )
        return [chat_id for (chat_id,) in rows]

    def remove_transcripts_of(self, chat_ids, now):
        """
        Remove the transcripts of the ended chats among C{chat_ids}.
        """
        if not chat_ids:
            return 0
        return self.remove_transcripts(
            f"id IN ({', '.join('?' for _ in chat_ids)})", list(chat_ids), now
        )

    def ended_after(self, chats, cursor, limit):
        """
        At most C{limit} C{(created_at, id)} of the filter's ended chats
        after C{cursor} (as L{after}): the next batch of a bulk change.
        """
        chats = replace(chats, ended=True)
        if cursor is not None:
            chats = replace(chats, start=max(chats.start, cursor[0]))
        where, values = chats.where()
        if cursor is not None:
            where += " AND (created_at > ? OR id > ?)"
            values = values + list(cursor)
        rows = self._conn.execute(
            f"SELECT created_at, id FROM chats WHERE {where} ORDER BY created_at, id LIMIT ?",
            values + [limit],
        )
        return rows.fetchall()

    def delete_ended(self, chat_ids):
        """
        Delete the ended chats among C{chat_ids}, with their events; return
        how many.
        """
        if not chat_ids:
            return 0
        return self._conn.execute(
            f"DELETE FROM chats WHERE id IN ({', '.join('?' for _ in chat_ids)})"
            f" AND state NOT IN {_OPEN_SQL}",
            list(chat_ids),
        ).rowcount

    def anonymise_ended(self, chat_ids):
        """
        Forget who the visitors of the ended chats among C{chat_ids} were:
        their name, e-mail, address, pages and browser, and the name on
        their messages.  What was said stays.  Return how many chats.
        """
        if not chat_ids:
            return 0
        marks = ", ".join("?" for _ in chat_ids)
        ended = f"id IN ({marks}) AND state NOT IN {_OPEN_SQL}"
        with self._atomic():
            self._conn.execute(
                "UPDATE chat_events SET data = json_set(data, '$.name', '')"
                f" WHERE chat_id IN (SELECT id FROM chats WHERE {ended})"
                " AND kind = 'message' AND json_extract(data, '$.from') = 'visitor'",
                list(chat_ids),
            )
            return self._conn.execute(
                "UPDATE chats SET visitor_name = '', visitor_email = '', ip = '', referrer = '',"
                f" page = '', user_agent = '' WHERE {ended}",
                list(chat_ids),
            ).rowcount


@dataclass(frozen=True)
class _Connection:
    conn: sqlite3.Connection


class HistoryReaders(ReadersPerThread):
    """
    A L{History} per thread on a read-only connection of its own to the
    database at C{path}, so that a long read (a year's CSV) runs in the
    reactor's thread pool while the reactor's connection goes on writing.
    Only the reading methods work there.
    """

    def __init__(self, path):
        ReadersPerThread.__init__(self, path, lambda conn: History(_Connection(conn)))
