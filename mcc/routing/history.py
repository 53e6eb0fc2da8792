# -*- test-case-name: tests.test_routing_history -*-
"""
Chat histories as the Activity tab shows them: days of the service's time
zone, the chats of a range of dates and queues, each chat's transcript, the
same chats as CSV rows; and what privacy and retention keep of them.

Days are those of the service's time zone, whatever the zone of the
machine or the browser: a day runs from one local midnight to the next, so
around a change of daylight saving time it has 23 or 25 hours.
"""

import ipaddress
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from twisted.application.internet import TimerService
from twisted.internet import defer

from mcc.routing.zones import system_zone

from mcc.store import IP_POLICIES, OUTCOMES, ChatFilter, ChatState

PAGE_SIZE = 50
CSV_BATCH = 500
CHANGE_BATCH = 500
"""
Chats a bulk change or a purge changes per turn of the reactor.
"""
DAY = 24 * 60 * 60.0
MAX_RETENTION_DAYS = 36500
FIRST_YEAR = 1970
LAST_YEAR = 9998

CSV_COLUMNS = (
    "id",
    "started",
    "ended",
    "wait_s",
    "duration_s",
    "queue",
    "protocol",
    "state",
    "operator",
    "transferred_to",
    "tags",
    "visitor_name",
    "visitor_email",
    "ip",
    "referrer",
    "page",
    "messages_visitor",
    "messages_operator",
)
TRANSCRIPT_COLUMN = "transcript"

FORMULA_STARTS = frozenset("=+-@\t\r")
"""
What a spreadsheet reads as the start of a formula in a cell (CSV injection).
"""

HIDDEN_KINDS = ("typing", "acknowledged", "acknowledgement_wanted")
"""
Events that say nothing worth reading afterwards.
"""


class HistoryError(ValueError):
    """
    A history request the rules refuse; the message says why.
    """


def zone_named(name):
    """
    The time zone called C{name} (IANA, like C{Europe/Paris}); the
    system's own for an empty name.  C{ZoneInfoNotFoundError} or
    C{ValueError} for names that are none.
    """
    return ZoneInfo(name) if name else system_zone()


def parse_day(text, name):
    """
    The date C{text} (YYYY-MM-DD) of the parameter C{name}, or L{HistoryError}.
    Years run from L{FIRST_YEAR} to L{LAST_YEAR}: no chat is older, and the
    day after the last one still has a date.
    """
    try:
        if len(text) != 10:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise HistoryError(f"{name!r} must be a date like 2026-12-01, not {text!r}") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise HistoryError(f"{name!r} must be a date from {FIRST_YEAR} to {LAST_YEAR}, not {text!r}")
    return day


@dataclass(frozen=True)
class Query:
    """
    Which chats: started from the day C{first} to the day C{last} (both
    included, in the service's zone), in C{queues} (any when empty), and so
    on, as L{ChatFilter} says.
    """

    first: date
    last: date
    queues: tuple = ()
    operator: str = ""
    protocol: str = ""
    outcome: str = ""
    text: str = ""
    tag: str = ""

    def __post_init__(self):
        if self.first > self.last:
            raise HistoryError(
                f"the range starts ({self.first.isoformat()}) after it ends ({self.last.isoformat()})"
            )
        if self.outcome and self.outcome not in OUTCOMES:
            raise HistoryError(f"the outcome is one of {', '.join(OUTCOMES)}, not {self.outcome!r}")


def outcome(chat):
    """
    How a chat went: waiting, active, answered, missed, or abandoned (the
    visitor left or ended before any operator answered).
    """
    if chat.state in ChatState.OPEN:
        return chat.state
    if chat.state == ChatState.MISSED:
        return "missed"
    return "answered" if chat.picked_up_at is not None else "abandoned"


def neutralised(cell):
    """
    C{cell} as a spreadsheet shows it without running it: a leading
    character that starts a formula gets a quote before it.
    """
    return "'" + cell if cell[:1] in FORMULA_STARTS else cell


def describe(kind, data, internal=False):
    """
    One event of a transcript as a line of text.  Kinds this code does not
    know are shown by their name and fields, so that later ones need no
    change here.
    """
    if kind == "message":
        speaker = data.get("name") or data.get("from", "")
        return f"{speaker}: {data.get('text', '')}"
    if kind == "note":
        return f"Note by {data.get('operator', '')} (not seen by the visitor): {data.get('text', '')}"
    if kind == "picked_up":
        return f"{data.get('operator', '')} picked up the chat."
    if kind == "requeued":
        return f"{data.get('operator', '')} went offline; the chat went back to the queue."
    if kind == "ended":
        return {
            "visitor": "The visitor ended the chat.",
            "operator": "The operator ended the chat.",
            "timeout": "The visitor left.",
        }.get(data.get("by"), f"The chat ended ({data.get('by', '')}).")
    if kind == "missed":
        return "Nobody answered the chat in time."
    if kind in _DESCRIBED:
        return _DESCRIBED[kind](data)
    fields = ", ".join(f"{name}: {value}" for name, value in sorted(data.items()))
    return f"{kind.replace('_', ' ').capitalize()}" + (f" ({fields})" if fields else "")


def _target(queue, user):
    if queue:
        return f"the queue {queue}"
    return user or "nobody"


def _transfer_offered(data):
    target = _target(data.get("queue"), data.get("user"))
    if data.get("from") is None:
        text = f"{data.get('by', '')} moved the waiting chat to {target}."
    else:
        text = f"{data.get('by', '')} offered the chat to {target}."
    if data.get("note"):
        text += f" Note: {data['note']}"
    return text


def _transferred(data):
    target = _target(data.get("to_queue"), data.get("to_operator"))
    if data.get("to_queue") and data.get("to_operator"):
        target += f", where {data['to_operator']} took it"
    earlier = data.get("from_operator") or (data.get("from_queue") and f"the queue {data['from_queue']}")
    return f"Transferred {'from ' + earlier + ' ' if earlier else ''}to {target}."


_RETURNS = {
    "unanswered": "nobody took it in time",
    "ended": "the chat ended first",
    "restart": "the service restarted",
}

_EMAIL_STATES = {
    "queued": "queued",
    "sent": "sent",
    "failed": "could not be sent",
}


def _email(data):
    status = data.get("status", "")
    text = f"The transcript by e-mail to {data.get('to', '')}: {_EMAIL_STATES.get(status, status)}."
    return text[:-1] + f" ({data['why']})." if data.get("why") else text


_DESCRIBED = {
    "transfer": lambda data: f"The visitor was told: {data['text']}" if data.get("text") else "Transfer",
    "transfer_offered": _transfer_offered,
    "transfer_taken": lambda data: f"{data.get('operator', '')} took the transfer from {data.get('from', '')}.",
    "transfer_returned": lambda data: (
        f"The transfer was called off ({_RETURNS.get(data.get('reason'), data.get('reason', ''))});"
        f" the chat stayed with {data.get('to', '')}."
    ),
    "transferred": _transferred,
    "file": lambda data: (
        f"The {'visitor' if data.get('from') == 'visitor' else 'operator'} sent a file:"
        f" {data.get('name', '')} ({data.get('size', 0)} bytes)."
    ),
    "email": _email,
}
"""
Readable wording of the other kinds the chat service writes.
"""


def masked(ip, policy):
    """
    What is kept of the visitor address C{ip} under C{policy}: all of it,
    its network (/24 for IPv4, /48 for IPv6), or nothing.
    """
    if policy == "keep":
        return ip
    if policy == "subnet":
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return ""
        prefix = 24 if address.version == 4 else 48
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return ""


@dataclass(frozen=True)
class Day:
    day: date
    count: int


@dataclass(frozen=True)
class Month:
    """
    A calendar month: C{weeks} are rows of seven L{Day}s (Monday first),
    C{None} outside the month.
    """

    first: date
    weeks: list
    total: int

    @property
    def previous(self):
        if self.first.year == FIRST_YEAR and self.first.month == 1:
            return None
        return (self.first - timedelta(days=1)).replace(day=1)

    @property
    def next(self):
        if self.first.year == LAST_YEAR and self.first.month == 12:
            return None
        return (self.first + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class ResultPage:
    chats: list
    total: int
    number: int
    pages: int


@dataclass(frozen=True)
class TranscriptLine:
    at: datetime
    kind: str
    text: str
    internal: bool
    speaker: str


@dataclass(frozen=True)
class Transcript:
    chat: object
    lines: list
    removed_at: datetime | None
    tags: tuple = ()


class ChatHistory:
    """
    The histories of one service, in its time zone C{zone}.

    @param files: the L{ChatFiles} whose files go with the transcripts.
    @param readers: a L{HistoryReaders} of the same database, and
        C{run_in_thread}, C{(function, *args) -> Deferred}: with both, the
        CSV file is read in the thread pool (L{threaded}).
    """

    def __init__(self, store, clock, zone, files=None, readers=None, run_in_thread=None):
        self.store = store
        self.clock = clock
        self.zone = zone
        self.files = files
        self.readers = readers
        self.run_in_thread = run_in_thread

    @property
    def threaded(self):
        """
        Whether L{csv_rows} may run in the threads of C{run_in_thread}.
        """
        return self.readers is not None and self.run_in_thread is not None

    # Days and times of the zone

    def local(self, seconds):
        """
        The moment C{seconds} (since the epoch) in the service's zone.
        """
        return None if seconds is None else datetime.fromtimestamp(seconds, self.zone)

    def today(self):
        return self.local(self.clock.seconds()).date()

    def day_start(self, day):
        """
        When C{day} began in the service's zone, in seconds since the epoch.
        """
        return datetime.combine(day, time(), tzinfo=self.zone).timestamp()

    def chat_filter(self, query, ended=False):
        return ChatFilter(
            start=self.day_start(query.first),
            end=self.day_start(query.last + timedelta(days=1)),
            queues=tuple(query.queues),
            operator=query.operator,
            protocol=query.protocol,
            outcome=query.outcome,
            text=query.text,
            ended=ended,
            tag=" ".join(query.tag.split()).casefold(),
        )

    # Reading

    def month(self, first, query):
        """
        The L{Month} of the day C{first}, counting the chats that match
        C{query} apart from its dates.
        """
        first = first.replace(day=1)
        days = []
        day = first
        while day.month == first.month:
            days.append(day)
            day += timedelta(days=1)
        bounds = [self.day_start(day) for day in days] + [self.day_start(day)]
        counts = self.store.history.counts(bounds, self.chat_filter(replace(query, first=first, last=first)))
        cells = [None] * first.weekday() + [Day(day, count) for day, count in zip(days, counts)]
        cells += [None] * (-len(cells) % 7)
        weeks = [cells[start : start + 7] for start in range(0, len(cells), 7)]
        return Month(first, weeks, sum(counts))

    def search(self, query, number=1, size=PAGE_SIZE):
        """
        Page C{number} (from 1) of the chats of C{query}, oldest first.
        """
        chats = self.chat_filter(query)
        total = self.store.history.count(chats)
        pages = max(1, -(-total // size))
        number = min(max(1, number), pages)
        return ResultPage(
            self.store.history.page(chats, size, (number - 1) * size), total, number, pages
        )

    def transcript(self, chat_id):
        """
        The L{Transcript} of chat C{chat_id}, notes and every event
        included; C{None} for no such chat.
        """
        chat = self.store.chats.by_id(chat_id)
        if chat is None:
            return None
        lines = [
            TranscriptLine(
                self.local(event.at),
                event.kind,
                describe(event.kind, event.data, event.internal),
                event.internal,
                event.data.get("from", "") if event.kind == "message" else "",
            )
            for event in self.store.chats.events_after(chat.id, 0, include_internal=True)
            if event.kind not in HIDDEN_KINDS
        ]
        removed = self.store.history.transcript_removed_at(chat.id)
        return Transcript(chat, lines, self.local(removed), tuple(self.store.tags.of_chat(chat.id)))

    def queue_names(self):
        return [queue.name for queue in self.store.queues.all()]

    def operators(self):
        return self.store.history.operators()

    def tag_names(self):
        return [tag.name for tag in self.store.tags.all()]

    # CSV

    def csv_rows(self, query, transcript=False, batch=CSV_BATCH, in_thread=False):
        """
        The header, then one row (a list of text cells, those that come
        from people or browsers neutralised) per chat of C{query}: read
        C{batch} chats at a time, so that memory stays flat whatever the
        range.  C{in_thread} (when L{threaded}): the rows are read through
        the readers, so the iterator is advanced in C{run_in_thread}'s
        threads only, one at a time.
        """
        source = self.readers if in_thread else (lambda: self.store.history)
        return self._csv_rows(self.chat_filter(query), transcript, batch, source)

    def _csv_rows(self, chats, transcript, batch, source):
        yield list(CSV_COLUMNS) + ([TRANSCRIPT_COLUMN] if transcript else [])
        cursor = None
        while True:
            # The thread that asks for this batch reads it: another one may
            # have read the previous one.
            history = source()
            records = history.csv_after(chats, cursor, batch)
            if not records:
                return
            last = records[-1]
            cursor = (last.created_at, last.id)
            ids = [chat.id for chat in records]
            tags = history.tags_of(ids)
            events = history.events_of(ids) if transcript else {}
            for chat in records:
                row = self._csv_row(chat, tags[chat.id])
                if transcript:
                    row.append(neutralised(self._transcript_text(events[chat.id])))
                yield row

    def _csv_row(self, chat, tags):
        """
        The cells of a L{CSVChat}: C{transferred_to} is where its last
        transfer sent it, to a queue (whoever took it there) or to one
        operator.
        """
        iso = self._iso
        answered, closed = chat.picked_up_at, chat.closed_at
        wait = answered if answered is not None else closed
        if closed is None:
            duration = ""
        elif answered is None:
            duration = "0"
        else:
            duration = _seconds(closed - answered)
        return [
            str(chat.id),
            iso(chat.created_at),
            iso(closed),
            "" if wait is None else _seconds(wait - chat.created_at),
            duration,
            neutralised(chat.queue or ""),
            neutralised(chat.protocol),
            outcome(chat),
            neutralised(chat.operator or ""),
            neutralised(chat.transferred_to),
            neutralised("; ".join(tags)),
            neutralised(chat.visitor_name),
            neutralised(chat.visitor_email),
            neutralised(chat.ip),
            neutralised(chat.referrer),
            neutralised(chat.page),
            str(chat.messages_visitor),
            str(chat.messages_operator),
        ]

    def _iso(self, seconds):
        if seconds is None:
            return ""
        return datetime.fromtimestamp(seconds, self.zone).isoformat(timespec="seconds")

    def _transcript_text(self, events):
        return "\n".join(
            f"{self.local(at).strftime('%H:%M:%S')} {describe(kind, data, internal)}"
            for kind, data, internal, at in events
            if kind not in HIDDEN_KINDS
        )

    # Privacy and retention

    def privacy(self):
        """
        C{[(queue, keep_transcripts, visitor_ips)]} for every queue.
        """
        chosen = self.store.history.all_privacy()
        return [
            (queue, *chosen.get(queue.id, (True, "keep"))) for queue in self.store.queues.all()
        ]

    def set_privacy(self, queue_id, keep_transcripts, visitor_ips):
        if visitor_ips not in IP_POLICIES:
            raise HistoryError(f"visitor addresses are kept as one of {', '.join(IP_POLICIES)}")
        self.store.queues.get(queue_id)
        self.store.history.set_privacy(queue_id, keep_transcripts, visitor_ips)

    def transcript_days(self):
        return self.store.history.transcript_days()

    def set_transcript_days(self, days):
        """
        Purge transcripts C{days} after their chat ended; C{None} keeps them.
        """
        if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
            raise HistoryError(f"transcripts are kept from 1 to {MAX_RETENTION_DAYS} days")
        self.store.history.set_transcript_days(days)

    def chat_finished(self, chat):
        """
        A chat ended: keep of it what its queue says.
        """
        if not chat.queue:
            return
        keep, ips = self.store.history.privacy(chat.queue)
        if not keep:
            if self.store.history.remove_transcript(chat.id, self.clock.seconds()):
                self._delete_files([chat.id])
        if ips != "keep":
            self.store.history.set_ip(chat.id, masked(chat.ip, ips))

    def _delete_files(self, chat_ids):
        if self.files is not None:
            for chat_id in chat_ids:
                self.files.delete_files(chat_id)

    def _in_batches(self, step):
        """
        Call C{step} (which returns how many chats it changed and whether
        more are left) now, then once per turn of the reactor until nothing
        is left: a large range never holds the reactor for long.  A
        Deferred fires with the total.
        """
        done = defer.Deferred()
        total = 0

        def run():
            nonlocal total
            try:
                count, more = step()
            except BaseException:
                done.errback()
                return
            total += count
            if more:
                self.clock.callLater(0, run)
            else:
                done.callback(total)

        run()
        return done

    def purge(self, batch=CHANGE_BATCH):
        """
        Remove the transcripts (and files) older than the retention
        allows; a Deferred fires with how many.
        """
        days = self.store.history.transcript_days()
        if days is None:
            return defer.succeed(0)
        now = self.clock.seconds()

        def step():
            ids = self.store.history.purgeable(now - days * DAY, batch)
            self._delete_files(ids)
            return self.store.history.remove_transcripts_of(ids, now), len(ids) == batch

        return self._in_batches(step)

    def ended_count(self, query):
        """
        How many chats of C{query} are over: those a bulk change touches.
        """
        return self.store.history.count(self.chat_filter(query, ended=True))

    def _each_batch(self, query, change, batch):
        chats = self.chat_filter(query, ended=True)
        cursor = None

        def step():
            nonlocal cursor
            found = self.store.history.ended_after(chats, cursor, batch)
            if not found:
                return 0, False
            cursor = tuple(found[-1])
            return change([chat_id for _, chat_id in found]), len(found) == batch

        return self._in_batches(step)

    def delete(self, query, batch=CHANGE_BATCH):
        """
        Delete the ended chats of C{query}, with their events and files; a
        Deferred fires with how many.
        """

        def change(ids):
            self._delete_files(ids)
            return self.store.history.delete_ended(ids)

        return self._each_batch(query, change, batch)

    def anonymise(self, query, batch=CHANGE_BATCH):
        """
        Forget the visitors of the ended chats of C{query}; a Deferred
        fires with how many.
        """
        return self._each_batch(query, self.store.history.anonymise_ended, batch)


def _seconds(value):
    return str(max(0, round(value)))


class Retention(TimerService):
    """
    Purges old transcripts once at start, then every C{interval} seconds
    on C{clock}.
    """

    def __init__(self, history, clock, interval=DAY):
        TimerService.__init__(self, interval, history.purge)
        self.clock = clock
