# -*- test-case-name: tests.test_report_totals -*-
"""
Running totals of the chats for the Reports tab, kept by SQLite triggers
as chats begin, change, end, are tagged, transferred, deleted or lose
their transcript, so that a report over a year reads some thousands of
rows instead of a million chats.

Each table adds up the chats that began in one UTC hour, day or month, by
the columns the reports group and filter on.  What a chat adds to a table is
one query over that chat (L{Totals.source}); the same query over a span of
chats fills the tables (L{rebuild}) and answers the ends of a report's
range that do not cover whole days (L{mcc.store.reports}).

Times are added up in whole microseconds (integers), so that adding a chat
and taking it away again leaves the sums exactly as they were; the medians,
percentiles, least and greatest come from the expression indexes created
beside the tables, which SQLite keeps in order of each value.

Schema step 16 is written out from these definitions (L{schema_step}):
changing them for databases already past that step takes a new step that
drops and recreates what changed, then L{rebuild}s.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass

WAIT = "c.picked_up_at - c.created_at"
DURATION = "c.closed_at - c.picked_up_at"
FIRST_RESPONSE = "c.first_response_at - c.created_at"
OUTCOME = (
    "CASE WHEN c.picked_up_at IS NOT NULL THEN 'answered'"
    " WHEN c.state = 'missed' THEN 'missed'"
    " WHEN c.state = 'closed' THEN 'abandoned' ELSE 'open' END"
)
"""
What a report's status filter reads of a chat: answered, missed,
abandoned (nobody answered and it ended), or open (still waiting).
"""
HOUR = "CAST(c.created_at AS INTEGER) / 3600"
DAY = "CAST(c.created_at AS INTEGER) / 86400"
MONTH = (
    "(CAST(strftime('%Y', CAST(c.created_at AS INTEGER), 'unixepoch') AS INTEGER) * 12"
    " + CAST(strftime('%m', CAST(c.created_at AS INTEGER), 'unixepoch') AS INTEGER) - 1)"
)
"""
The UTC hour, day and month (year * 12 + month - 1) a chat began in, all
from its whole second so that they agree at their edges, for chats since
1970 (the reports read no hour, day or month before 1970-01-02 from the
totals: see L{mcc.store.reports}).
"""
ANSWERED_BY_SOMEONE = "c.picked_up_at IS NOT NULL AND c.operator IS NOT NULL"


def chats():
    return ("count(*)", "1")


def counted(value):
    return (f"count({value})", f"({value}) IS NOT NULL")


def microseconds(value):
    whole = f"CAST(round(({value}) * 1000000) AS INTEGER)"
    return (f"coalesce(sum({whole}), 0)", f"coalesce({whole}, 0)")


@dataclass(frozen=True)
class Totals:
    """
    One table of totals: C{keys} are C{(column, SQL)} and C{values}
    C{(column, (SQL of many rows, SQL of one))} over a chat C{c} and,
    after C{joins}, its tags C{ct} or events C{e}; only the chats matching
    C{only} count.  C{moved_by} is what, of a chat, decides what it adds:
    a change to anything else leaves the table alone.  Where C{joins}
    gives a chat one row per key at most (no events), a chat's share is
    read without grouping.
    """

    table: str
    keys: tuple
    values: tuple
    moved_by: tuple
    joins: str = ""
    only: str = "1"

    def source(self, where, grouped=True):
        """
        The totals of the chats (and joined rows) matching C{where}, one
        row per key, columns in the table's order; C{grouped=False} for
        rows that are one per key already.
        """
        keys = ", ".join(f"{sql} AS {name}" for name, sql in self.keys)
        if grouped:
            values = ", ".join(f"{many} AS {name}" for name, (many, _) in self.values)
            group = f" GROUP BY {', '.join(str(n + 1) for n in range(len(self.keys)))}"
        else:
            values = ", ".join(f"{one} AS {name}" for name, (_, one) in self.values)
            group = ""
        return (
            f"SELECT {keys}, {values} FROM chats c{self.joins}"
            f" WHERE ({where}) AND {self.only}{group}"
        )

    @property
    def one_row_per_key(self):
        return "chat_events" not in self.joins

    def moved(self):
        """
        The trigger condition for a change to a chat that this table sees,
        and the chat's columns it reads.
        """
        condition = " OR ".join(
            f"({sql.replace('c.', 'OLD.')}) IS NOT ({sql.replace('c.', 'NEW.')})"
            for sql in self.moved_by
        )
        columns = sorted({name for sql in self.moved_by for name in re.findall(r"\bc\.(\w+)", sql)})
        return condition, columns

    @property
    def columns(self):
        return [name for name, _ in self.keys] + [name for name, _ in self.values]

    def _match(self, alias):
        return " AND ".join(f"{self.table}.{name} IS {alias}.{name}" for name, _ in self.keys)

    def add(self, where):
        """
        The statements adding what the chats matching C{where} count here.
        """
        source = self.source(where, grouped=not self.one_row_per_key)
        values = ", ".join(f"{name} = {self.table}.{name} + s.{name}" for name, _ in self.values)
        return [
            f"UPDATE {self.table} SET {values} FROM ({source}) AS s WHERE {self._match('s')}",
            f"INSERT INTO {self.table} ({', '.join(self.columns)}) SELECT * FROM ({source}) AS s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {self.table} WHERE {self._match('s')})",
        ]

    def subtract(self, where):
        source = self.source(where, grouped=not self.one_row_per_key)
        values = ", ".join(f"{name} = {self.table}.{name} - s.{name}" for name, _ in self.values)
        return [f"UPDATE {self.table} SET {values} FROM ({source}) AS s WHERE {self._match('s')}"]

    def create(self):
        keys = ", ".join(name for name, _ in self.keys)
        columns = [f"{name}" for name, _ in self.keys]
        columns += [f"{name} INTEGER NOT NULL" for name, _ in self.values]
        return [
            f"CREATE TABLE {self.table} ({', '.join(columns)})",
            f"CREATE INDEX {self.table}_by_key ON {self.table}({keys})",
        ]


HOURS = Totals(
    "report_hours",
    (("hour", HOUR), ("queue", "c.queue"), ("outcome", OUTCOME)),
    (("chats", chats()),),
    (HOUR, "c.queue", OUTCOME),
)
DAYS = Totals(
    "report_days",
    (("day", DAY), ("queue", "c.queue"), ("protocol", "c.protocol"), ("outcome", OUTCOME)),
    (
        ("chats", chats()),
        ("waits", counted(WAIT)),
        ("wait_us", microseconds(WAIT)),
        ("durations", counted(DURATION)),
        ("duration_us", microseconds(DURATION)),
    ),
    (DAY, "c.queue", "c.protocol", OUTCOME, WAIT, DURATION),
)
OPERATORS = Totals(
    "report_operators",
    (("day", DAY), ("queue", "c.queue"), ("operator", "c.operator")),
    (
        ("chats", chats()),
        ("wait_us", microseconds(WAIT)),
        ("first_responses", counted(FIRST_RESPONSE)),
        ("first_response_us", microseconds(FIRST_RESPONSE)),
        ("durations", counted(DURATION)),
        ("duration_us", microseconds(DURATION)),
    ),
    (DAY, "c.queue", "c.operator", ANSWERED_BY_SOMEONE, WAIT, FIRST_RESPONSE, DURATION),
    only=ANSWERED_BY_SOMEONE,
)
TAGS = Totals(
    "report_tags",
    (("day", DAY), ("queue", "c.queue"), ("operator", "c.operator"), ("tag_id", "ct.tag_id")),
    (("chats", chats()),),
    (DAY, "c.queue", "c.operator", ANSWERED_BY_SOMEONE),
    joins=" JOIN chat_tags ct ON ct.chat_id = c.id",
    only=ANSWERED_BY_SOMEONE,
)
QUEUE_TRANSFERS = Totals(
    "report_queue_transfers",
    (
        ("day", DAY),
        ("queue", "c.queue"),
        ("outcome", OUTCOME),
        # Out of the queue the transfer names, or else the chat's own.
        ("from_queue", "coalesce(json_extract(e.data, '$.from_queue'), c.queue)"),
        ("to_queue", "json_extract(e.data, '$.to_queue')"),
    ),
    (("transfers", chats()),),
    (DAY, "c.queue", OUTCOME),
    joins=" JOIN chat_events e ON e.chat_id = c.id AND e.kind = 'transferred'",
)
OPERATOR_TRANSFERS = Totals(
    "report_operator_transfers",
    (
        ("day", DAY),
        ("queue", "c.queue"),
        ("from_operator", "json_extract(e.data, '$.from_operator')"),
        ("to_operator", "json_extract(e.data, '$.to_operator')"),
    ),
    (("transfers", chats()),),
    (DAY, "c.queue", ANSWERED_BY_SOMEONE),
    joins=" JOIN chat_events e ON e.chat_id = c.id AND e.kind = 'transferred'",
    only=ANSWERED_BY_SOMEONE,
)


def monthly(totals):
    """
    The same totals per UTC month: a year of them is a twelfth of the rows.
    """
    return Totals(
        totals.table + "_months",
        (("month", MONTH),) + totals.keys[1:],
        totals.values,
        totals.moved_by,
        totals.joins,
        totals.only,
    )


BY_DAY = (DAYS, OPERATORS, TAGS, QUEUE_TRANSFERS, OPERATOR_TRANSFERS)
MONTHS = {totals.table: monthly(totals) for totals in BY_DAY}
"""
The monthly twin of each table per day, by the name of the daily one.
"""
TABLES = (HOURS,) + BY_DAY + tuple(MONTHS.values())
CHATS = tuple(totals for totals in TABLES if not totals.joins)
TAGGED = tuple(totals for totals in TABLES if "chat_tags" in totals.joins)
TRANSFERRED = tuple(totals for totals in TABLES if "chat_events" in totals.joins)


INDEXES = (
    "CREATE INDEX chats_wait_by_queue ON chats(queue, (picked_up_at - created_at), created_at)"
    " WHERE picked_up_at IS NOT NULL",
    "CREATE INDEX chats_duration_by_queue ON chats(queue, (closed_at - picked_up_at), created_at)"
    " WHERE picked_up_at IS NOT NULL AND closed_at IS NOT NULL",
    "CREATE INDEX chats_wait_by_operator"
    " ON chats(operator, (picked_up_at - created_at), created_at, queue)"
    " WHERE picked_up_at IS NOT NULL AND operator IS NOT NULL",
    "CREATE INDEX chats_first_response_by_operator"
    " ON chats(operator, (first_response_at - created_at), created_at, queue)"
    " WHERE picked_up_at IS NOT NULL AND operator IS NOT NULL AND first_response_at IS NOT NULL",
    "CREATE INDEX chats_duration_by_operator"
    " ON chats(operator, (closed_at - picked_up_at), created_at, queue)"
    " WHERE picked_up_at IS NOT NULL AND operator IS NOT NULL AND closed_at IS NOT NULL",
)
"""
Each value a report ranks, in order within its queue or operator, so that
a median is one step through the index to the middle chat of the range.
"""


def _trigger(name, timing, table, condition, statements):
    when = f" WHEN {condition}" if condition else ""
    body = "".join(f" {statement};" for statement in statements)
    return f"CREATE TRIGGER {name} {timing} ON {table}{when} BEGIN{body} END"


def triggers():
    """
    The triggers that keep the totals: a chat adds to every table when it
    is written, and moves in a table whenever what decides its share there
    changes (taken away just before, added just after); a deleted chat
    takes away everything it added, its tags and transfers included (SQLite deletes a chat's tags
    and events after the chat, when their own triggers find no chat any
    more and change nothing).  A tag added to or taken off a chat, and a
    transfer event written or removed with a transcript, change only
    their own rows.
    """
    def each(tables, change, where):
        return [statement for totals in tables for statement in change(totals, where)]

    every = each(TABLES, Totals.subtract, "c.id = OLD.id")
    tag = "c.id = {row}.chat_id AND ct.tag_id = {row}.tag_id"
    event = "c.id = {row}.chat_id AND e.seq = {row}.seq"
    transferred = "{row}.kind = 'transferred'"
    moves = []
    for totals in (HOURS,) + BY_DAY:
        tables = (totals, MONTHS[totals.table]) if totals.table in MONTHS else (totals,)
        changed, columns = totals.moved()
        of = f"UPDATE OF {', '.join(columns)}"
        name = totals.table.removeprefix("report_")
        moves += [
            _trigger(
                f"report_totals_{name}_leave", f"BEFORE {of}", "chats", changed,
                each(tables, Totals.subtract, "c.id = OLD.id"),
            ),
            _trigger(
                f"report_totals_{name}_come", f"AFTER {of}", "chats", changed,
                each(tables, Totals.add, "c.id = NEW.id"),
            ),
        ]
    return [
        _trigger(
            "report_totals_chat_added", "AFTER INSERT", "chats", "",
            each(CHATS, Totals.add, "c.id = NEW.id"),
        ),
        *moves,
        _trigger("report_totals_chat_deleted", "BEFORE DELETE", "chats", "", every),
        _trigger(
            "report_totals_tag_added", "AFTER INSERT", "chat_tags", "",
            each(TAGGED, Totals.add, tag.format(row="NEW")),
        ),
        _trigger(
            "report_totals_tag_leaves", "BEFORE UPDATE OF chat_id, tag_id", "chat_tags", "",
            each(TAGGED, Totals.subtract, tag.format(row="OLD")),
        ),
        _trigger(
            "report_totals_tag_comes", "AFTER UPDATE OF chat_id, tag_id", "chat_tags", "",
            each(TAGGED, Totals.add, tag.format(row="NEW")),
        ),
        _trigger(
            "report_totals_tag_removed", "BEFORE DELETE", "chat_tags", "",
            each(TAGGED, Totals.subtract, tag.format(row="OLD")),
        ),
        _trigger(
            "report_totals_transfer_added", "AFTER INSERT", "chat_events",
            transferred.format(row="NEW"),
            each(TRANSFERRED, Totals.add, event.format(row="NEW")),
        ),
        _trigger(
            "report_totals_transfer_leaves", "BEFORE UPDATE OF chat_id, seq, kind, data",
            "chat_events", transferred.format(row="OLD"),
            each(TRANSFERRED, Totals.subtract, event.format(row="OLD")),
        ),
        _trigger(
            "report_totals_transfer_comes", "AFTER UPDATE OF chat_id, seq, kind, data",
            "chat_events", transferred.format(row="NEW"),
            each(TRANSFERRED, Totals.add, event.format(row="NEW")),
        ),
        _trigger(
            "report_totals_transfer_removed", "BEFORE DELETE", "chat_events",
            transferred.format(row="OLD"),
            each(TRANSFERRED, Totals.subtract, event.format(row="OLD")),
        ),
    ]


TRIGGER_NAMES = tuple(statement.split()[2] for statement in triggers())


def rebuild(conn):
    """
    Fill the totals afresh from every chat: what the schema step does for
    the chats stored before it, and what a bulk load does once it is done.
    """
    for totals in TABLES:
        conn.execute(f"DELETE FROM {totals.table}")
        conn.execute(
            f"INSERT INTO {totals.table} ({', '.join(totals.columns)}) {totals.source('1')}"
        )


def schema_step():
    """
    The SQL of the schema step that adds the totals, their indexes and
    triggers, and fills them from the chats already stored.
    """
    statements = []
    for totals in TABLES:
        statements += totals.create()
    statements += INDEXES
    statements += triggers()
    for totals in TABLES:
        statements.append(
            f"INSERT INTO {totals.table} ({', '.join(totals.columns)}) {totals.source('1')}"
        )
    return "".join(statement + ";\n" for statement in statements)


@contextmanager
def bulk_load(conn):
    """
    Write many chats at once inside a transaction of C{conn} without a
    trigger per row: the triggers go for the duration and come back, and
    the totals are then rebuilt as the schema step builds them.
    """
    for name in TRIGGER_NAMES:
        conn.execute(f"DROP TRIGGER {name}")
    yield
    for statement in triggers():
        conn.execute(statement)
    rebuild(conn)
