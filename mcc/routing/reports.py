# -*- test-case-name: tests.test_reports -*-
"""
The rules of the Reports tab: which chats a report counts (dates in a time
zone, queues, answered / missed / abandoned, a minimum duration) and the
five reports LibraryH3lp's users know, chats per hour, month, protocol,
queue and operator.

Reports run through C{run_in_thread} against C{queries}, a function giving
the L{ReportQueries} of the calling thread: in production the reactor's
thread pool, each thread with its own read-only connection, so that a year
of chats never blocks the reactor.
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcc.store.reports import ABANDONED, ANSWERED, MISSED, ChatFilter

REPORTS = {
    "chats-per-hour": "Chats per hour",
    "chats-per-month": "Chats per month",
    "chats-per-protocol": "Chats per protocol",
    "chats-per-queue": "Chats per queue",
    "chats-per-operator": "Chats per operator",
}
STATUSES = {
    ANSWERED: "Answered",
    MISSED: "Missed (nobody answered in time)",
    ABANDONED: "Abandoned (the visitor left before an answer)",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PROTOCOLS = {"web": "Web widget", "direct": "Direct URL", "sms": "SMS", "xmpp": "XMPP"}
DEFAULT_DAYS = 30
"""
Without dates, reports cover the last 30 days, today included.
"""
MAX_DAYS = 366 * 20


class ReportError(ValueError):
    """
    A report asked for with a parameter the rules refuse; the message says
    which and why.
    """


def zone_named(name):
    """
    The L{ZoneInfo} called C{name} (an IANA name such as C{Europe/Paris}),
    or L{ReportError}.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ReportError(f"unknown time zone {name!r}: use a name such as Europe/Paris or UTC") from None


@dataclass(frozen=True)
class ReportRequest:
    """
    What a report counts: the chats that began from the local midnight of
    C{first} to the end of C{last} in C{zone}.
    """

    first: datetime.date
    last: datetime.date
    zone: ZoneInfo
    queues: tuple = ()
    status: str = ""
    min_duration: int = 0

    def span(self):
        """
        C{(start, end)} in seconds since the epoch.
        """
        start = datetime.datetime.combine(self.first, datetime.time(), self.zone)
        end = datetime.datetime.combine(self.last + datetime.timedelta(days=1), datetime.time(), self.zone)
        return start.timestamp(), end.timestamp()

    def chat_filter(self):
        start, end = self.span()
        return ChatFilter(
            start,
            end,
            queues=self.queues or None,
            status=self.status or None,
            min_duration=self.min_duration or None,
        )

    def shifts(self):
        """
        C{[(until, offset), ...]}: the zone's UTC offset in seconds for each
        span between its clock changes within the request, the last
        C{until} C{None}.
        """
        start, end = self.span()
        shifts = []
        offset = _offset(self.zone, start)
        moment = start
        # No zone changes its clock twice within six hours: stepping by six
        # hours finds each change, and bisecting finds its second.
        while moment < end:
            following = min(moment + 6 * 3600, end)
            if _offset(self.zone, following) != offset:
                low, high = moment, following
                while high - low > 1:
                    middle = (low + high) // 2
                    if _offset(self.zone, middle) == offset:
                        low = middle
                    else:
                        high = middle
                shifts.append((high, offset))
                offset = _offset(self.zone, high)
            moment = following
        shifts.append((None, offset))
        return shifts

    def query(self, **extra):
        """
        The request as query parameters (for links), with C{extra} added.
        """
        params = [("from", self.first.isoformat()), ("to", self.last.isoformat())]
        params += [("queue", name) for name in self.queues]
        params.append(("tz", self.zone.key))
        if self.status:
            params.append(("status", self.status))
        if self.min_duration:
            params.append(("min_duration", str(self.min_duration)))
        params += [(key, str(value)) for key, value in extra.items()]
        return params


def _offset(zone, moment):
    return int(datetime.datetime.fromtimestamp(moment, zone).utcoffset().total_seconds())


@dataclass(frozen=True)
class Report:
    """
    One report's figures: C{columns} (CSV names) and C{rows} (tuples in the
    same order), plus C{links}, one dict of extra Activity filters per row.
    The hourly report also has C{grid}, C{[weekday][hour]} chats.
    """

    name: str
    title: str
    request: ReportRequest
    columns: tuple
    rows: list
    links: list
    grid: list | None = None


class Reports:
    """
    @param queries: C{() -> ReportQueries} for the calling thread.
    @param run_in_thread: C{(function, *args) -> Deferred}.
    @param zone: the service's time zone, for requests that name none.
    @param clock: an C{IReactorTime}, for today's date.
    """

    def __init__(self, queries, run_in_thread, zone, clock):
        self.queries = queries
        self.run_in_thread = run_in_thread
        self.zone = zone
        self.clock = clock

    def today(self, zone):
        return datetime.datetime.fromtimestamp(self.clock.seconds(), zone).date()

    def request(self, args):
        """
        A L{ReportRequest} from query parameters (C{name -> [values]}), or
        L{ReportError} saying what is wrong.
        """
        zone = zone_named(_one(args, "tz")) if _one(args, "tz") else self.zone
        today = self.today(zone)
        last = _date(args, "to", today)
        first = _date(args, "from", last - datetime.timedelta(days=DEFAULT_DAYS - 1))
        if not (1970 <= first.year and last.year < 9999):
            raise ReportError("reports cover dates from 1970 to 9998")
        if first > last:
            raise ReportError("'from' is after 'to': the first day comes first")
        if (last - first).days >= MAX_DAYS:
            raise ReportError("a report covers at most 20 years")
        status = _one(args, "status")
        if status and status not in STATUSES:
            raise ReportError(f"'status' is one of {', '.join(STATUSES)}, or empty for every chat")
        text = _one(args, "min_duration") or "0"
        try:
            min_duration = int(text)
        except ValueError:
            min_duration = -1
        if min_duration < 0:
            raise ReportError("'min_duration' is a whole number of seconds, 0 or more")
        queues = tuple(sorted({name for name in args.get("queue", []) if name}))
        return ReportRequest(first, last, zone, queues, status, min_duration)

    def queue_names(self):
        """
        Every queue chats were counted under, deleted ones included: a
        Deferred.
        """
        return self.run_in_thread(lambda: self.queries().queue_names())

    def run(self, name, request):
        """
        The L{Report} called C{name} for C{request}, as a Deferred.
        """
        if name not in REPORTS:
            raise ReportError(f"no report is called {name!r}; the reports are {', '.join(REPORTS)}")
        compute = getattr(self, "_" + name.replace("-", "_"))
        return self.run_in_thread(self._compute, compute, name, request)

    def _compute(self, compute, name, request):
        columns, rows, links, *grid = compute(self.queries(), request)
        return Report(name, REPORTS[name], request, columns, rows, links, *grid)

    def _chats_per_hour(self, queries, request):
        counts = queries.by_weekday_and_hour(request.chat_filter(), request.shifts())
        grid = [[counts.get((day, hour), 0) for hour in range(24)] for day in range(7)]
        columns = ("hour", "chats") + tuple(day.lower() for day in WEEKDAYS)
        rows = [
            (hour, sum(grid[day][hour] for day in range(7))) + tuple(grid[day][hour] for day in range(7))
            for hour in range(24)
        ]
        return columns, rows, [{"hour": hour} for hour in range(24)], grid

    def _chats_per_month(self, queries, request):
        counts = queries.by_month(request.chat_filter(), request.shifts())
        rows, links = [], []
        month = request.first.replace(day=1)
        while month <= request.last:
            following = (month + datetime.timedelta(days=32)).replace(day=1)
            rows.append((month.strftime("%Y-%m"), counts.get(month.strftime("%Y-%m"), 0)))
            first = max(month, request.first)
            last = min(following - datetime.timedelta(days=1), request.last)
            links.append({"from": first.isoformat(), "to": last.isoformat()})
            month = following
        return ("month", "chats"), rows, links

    def _chats_per_protocol(self, queries, request):
        counts = queries.by_protocol(request.chat_filter())
        rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return ("protocol", "chats"), rows, [{"protocol": name} for name, _ in rows]

    def _chats_per_queue(self, queries, request):
        found = queries.by_queue(request.chat_filter())
        columns = (
            "queue", "chats", "answered", "missed", "abandoned",
            "wait_median", "wait_mean", "wait_p90", "duration_median", "duration_mean",
            "transfers_in", "transfers_out",
        )
        rows, links = [], []
        for queue in sorted(found, key=lambda name: (name is None, (name or "").lower())):
            row = found[queue]
            wait, duration = row["wait"], row["duration"]
            rows.append((
                queue, row["chats"], row["answered"], row["missed"], row["abandoned"],
                _seconds(wait.median), _seconds(wait.mean), _seconds(wait.p90),
                _seconds(duration.median), _seconds(duration.mean),
                row["transfers_in"], row["transfers_out"],
            ))
            links.append({"queue": queue} if queue is not None else {"direct": 1})
        return columns, rows, links

    def _chats_per_operator(self, queries, request):
        found = queries.by_operator(request.chat_filter())
        columns = (
            "operator", "n", "mean", "median", "min", "max",
            "first_response_mean", "first_response_median", "duration_mean", "duration_median",
            "transfers_given", "transfers_received", "tags",
        )
        rows = []
        for operator in sorted(found):
            row = found[operator]
            wait, first, duration = row["wait"], row["first_response"], row["duration"]
            tags = "; ".join(f"{tag} ({n})" for tag, n in sorted(row["tags"].items()))
            rows.append((
                operator, wait.n, _seconds(wait.mean), _seconds(wait.median),
                _seconds(wait.min), _seconds(wait.max),
                _seconds(first.mean), _seconds(first.median),
                _seconds(duration.mean), _seconds(duration.median),
                row["transfers_given"], row["transfers_received"], tags,
            ))
        return columns, rows, [{"operator": row[0]} for row in rows]


def _seconds(value):
    """
    Seconds rounded to a tenth, or C{None} where there were no chats.
    """
    return None if value is None else round(value, 1)


def _one(args, name):
    values = args.get(name, [])
    return values[0].strip() if values else ""


def _date(args, name, default):
    text = _one(args, name)
    if not text:
        return default
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{name!r} is a date written YYYY-MM-DD, not {text!r}") from None
