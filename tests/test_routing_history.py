"""
Tests for L{mcc.routing.history}: days of the service's time zone, the
calendar, searching, transcripts and CSV rows, on known chats.
"""

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from twisted.internet.task import Clock

from mcc.routing.history import (
    CSV_COLUMNS,
    ChatHistory,
    HistoryError,
    Query,
    describe,
    masked,
    neutralised,
    outcome,
    parse_day,
    zone_named,
)
from mcc.routing.zones import system_zone
from mcc.store import Store

PARIS = ZoneInfo("Europe/Paris")


def at(*parts, zone=PARIS):
    return datetime(*parts, tzinfo=zone).timestamp()


class Chats:
    """
    Known chats in an in-memory store.
    """

    def __init__(self, zone=PARIS):
        self.store = Store.open(":memory:")
        self.clock = Clock()
        self.history = ChatHistory(self.store, self.clock, zone)
        self.count = 0

    def add(
        self,
        started,
        queue="Sales",
        state="closed",
        taken=None,
        ended=None,
        operator=None,
        messages=(),
        **fields,
    ):
        self.count += 1
        chat = self.store.chats.create(
            token=f"token{self.count}",
            guest=f"guest-{self.count}",
            queue=queue,
            state=state,
            created_at=started,
            picked_up_at=taken,
            closed_at=ended,
            operator=operator,
            operator_name=operator and operator.title(),
            **fields,
        )
        for offset, (kind, data) in enumerate(messages):
            self.store.chats.add_event(chat.id, kind, data, started + offset, internal=kind == "note")
        return chat

    def close(self):
        self.store.close()


@pytest.fixture
def chats():
    made = Chats()
    yield made
    made.close()


def day(text):
    return date.fromisoformat(text)


def test_a_day_is_from_local_midnight_to_local_midnight(chats):
    chats.add(at(2026, 11, 30, 23, 59))
    chats.add(at(2026, 12, 1, 0, 0))  # 23:00 UTC on 30 November
    chats.add(at(2026, 12, 1, 23, 59, 59))
    found = chats.history.search(Query(day("2026-12-01"), day("2026-12-01")))
    assert [chat.id for chat in found.chats] == [2, 3]
    assert chats.history.search(Query(day("2026-11-30"), day("2026-11-30"))).total == 1


def test_days_around_daylight_saving_time_have_23_and_25_hours(chats):
    assert chats.history.day_start(day("2026-03-30")) - chats.history.day_start(day("2026-03-29")) == 23 * 3600
    assert chats.history.day_start(day("2026-10-26")) - chats.history.day_start(day("2026-10-25")) == 25 * 3600
    chats.add(at(2026, 10, 25, 0, 30))
    chats.add(at(2026, 10, 25, 23, 30))  # after the extra hour: still the 25th
    chats.add(at(2026, 10, 26, 0, 30))
    month = chats.history.month(day("2026-10-01"), Query(day("2026-10-01"), day("2026-10-01")))
    counts = {cell.day.isoformat(): cell.count for week in month.weeks for cell in week if cell}
    assert counts["2026-10-25"] == 2
    assert counts["2026-10-26"] == 1
    assert month.total == 3


def test_the_month_starts_on_its_weekday_and_fills_whole_weeks(chats):
    month = chats.history.month(day("2026-12-17"), Query(day("2026-12-01"), day("2026-12-01")))
    assert month.first == day("2026-12-01")
    assert month.weeks[0][:1] == [None]  # 1 December 2026 is a Tuesday
    assert month.weeks[0][1].day == day("2026-12-01")
    assert all(len(week) == 7 for week in month.weeks)
    assert (month.previous, month.next) == (day("2026-11-01"), day("2027-01-01"))


def test_month_counts_follow_the_queues_chosen(chats):
    chats.add(at(2026, 12, 2, 10), queue="Sales")
    chats.add(at(2026, 12, 2, 11), queue="Support")
    chats.add(at(2026, 12, 3, 11), queue="Billing")
    query = Query(day("2026-12-02"), day("2026-12-02"), queues=("Sales", "Billing"))
    month = chats.history.month(day("2026-12-01"), query)
    counts = {cell.day.day: cell.count for week in month.weeks for cell in week if cell}
    assert (counts[2], counts[3], month.total) == (1, 1, 2)


def test_outcomes_answered_missed_abandoned(chats):
    start = at(2026, 12, 1, 9)
    answered = chats.add(start, taken=start + 5, ended=start + 60, operator="olive")
    missed = chats.add(start + 1, state="missed", ended=start + 121)
    abandoned = chats.add(start + 2, ended=start + 30)
    waiting = chats.add(start + 3, state="waiting")
    assert [outcome(chat) for chat in (answered, missed, abandoned, waiting)] == [
        "answered",
        "missed",
        "abandoned",
        "waiting",
    ]
    for name, expected in (("answered", answered), ("missed", missed), ("abandoned", abandoned)):
        found = chats.history.search(Query(day("2026-12-01"), day("2026-12-01"), outcome=name))
        assert [chat.id for chat in found.chats] == [expected.id]


def test_filters_by_operator_protocol_and_text_in_the_transcript(chats):
    start = at(2026, 12, 1, 9)
    chats.add(start, operator="olive", messages=[("message", {"from": "visitor", "text": "Où est ma commande ?"})])
    chats.add(start + 1, operator="peter", messages=[("note", {"operator": "peter", "text": "refund 100%"})])
    chats.add(start + 2, operator="olive", question="a question about 100_000 items")
    on = dict(first=day("2026-12-01"), last=day("2026-12-01"))
    assert [c.id for c in chats.history.search(Query(**on, operator="olive")).chats] == [1, 3]
    assert [c.id for c in chats.history.search(Query(**on, text="commande")).chats] == [1]
    assert [c.id for c in chats.history.search(Query(**on, text="100%")).chats] == [2]
    assert [c.id for c in chats.history.search(Query(**on, text="100_")).chats] == [3]
    assert chats.history.search(Query(**on, protocol="sms")).total == 0


def test_pages_of_the_list(chats):
    for minute in range(7):
        chats.add(at(2026, 12, 1, 9, minute))
    query = Query(day("2026-12-01"), day("2026-12-01"))
    second = chats.history.search(query, 2, size=3)
    assert (second.total, second.pages, [c.id for c in second.chats]) == (7, 3, [4, 5, 6])
    assert [c.id for c in chats.history.search(query, 9, size=3).chats] == [7]


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(HistoryError, match="starts .2026-12-02. after it ends .2026-12-01."):
        Query(day("2026-12-02"), day("2026-12-01"))
    with pytest.raises(HistoryError, match="outcome is one of"):
        Query(day("2026-12-01"), day("2026-12-01"), outcome="lost")


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "2026-1-5", "", "2026-12-01T00:00"])
def test_dates_are_year_month_day(text):
    with pytest.raises(HistoryError, match="'from' must be a date like 2026-12-01"):
        parse_day(text, "from")


def test_transcript_shows_every_event_and_unknown_kinds_generically(chats):
    start = at(2026, 12, 1, 9)
    chat = chats.add(
        start,
        taken=start + 1,
        ended=start + 9,
        operator="olive",
        messages=[
            ("message", {"from": "visitor", "name": "Vera", "text": "Hello"}),
            ("picked_up", {"operator": "Olive"}),
            ("typing", {"from": "operator", "state": "composing"}),
            ("message", {"from": "operator", "name": "Olive", "text": "Hi Vera"}),
            ("note", {"operator": "peter", "text": "VIP"}),
            ("file_sent", {"name": "invoice.pdf", "size": 1200}),
            ("ended", {"by": "operator"}),
        ],
    )
    transcript = chats.history.transcript(chat.id)
    assert [(line.kind, line.text) for line in transcript.lines] == [
        ("message", "Vera: Hello"),
        ("picked_up", "Olive picked up the chat."),
        ("message", "Olive: Hi Vera"),
        ("note", "Note by peter (not seen by the visitor): VIP"),
        ("file_sent", "File sent (name: invoice.pdf, size: 1200)"),
        ("ended", "The operator ended the chat."),
    ]
    assert transcript.lines[0].at == datetime(2026, 12, 1, 9, tzinfo=PARIS)
    assert transcript.lines[0].at.tzname() == "CET"
    assert transcript.lines[3].internal
    assert chats.history.transcript(999) is None


def test_transfers_files_and_emails_read_as_sentences():
    assert describe("transfer", {"text": "You are being transferred to Billing.", "to": "Billing"}) == (
        "The visitor was told: You are being transferred to Billing."
    )
    assert describe(
        "transfer_offered", {"by": "olive", "from": "olive", "queue": "Billing", "user": None, "note": "VIP"}
    ) == "olive offered the chat to the queue Billing. Note: VIP"
    assert describe(
        "transfer_offered", {"by": "admin", "from": None, "queue": None, "user": "peter", "note": ""}
    ) == "admin moved the waiting chat to peter."
    assert describe("transfer_taken", {"operator": "peter", "from": "olive"}) == "peter took the transfer from olive."
    assert describe("transfer_returned", {"to": "olive", "reason": "unanswered"}) == (
        "The transfer was called off (nobody took it in time); the chat stayed with olive."
    )
    assert describe(
        "transferred", {"from_queue": "Sales", "to_queue": "Billing", "from_operator": "olive", "to_operator": "peter"}
    ) == "Transferred from olive to the queue Billing, where peter took it."
    assert describe(
        "transferred", {"from_queue": "Sales", "to_queue": "Billing", "from_operator": None, "to_operator": None}
    ) == "Transferred from the queue Sales to the queue Billing."
    assert describe(
        "file", {"id": "x", "name": "invoice.pdf", "size": 1200, "type": "application/pdf", "from": "visitor"}
    ) == "The visitor sent a file: invoice.pdf (1200 bytes)."
    assert describe("email", {"to": "v@example.org", "status": "sent", "why": ""}) == (
        "The transcript by e-mail to v@example.org: sent."
    )
    assert describe("email", {"to": "v@example.org", "status": "failed", "why": "550 no such user"}) == (
        "The transcript by e-mail to v@example.org: could not be sent (550 no such user)."
    )


def test_a_transcript_has_the_chats_tags(chats):
    chat = chats.add(at(2026, 12, 1, 9))
    chats.store.tags.add_to_chat(chat.id, "Refund", "refund", "olive", 1)
    assert chats.history.transcript(chat.id).tags == ("Refund",)


def test_describe_knows_the_ends():
    assert describe("ended", {"by": "timeout"}) == "The visitor left."
    assert describe("missed", {"by": "timeout"}) == "Nobody answered the chat in time."
    assert describe("transfer", {}) == "Transfer"
    assert describe("later_kind", {"a": 1}) == "Later kind (a: 1)"


@pytest.mark.parametrize(
    "cell, shown",
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23", "'+33 1 23"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_cells_that_start_a_formula_are_neutralised(cell, shown):
    assert neutralised(cell) == shown


def csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return list(csv.reader(io.StringIO(buffer.getvalue())))


def test_csv_rows_in_range_and_queues_read_in_batches(chats):
    start = at(2026, 12, 1, 9)
    for n in range(5):
        chats.add(
            start + n * 60,
            queue="Sales" if n % 2 == 0 else "Support",
            taken=start + n * 60 + 12,
            ended=start + n * 60 + 100.4,
            operator="olive",
            visitor_name="=HYPERLINK(\"http://x\")" if n == 0 else f"Visitor {n}",
            visitor_email="v@example.org",
            ip="203.0.113.7",
            referrer="https://search.example/?q=shoes",
            page="https://shop.example/cart",
            messages=[
                ("message", {"from": "visitor", "text": "hi"}),
                ("message", {"from": "visitor", "text": "anyone?"}),
                ("message", {"from": "operator", "text": "yes"}),
                (
                    "transferred",
                    {"from_queue": "Sales", "to_queue": None, "from_operator": "olive", "to_operator": "=peter"},
                ),
                (
                    "transferred",
                    {"from_queue": "Sales", "to_queue": "Billing", "from_operator": "peter", "to_operator": "olive"},
                ),
            ] if n == 0 else [
                ("message", {"from": "visitor", "text": "hi"}),
                ("message", {"from": "visitor", "text": "anyone?"}),
                ("message", {"from": "operator", "text": "yes"}),
                (
                    "transferred",
                    {"from_queue": "Sales", "to_queue": None, "from_operator": "olive", "to_operator": "peter"},
                ),
            ],
        )
    chats.store.tags.add_to_chat(1, "Refund", "refund", "olive", 1)
    chats.store.tags.add_to_chat(1, "=cmd", "=cmd", "olive", 2)
    chats.store.tags.add_to_chat(3, "Shoes", "shoes", "olive", 1)
    chats.add(at(2026, 12, 2, 0, 0), queue="Sales")  # the next day
    query = Query(day("2026-12-01"), day("2026-12-01"), queues=("Sales",))
    rows = csv_text(chats.history.csv_rows(query, batch=2))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row[0] for row in rows[1:]] == ["1", "3", "5"]
    first = dict(zip(rows[0], rows[1]))
    assert first == {
        "id": "1",
        "started": "2026-12-01T09:00:00+01:00",
        "ended": "2026-12-01T09:01:40+01:00",
        "wait_s": "12",
        "duration_s": "88",
        "queue": "Sales",
        "protocol": "web",
        "state": "answered",
        "operator": "olive",
        "transferred_to": "Billing",
        "tags": "Refund; =cmd",
        "visitor_name": "'=HYPERLINK(\"http://x\")",
        "visitor_email": "v@example.org",
        "ip": "203.0.113.7",
        "referrer": "https://search.example/?q=shoes",
        "page": "https://shop.example/cart",
        "messages_visitor": "2",
        "messages_operator": "1",
    }
    second = dict(zip(rows[0], rows[2]))
    assert (second["transferred_to"], second["tags"]) == ("peter", "Shoes")
    third = dict(zip(rows[0], rows[3]))
    assert (third["transferred_to"], third["tags"]) == ("peter", "")
    tagged = Query(day("2026-12-01"), day("2026-12-01"), tag="  SHOES ")
    assert [row[0] for row in csv_text(chats.history.csv_rows(tagged))[1:]] == ["3"]
    assert [chat.id for chat in chats.history.search(tagged).chats] == [3]


def test_csv_transcript_column(chats):
    start = at(2026, 12, 1, 9)
    chats.add(start, messages=[("message", {"from": "visitor", "name": "Vera", "text": "-1 please"})])
    rows = csv_text(chats.history.csv_rows(Query(day("2026-12-01"), day("2026-12-01")), transcript=True))
    assert rows[0][-1] == "transcript"
    assert rows[1][-1] == "09:00:00 Vera: -1 please"
    waiting = csv_text(chats.history.csv_rows(Query(day("2026-12-01"), day("2026-12-01"))))
    assert dict(zip(waiting[0], waiting[1]))["state"] == "abandoned"


def test_an_unanswered_chat_has_no_duration_and_an_open_one_no_end(chats):
    start = at(2026, 12, 1, 9)
    chats.add(start, state="missed", ended=start + 120)
    chats.add(start + 1, state="waiting")
    rows = csv_text(chats.history.csv_rows(Query(day("2026-12-01"), day("2026-12-01"))))
    missed, waiting = (dict(zip(rows[0], row)) for row in rows[1:])
    assert (missed["wait_s"], missed["duration_s"], missed["state"]) == ("120", "0", "missed")
    assert (waiting["ended"], waiting["wait_s"], waiting["duration_s"]) == ("", "", "")


@pytest.mark.parametrize(
    "ip, policy, kept",
    [
        ("203.0.113.77", "keep", "203.0.113.77"),
        ("203.0.113.77", "subnet", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "subnet", "2001:db8:1234::/48"),
        ("203.0.113.77", "none", ""),
        ("not an address", "subnet", ""),
    ],
)
def test_what_is_kept_of_an_address(ip, policy, kept):
    assert masked(ip, policy) == kept


def test_zones_by_name_and_the_systems(monkeypatch):
    assert zone_named("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    monkeypatch.setenv("TZ", "America/New_York")
    assert zone_named("") == ZoneInfo("America/New_York")
    monkeypatch.setenv("TZ", "Not/AZone")
    assert system_zone().key  # falls back to /etc/localtime or UTC


def test_csv_batches_keep_chats_that_started_at_the_same_moment(chats):
    start = at(2026, 12, 1, 9)
    for _ in range(5):
        chats.add(start)
    chats.add(start + 1)
    rows = list(chats.history.csv_rows(Query(day("2026-12-01"), day("2026-12-01")), batch=2))
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "4", "5", "6"]
