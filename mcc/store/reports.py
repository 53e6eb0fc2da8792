# -*- test-case-name: tests.test_reports,tests.test_report_totals -*-
"""
The SQL of the Reports tab: counts and times of the chats that began in a
span of time, grouped in the database so that a year of chats never comes
into Python row by row.

Each chat counts once, under the queue it names (where it was answered) and
the operator who has it.  Local hours and months come from shifting each
chat's start by its zone's offset at that moment: the offsets, one per span
between two clock changes, are computed by the caller and passed in.

A transfer that happened is one C{transferred} event (the router writes it
when someone takes a transferred chat, or when a waiting chat is moved); its
data names C{from_queue}, C{to_queue}, C{from_operator} and C{to_operator}
where known.  Tags are the C{chat_tags} of a chat, named in C{tags}.

L{ReportQueries} answers from the running totals of
L{mcc.store.report_totals} where they can, and otherwise as
L{ChatByChatQueries} does, reading each chat of the range; both give the
same figures (C{tests/test_report_totals.py} holds them to it).
"""

import bisect
import datetime
import math
import time
from dataclasses import dataclass, replace

from mcc.store.chats import ChatState
from mcc.store.database import ReadersPerThread
from mcc.store.report_totals import (
    DAYS, HOURS, MONTHS, OPERATOR_TRANSFERS, OPERATORS, QUEUE_TRANSFERS, TAGS,
)

ANSWERED = "answered"
MISSED = "missed"
ABANDONED = "abandoned"

_STATUS_SQL = {
    ANSWERED: "picked_up_at IS NOT NULL",
    MISSED: f"picked_up_at IS NULL AND state = '{ChatState.MISSED}'",
    # Nobody answered and the visitor left or ended it.
    ABANDONED: f"picked_up_at IS NULL AND state = '{ChatState.CLOSED}'",
}

TRANSFERS = "kind = 'transferred'"
"""
Written as the partial index C{chat_events_transfers} is, so that it serves.
"""


@dataclass(frozen=True)
class ChatFilter:
    """
    Which chats a report counts: those that began in C{[start, end)}
    (seconds since the epoch), in C{queues} (names; C{None} for all), with
    C{status} one of L{ANSWERED}, L{MISSED}, L{ABANDONED} or C{None}, and,
    when C{min_duration} is set, answered and talked for at least that
    many seconds.
    """

    start: float
    end: float
    queues: tuple | None = None
    status: str | None = None
    min_duration: float | None = None


@dataclass(frozen=True)
class Spread:
    """
    Seconds, of some chats: how many, and their mean, median, 90th
    percentile (nearest rank), least and greatest; C{None} for no chats.
    """

    n: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    min: float | None = None
    max: float | None = None


def _count_transfers(found, given, received, transfers):
    """
    Add C{transfers}, (from, to, how many) rows, to the C{given} count of
    the row of C{found} they left and the C{received} count of the one
    they went to, where those are reported.
    """
    for source, target, n in transfers:
        if source in found:
            found[source][given] += n
        if target in found:
            found[target][received] += n


def _where(chat_filter):
    clauses = ["created_at >= ?", "created_at < ?"]
    params = [chat_filter.start, chat_filter.end]
    if chat_filter.queues is not None:
        clauses.append(f"queue IN ({', '.join('?' for _ in chat_filter.queues)})")
        params.extend(chat_filter.queues)
    if chat_filter.status is not None:
        clauses.append(_STATUS_SQL[chat_filter.status])
    if chat_filter.min_duration is not None:
        clauses.append("picked_up_at IS NOT NULL AND closed_at - picked_up_at >= ?")
        params.append(chat_filter.min_duration)
    return " AND ".join(clauses), params


def _mean(n, microseconds):
    """
    The mean of C{n} times that add up to C{microseconds}: both ways of
    counting (the totals and chat by chat) add whole microseconds, so that
    they agree to the last digit.
    """
    return microseconds / (n * 1_000_000)


def _local(shifts, moment="created_at"):
    """
    SQL for a chat's start (C{moment}) in local seconds, and its
    parameters: C{shifts} is C{[(until, offset), ...]} in time order, the
    last C{until} C{None}.
    """
    params = []
    cases = []
    for until, offset in shifts[:-1]:
        cases.append(f"WHEN {moment} < ? THEN ?")
        params.extend((until, offset))
    params.append(shifts[-1][1])
    if not cases:
        return f"({moment} + ?)", params
    return f"({moment} + CASE {' '.join(cases)} ELSE ? END)", params


class ChatByChatQueries:
    """
    The report queries over one connection (which must stay in the thread
    that opened it), reading every chat of the range: the truth that
    L{ReportQueries} answers from the totals where it can.
    """

    def __init__(self, conn):
        self._conn = conn

    def _filtered(self, chat_filter, columns):
        where, params = _where(chat_filter)
        return f"SELECT {columns} FROM chats WHERE {where}", params

    def by_weekday_and_hour(self, chat_filter, shifts):
        """
        C{{(weekday, hour): chats}}, Monday 0, in local time.
        """
        local, local_params = _local(shifts)
        query, params = self._filtered(chat_filter, f"CAST({local} AS INTEGER) AS t")
        rows = self._conn.execute(
            f"SELECT ((t / 86400 + 3) % 7), ((t % 86400) / 3600), count(*) FROM ({query})"
            " GROUP BY 1, 2",
            local_params + params,
        )
        return {(weekday, hour): n for weekday, hour, n in rows}

    def by_month(self, chat_filter, shifts):
        """
        C{{"YYYY-MM": chats}} in local time.
        """
        local, local_params = _local(shifts)
        query, params = self._filtered(
            chat_filter, f"strftime('%Y-%m', {local}, 'unixepoch') AS month"
        )
        rows = self._conn.execute(
            f"SELECT month, count(*) FROM ({query}) GROUP BY month", local_params + params
        )
        return dict(rows.fetchall())

    def by_protocol(self, chat_filter):
        query, params = self._filtered(chat_filter, "protocol")
        rows = self._conn.execute(
            f"SELECT protocol, count(*) FROM ({query}) GROUP BY protocol", params
        )
        return dict(rows.fetchall())

    def queue_names(self):
        """
        Every queue name chats were ever counted under: deleted queues too.
        """
        rows = self._conn.execute(
            "SELECT DISTINCT queue FROM chats WHERE queue IS NOT NULL ORDER BY queue"
        )
        return [name for (name,) in rows]

    def by_queue(self, chat_filter):
        """
        C{{queue: dict}} of chats, answered, missed, abandoned, wait and
        duration (L{Spread}s), transfers_in and transfers_out; a chat sent
        to one user has the queue C{None}.
        """
        query, params = self._filtered(
            chat_filter,
            "id, queue, operator, state, picked_up_at - created_at AS wait,"
            " CASE WHEN picked_up_at IS NOT NULL THEN closed_at - picked_up_at END AS duration,"
            " picked_up_at IS NOT NULL AS answered",
        )
        spreads, counts = self._spreads(
            query, params, "queue", ("wait", "duration"),
            "count(*), sum(answered),"
            f" sum(NOT answered AND state = '{ChatState.MISSED}'),"
            f" sum(NOT answered AND state = '{ChatState.CLOSED}')",
        )
        found = {
            queue: {
                "chats": chats,
                "answered": answered,
                "missed": missed,
                "abandoned": abandoned,
                "wait": spreads[queue]["wait"],
                "duration": spreads[queue]["duration"],
                "transfers_in": 0,
                "transfers_out": 0,
            }
            for queue, (chats, answered, missed, abandoned) in counts.items()
        }
        _count_transfers(
            found, "transfers_out", "transfers_in",
            (
                (from_queue if from_queue is not None else queue, to_queue, 1)
                for from_queue, to_queue, _, _, queue, _ in self._transfers(query, params)
            ),
        )
        return found

    def by_operator(self, chat_filter):
        """
        C{{operator: dict}} of chats taken, wait before their answer, first
        response and duration (L{Spread}s), transfers_given,
        transfers_received and tags (C{{tag: chats}}), for the answered chats.
        """
        query, params = self._filtered(
            chat_filter,
            "id, queue, operator, picked_up_at - created_at AS wait,"
            " closed_at - picked_up_at AS duration,"
            " first_response_at - created_at AS first_response",
        )
        query += " AND picked_up_at IS NOT NULL AND operator IS NOT NULL"
        spreads, counts = self._spreads(
            query, params, "operator", ("wait", "first_response", "duration"), "count(*)"
        )
        found = {
            operator: {
                "chats": chats,
                **spreads[operator],
                "transfers_given": 0,
                "transfers_received": 0,
                "tags": {},
            }
            for operator, (chats,) in counts.items()
        }
        _count_transfers(
            found, "transfers_given", "transfers_received",
            (
                (from_operator, to_operator, 1)
                for _, _, from_operator, to_operator, _, _ in self._transfers(query, params)
            ),
        )
        rows = self._conn.execute(
            f"SELECT c.operator, t.name, count(DISTINCT c.id) FROM ({query}) c"
            " JOIN chat_tags ct ON ct.chat_id = c.id JOIN tags t ON t.id = ct.tag_id"
            " GROUP BY c.operator, t.id",
            params,
        )
        for operator, tag, chats in rows:
            found[operator]["tags"][tag] = chats
        return found

    def _spreads(self, query, params, group, columns, counts):
        """
        C{({group: {column: Spread}}, {group: (counts...)})} over the chats
        of C{query}, C{counts} being SQL aggregates of them, in two passes
        over the chats: how many, the mean, least and greatest (and
        C{counts}) summed up by SQLite, then the values themselves ranked
        here, where sorting a group's few numbers costs less than SQLite's
        window functions sorting the chats once per column.
        """
        aggregates = ", ".join(
            f"count({column}), sum(CAST(round({column} * 1000000) AS INTEGER)),"
            f" min({column}), max({column})"
            for column in columns
        )
        summary = {}
        extra = {}
        for key, *row in self._conn.execute(
            f"SELECT {group}, {counts}, {aggregates} FROM ({query}) GROUP BY {group}", params
        ):
            taken = len(row) - 4 * len(columns)
            extra[key] = tuple(row[:taken])
            summary[key] = [row[at : at + 4] for at in range(taken, len(row), 4)]
        values = {key: [[] for _ in columns] for key in summary}
        for key, *row in self._conn.execute(
            f"SELECT {group}, {', '.join(columns)} FROM ({query})"
            f" WHERE {' OR '.join(f'{column} IS NOT NULL' for column in columns)}",
            params,
        ):
            for found, value in zip(values[key], row):
                if value is not None:
                    found.append(value)
        spreads = {}
        for key, per_column in summary.items():
            spreads[key] = {}
            for column, (n, total, low, high), found in zip(columns, per_column, values[key]):
                if not n:
                    spreads[key][column] = Spread()
                    continue
                found.sort()
                spreads[key][column] = Spread(
                    n=n,
                    mean=_mean(n, total),
                    median=(found[(n + 1) // 2 - 1] + found[n // 2]) / 2,
                    p90=found[(9 * n + 9) // 10 - 1],
                    min=low,
                    max=high,
                )
        return spreads, extra

    def _transfers(self, query, params):
        """
        C{(from_queue, to_queue, from_operator, to_operator, queue,
        operator)} of each transfer event of the chats of C{query}: the
        events of only those chats that count some (C{chats.transfers}).
        """
        return self._conn.execute(
            "SELECT json_extract(e.data, '$.from_queue'), json_extract(e.data, '$.to_queue'),"
            " json_extract(e.data, '$.from_operator'),"
            " json_extract(e.data, '$.to_operator'), c.queue, c.operator"
            f" FROM ({query} AND transfers > 0) c"
            f" JOIN chat_events e ON e.chat_id = c.id AND e.{TRANSFERS}",
            params,
        ).fetchall()


DAY = 86400
HOUR = 3600


def _whole(moment, step):
    return float(moment).is_integer() and int(moment) % step == 0


FIRST_DAY = 1
FIRST_MONTH = 1970 * 12 + 1
"""
The totals read begin on 2 January 1970 (day 1) and in February 1970:
a chat dated before 1970 would count in day or month 0.
"""


def _month_start(month):
    year, month = divmod(month, 12)
    return datetime.datetime(year, month + 1, 1, tzinfo=datetime.UTC).timestamp()


def _month_of(moment):
    when = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    return when.year * 12 + when.month - 1


def _pieces(start, end):
    """
    How the totals answer C{[start, end)}: C{(months, days, edges)}, the
    whole UTC months C{(first, last)} within it or C{None}, the ranges of
    whole UTC days outside them, and the spans left at either end, read
    chat by chat.
    """
    first = max(math.ceil(start / DAY), FIRST_DAY)
    last = math.floor(end / DAY)
    if first >= last:
        return None, [], [(start, end)] if start < end else []
    edges = []
    if start < first * DAY:
        edges.append((start, first * DAY))
    if last * DAY < end:
        edges.append((last * DAY, end))
    low = max(_month_of(first * DAY - 1) + 1, FIRST_MONTH)
    high = _month_of(last * DAY)
    if low >= high:
        return None, [(first, last)], edges
    days = [
        (first, int(_month_start(low)) // DAY),
        (int(_month_start(high)) // DAY, last),
    ]
    return (low, high), [(a, b) for a, b in days if a < b], edges


def _offsets(shifts):
    """
    C{moment -> offset} for C{shifts} (as L{_local} takes them).
    """
    untils = [until for until, _ in shifts[:-1]]
    offsets = [offset for _, offset in shifts]
    return lambda moment: offsets[bisect.bisect_right(untils, moment)]


def _month_name(local):
    """
    C{YYYY-MM} of C{local} seconds, as SQLite's C{strftime} writes it.
    """
    when = time.gmtime(local)
    return f"{when.tm_year:04d}-{when.tm_mon:02d}"


class ReportQueries(ChatByChatQueries):
    """
    The report queries, answered from the running totals of
    L{mcc.store.report_totals}: whole UTC days from the totals, the hours
    at either end of the range chat by chat, and the medians, 90th
    percentiles, least and greatest by stepping through the indexes that
    keep each queue's and operator's times in order.  The hourly and
    monthly reports read the totals per UTC hour when the zone's offsets
    and clock changes fall on whole hours, and chat by chat otherwise; a
    minimum duration is always counted chat by chat.
    """

    def _totals(self, chat_filter):
        return chat_filter.min_duration is None

    def _hourly(self, chat_filter, shifts):
        return (
            self._totals(chat_filter)
            and chat_filter.start >= HOUR
            and _whole(chat_filter.start, HOUR)
            and _whole(chat_filter.end, HOUR)
            and all(_whole(until, HOUR) for until, _ in shifts[:-1])
            and all(offset % HOUR == 0 for _, offset in shifts)
        )

    def _rows(self, totals, chat_filter, *extra):
        """
        SQL for the rows of C{totals} over the filter's range and queues
        (and status, where the table has it), with its parameters;
        C{extra} adds conditions on the rows' columns.
        """
        months, days, edges = _pieces(chat_filter.start, chat_filter.end)
        columns = ", ".join(totals.columns)
        parts, params = [], []
        if months is not None:
            monthly = MONTHS[totals.table]
            parts.append(
                f"SELECT {', '.join(monthly.columns)} FROM {monthly.table}"
                " WHERE month >= ? AND month < ?"
            )
            params.extend(months)
        for day_range in days:
            parts.append(f"SELECT {columns} FROM {totals.table} WHERE day >= ? AND day < ?")
            params.extend(day_range)
        for start, end in edges:
            parts.append(totals.source("c.created_at >= ? AND c.created_at < ?"))
            params.extend((start, end))
        if not parts:
            parts.append(f"SELECT {columns} FROM {totals.table} WHERE 0")
        clauses, filters = self._filters(totals, chat_filter)
        clauses += extra
        where = " AND ".join(clauses) or "1"
        return f"SELECT * FROM ({' UNION ALL '.join(parts)}) WHERE {where}", params + filters

    def _filters(self, totals, chat_filter):
        clauses, params = [], []
        if chat_filter.queues is not None:
            clauses.append(f"queue IN ({', '.join('?' for _ in chat_filter.queues)})")
            params.extend(chat_filter.queues)
        if chat_filter.status is not None and "outcome" in totals.columns:
            clauses.append("outcome = ?")
            params.append(chat_filter.status)
        return clauses, params

    def _hours(self, chat_filter, first, last):
        """
        C{[(hour, chats)]} of the filter's chats per UTC hour, from the
        totals of the hours C{[first, last)}.
        """
        clauses, params = self._filters(HOURS, chat_filter)
        where = " AND ".join(["hour >= ?", "hour < ?"] + clauses)
        return self._conn.execute(
            f"SELECT hour, sum(chats) FROM report_hours WHERE {where}"
            " GROUP BY hour HAVING sum(chats) > 0",
            [first, last] + params,
        ).fetchall()

    def by_weekday_and_hour(self, chat_filter, shifts):
        if not self._hourly(chat_filter, shifts):
            return super().by_weekday_and_hour(chat_filter, shifts)
        offset = _offsets(shifts)
        counts = {}
        for hour, n in self._hours(
            chat_filter, int(chat_filter.start) // HOUR, int(chat_filter.end) // HOUR
        ):
            local = hour * HOUR + offset(hour * HOUR)
            key = ((local // DAY + 3) % 7, local % DAY // HOUR)
            counts[key] = counts.get(key, 0) + n
        return counts

    def by_month(self, chat_filter, shifts):
        """
        The UTC hours that fall within one local month come from the
        totals; the others (an hour holding a clock change, or a month's
        end in a zone off whole hours) and the parts of hours at either end
        of the range, chat by chat.
        """
        first = max(math.ceil(chat_filter.start / HOUR), 1)
        last = math.floor(chat_filter.end / HOUR)
        if not self._totals(chat_filter) or first >= last:
            return super().by_month(chat_filter, shifts)
        offset = _offsets(shifts)
        changes = [until for until, _ in shifts[:-1]]
        counts, spans = {}, []
        for hour, n in self._hours(chat_filter, first, last):
            begins = hour * HOUR
            local = begins + offset(begins)
            month = _month_name(local)
            changing = any(begins < until < begins + HOUR for until in changes)
            if changing or _month_name(local + HOUR - 1) != month:
                spans.append((begins, begins + HOUR))
            else:
                counts[month] = counts.get(month, 0) + n
        if chat_filter.start < first * HOUR:
            spans.append((chat_filter.start, first * HOUR))
        if last * HOUR < chat_filter.end:
            spans.append((last * HOUR, chat_filter.end))
        for start, end in spans:
            part = replace(chat_filter, start=start, end=end)
            for key, n in super().by_month(part, shifts).items():
                counts[key] = counts.get(key, 0) + n
        return counts

    def by_protocol(self, chat_filter):
        if not self._totals(chat_filter):
            return super().by_protocol(chat_filter)
        query, params = self._rows(DAYS, chat_filter)
        rows = self._conn.execute(
            f"SELECT protocol, sum(chats) FROM ({query}) GROUP BY protocol HAVING sum(chats) > 0",
            params,
        )
        return dict(rows.fetchall())

    def by_queue(self, chat_filter):
        if not self._totals(chat_filter):
            return super().by_queue(chat_filter)
        query, params = self._rows(DAYS, chat_filter)
        rows = self._conn.execute(
            "SELECT queue, sum(chats),"
            " sum(CASE WHEN outcome = 'answered' THEN chats ELSE 0 END),"
            " sum(CASE WHEN outcome = 'missed' THEN chats ELSE 0 END),"
            " sum(CASE WHEN outcome = 'abandoned' THEN chats ELSE 0 END),"
            " sum(waits), sum(wait_us), sum(durations), sum(duration_us)"
            f" FROM ({query}) GROUP BY queue HAVING sum(chats) > 0",
            params,
        ).fetchall()
        found = {}
        for queue, chats, answered, missed, abandoned, waits, wait_us, durations, duration_us in rows:
            found[queue] = {
                "chats": chats,
                "answered": answered,
                "missed": missed,
                "abandoned": abandoned,
                "wait": self._ranked(
                    "chats_wait_by_queue", "queue", queue, "picked_up_at - created_at",
                    "picked_up_at IS NOT NULL", chat_filter, waits, wait_us, by_queue=False,
                ),
                "duration": self._ranked(
                    "chats_duration_by_queue", "queue", queue, "closed_at - picked_up_at",
                    "picked_up_at IS NOT NULL AND closed_at IS NOT NULL", chat_filter,
                    durations, duration_us, by_queue=False,
                ),
                "transfers_in": 0,
                "transfers_out": 0,
            }
        query, params = self._rows(QUEUE_TRANSFERS, chat_filter)
        _count_transfers(
            found, "transfers_out", "transfers_in",
            self._conn.execute(
                f"SELECT from_queue, to_queue, sum(transfers) FROM ({query}) GROUP BY 1, 2", params
            ),
        )
        return found

    def by_operator(self, chat_filter):
        if not self._totals(chat_filter):
            return super().by_operator(chat_filter)
        if chat_filter.status not in (None, ANSWERED):
            return {}  # Only answered chats have an operator's figures.
        query, params = self._rows(OPERATORS, chat_filter)
        rows = self._conn.execute(
            "SELECT operator, sum(chats), sum(wait_us), sum(first_responses),"
            " sum(first_response_us), sum(durations), sum(duration_us)"
            f" FROM ({query}) GROUP BY operator HAVING sum(chats) > 0",
            params,
        ).fetchall()
        answered = "picked_up_at IS NOT NULL AND operator IS NOT NULL"
        found = {}
        for operator, chats, wait_us, firsts, first_us, durations, duration_us in rows:
            found[operator] = {
                "chats": chats,
                "wait": self._ranked(
                    "chats_wait_by_operator", "operator", operator, "picked_up_at - created_at",
                    answered, chat_filter, chats, wait_us,
                ),
                "first_response": self._ranked(
                    "chats_first_response_by_operator", "operator", operator,
                    "first_response_at - created_at",
                    f"{answered} AND first_response_at IS NOT NULL", chat_filter, firsts, first_us,
                ),
                "duration": self._ranked(
                    "chats_duration_by_operator", "operator", operator, "closed_at - picked_up_at",
                    f"{answered} AND closed_at IS NOT NULL", chat_filter, durations, duration_us,
                ),
                "transfers_given": 0,
                "transfers_received": 0,
                "tags": {},
            }
        query, params = self._rows(OPERATOR_TRANSFERS, chat_filter)
        _count_transfers(
            found, "transfers_given", "transfers_received",
            self._conn.execute(
                f"SELECT from_operator, to_operator, sum(transfers) FROM ({query}) GROUP BY 1, 2",
                params,
            ),
        )
        query, params = self._rows(TAGS, chat_filter)
        for operator, tag, chats in self._conn.execute(
            "SELECT r.operator, t.name, r.chats FROM (SELECT operator, tag_id, sum(chats) AS chats"
            f" FROM ({query}) GROUP BY 1, 2 HAVING sum(chats) > 0) r JOIN tags t ON t.id = r.tag_id",
            params,
        ):
            found[operator]["tags"][tag] = chats
        return found

    def _ranked(self, index, group, key, value, partial, chat_filter, n, microseconds,
                by_queue=True):
        """
        The L{Spread} of the C{n} values (adding up to C{microseconds}) of
        C{value} for the chats of the filter's range whose C{group} is
        C{key}, read in order from C{index}: one step to the middle, one
        to the 90th percentile, one to either end.
        """
        if not n:
            return Spread()
        where = f"{group} IS ? AND {partial} AND created_at >= ? AND created_at < ?"
        params = [key, chat_filter.start, chat_filter.end]
        if by_queue and chat_filter.queues is not None:
            where += f" AND queue IN ({', '.join('?' for _ in chat_filter.queues)})"
            params.extend(chat_filter.queues)
        ordered = f"SELECT {value} FROM chats INDEXED BY {index} WHERE {where} ORDER BY {value}"

        def nth(rank, count=1):
            """
            The values from C{rank} (0 the least) on, stepping from
            whichever end is nearer.
            """
            if rank < n - rank - count:
                query, offset = f"{ordered} LIMIT ? OFFSET ?", rank
            else:
                query, offset = f"{ordered} DESC LIMIT ? OFFSET ?", n - rank - count
            found = [value for (value,) in self._conn.execute(query, params + [count, offset])]
            return sorted(found)

        low = (n + 1) // 2 - 1
        middle = nth(low, n // 2 - low + 1)
        return Spread(
            n=n,
            mean=_mean(n, microseconds),
            median=(middle[0] + middle[-1]) / 2,
            p90=nth((9 * n + 9) // 10 - 1)[0],
            min=nth(0)[0],
            max=nth(n - 1)[0],
        )


class ThreadReaders(ReadersPerThread):
    """
    The L{ReportQueries} of each thread, on a read-only connection of its
    own to the database at C{path}.
    """

    def __init__(self, path):
        ReadersPerThread.__init__(self, path, ReportQueries)
