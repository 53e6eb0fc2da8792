"""
Tests for the running totals of the Reports tab (L{mcc.store.report_totals}):
over generated histories, with transfers, tags, deletions, anonymised and
purged chats and several time zones, every report read from the totals
equals the same report counted chat by chat.
"""

import datetime
import random
from zoneinfo import ZoneInfo

import pytest

from mcc.routing.reports import ReportRequest
from mcc.store import Store, report_totals
from mcc.store.reports import ABANDONED, ANSWERED, MISSED, ChatByChatQueries, ReportQueries

QUEUES = ("Support", "Sales", "Billing", None)
OPERATORS = ("olive", "bob", "cyd")
TAGS = ("Fines", "renewals", "VIP")
START = datetime.datetime(2025, 3, 20, tzinfo=datetime.UTC).timestamp()
ZONES = (
    "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "America/St_Johns",
    "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Kiritimati",
)


def generate(store, rng, chats=300):
    """
    C{chats} chats over three weeks around the clock change in Europe and
    Lord Howe's, written through the store as the router writes them, some
    then tagged, transferred, requeued, deleted, anonymised or purged.
    """
    ids = []
    for number in range(chats):
        begun = START + rng.random() * 21 * 86400
        chat = store.chats.create(
            token=f"t{number}", guest=f"g{number}", queue=rng.choice(QUEUES),
            target_user=None, protocol=rng.choice(("web", "sms", "xmpp")), state="waiting",
            created_at=begun,
        )
        ids.append(chat.id)
        fate = rng.random()
        now = begun + rng.random() * 90
        if fate < 0.7:
            operator = rng.choice(OPERATORS)
            store.chats.claim(chat.id, operator, operator.title(), now)
            if rng.random() < 0.2:
                store.chats.requeue(chat.id)
                operator = rng.choice(OPERATORS)
                store.chats.claim(chat.id, operator, operator.title(), now + 3.3)
            # Tagged before a transfer hands the chat over, or requeued.
            for tag in rng.sample(TAGS, rng.randrange(3)):
                store.tags.add_to_chat(chat.id, tag, tag.casefold(), "olive", now)
            if rng.random() < 0.1:
                store.chats.requeue(chat.id)
            for _ in range(rng.randrange(3)):
                now += rng.random() * 60
                store.chats.add_event(
                    chat.id, "message", {"from": "operator", "name": operator, "text": "hi"}, now
                )
            if rng.random() < 0.3:
                target = rng.choice(OPERATORS)
                to_queue = rng.choice(QUEUES)
                store.chats.add_event(
                    chat.id, "transferred",
                    {"from_queue": chat.queue if rng.random() < 0.8 else None, "to_queue": to_queue,
                     "from_operator": operator, "to_operator": target},
                    now,
                )
                store.chats.hand_over(chat.id, operator, target, target.title(), to_queue, None)
            if rng.random() < 0.9:
                store.chats.finish(chat.id, "closed", "operator", now + rng.expovariate(1 / 300))
            if rng.random() < 0.1:  # Written last: no change to the chat follows.
                store.chats.add_event(
                    chat.id, "transferred", {"from_queue": "Sales", "to_operator": "cyd"}, now
                )
        elif fate < 0.85:
            store.chats.finish(chat.id, "missed", "timeout", begun + 120)
        elif fate < 0.95:
            store.chats.finish(chat.id, "closed", "visitor", begun + rng.random() * 50)
        # else: still waiting.
    chosen = rng.sample(ids, len(ids) // 10)
    store.history.delete_ended(chosen[: len(chosen) // 3])
    store.history.anonymise_ended(chosen[len(chosen) // 3 : 2 * len(chosen) // 3])
    store.history.remove_transcripts_of(chosen[2 * len(chosen) // 3 :], START + 30 * 86400)
    for chat_id in rng.sample(ids, 10):
        store.tags.remove_from_chat(chat_id, "vip")
    # Nothing in mcc changes a transfer or a chat's tag in place; the
    # totals would follow if something did.
    conn = store.db.conn
    conn.execute(
        "UPDATE chat_events SET data = json_set(data, '$.to_operator', 'dee')"
        " WHERE kind = 'transferred' AND chat_id % 3 = 0"
    )
    conn.execute(
        "UPDATE chat_tags SET tag_id = (SELECT id FROM tags WHERE folded = 'vip')"
        " WHERE rowid IN (SELECT min(rowid) FROM chat_tags GROUP BY chat_id)"
        " AND chat_id % 4 = 0 AND chat_id NOT IN"
        " (SELECT chat_id FROM chat_tags JOIN tags ON tags.id = tag_id WHERE folded = 'vip')"
    )
    store.tags.merge("renewals", "fines")
    store.tags.rename("fines", "Fines and fees", "fines and fees")
    store.db.conn.commit()


def requests(rng):
    for zone in ZONES:
        for _ in range(4):
            first = datetime.date(2025, 3, 18) + datetime.timedelta(days=rng.randrange(10))
            last = first + datetime.timedelta(days=rng.randrange(20))
            queues = tuple(sorted(rng.sample([q for q in QUEUES if q], rng.randrange(3))))
            status = rng.choice(("", ANSWERED, MISSED, ABANDONED))
            yield ReportRequest(first, last, ZoneInfo(zone), queues, status)
        # Days of March, then the whole of April from its monthly totals.
        yield ReportRequest(datetime.date(2025, 3, 25), datetime.date(2025, 4, 30), ZoneInfo(zone))
        yield ReportRequest(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31), ZoneInfo(zone))


def answers(queries, request):
    chat_filter, shifts = request.chat_filter(), request.shifts()
    return {
        "hours": queries.by_weekday_and_hour(chat_filter, shifts),
        "months": queries.by_month(chat_filter, shifts),
        "protocols": queries.by_protocol(chat_filter),
        "queues": queries.by_queue(chat_filter),
        "operators": queries.by_operator(chat_filter),
    }


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "mcc.sqlite")
    yield store
    store.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_totals_give_what_counting_chat_by_chat_gives(store, seed):
    rng = random.Random(seed)
    generate(store, rng)
    totals = ReportQueries(store.db.conn)
    chat_by_chat = ChatByChatQueries(store.db.conn)
    compared = 0
    for request in requests(rng):
        found = answers(totals, request)
        assert found == answers(chat_by_chat, request), request
        compared += sum(map(bool, found.values()))
    assert compared > 100  # Most requests found chats.


def table(conn, totals):
    rows = conn.execute(
        f"SELECT {', '.join(totals.columns)} FROM {totals.table} WHERE {totals.values[0][0]} != 0"
    )
    return sorted(rows.fetchall(), key=repr)


def test_the_triggers_leave_the_totals_that_a_rebuild_makes(store):
    generate(store, random.Random(4))
    conn = store.db.conn
    kept = {totals.table: table(conn, totals) for totals in report_totals.TABLES}
    assert all(kept.values())
    report_totals.rebuild(conn)
    assert {totals.table: table(conn, totals) for totals in report_totals.TABLES} == kept
    assert conn.execute("SELECT count(*) FROM report_days WHERE chats < 0").fetchone() == (0,)


def test_a_bulk_load_fills_the_totals_once_it_is_done(store):
    conn = store.db.conn
    with report_totals.bulk_load(conn):
        conn.execute(
            "INSERT INTO chats (token, guest, queue, state, created_at, picked_up_at, operator)"
            " VALUES ('t', 'g', 'Sales', 'active', ?, ?, 'bob')",
            (START, START + 7.5),
        )
        assert conn.execute("SELECT count(*) FROM report_days").fetchone() == (0,)
    assert conn.execute("SELECT chats, waits, wait_us FROM report_days").fetchall() == [
        (1, 1, 7_500_000)
    ]
    store.chats.finish(1, "closed", "operator", START + 60)  # The triggers are back.
    assert conn.execute("SELECT durations FROM report_days").fetchall() == [(1,)]


def test_reports_read_the_totals_and_fall_back_where_they_cannot_answer(store):
    """
    Spoil the totals: the reports that read them change, those that count
    chat by chat (a minimum duration; the hours of the day in a zone half an
    hour off UTC) do not.
    """
    generate(store, random.Random(5))
    for totals in report_totals.TABLES:
        first = totals.values[0][0]
        store.db.conn.execute(f"UPDATE {totals.table} SET {first} = {first} + 1")
    totals = ReportQueries(store.db.conn)
    chat_by_chat = ChatByChatQueries(store.db.conn)
    year = ReportRequest(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31), ZoneInfo("UTC"))
    assert totals.by_protocol(year.chat_filter()) != chat_by_chat.by_protocol(year.chat_filter())
    shifts = year.shifts()
    assert totals.by_month(year.chat_filter(), shifts) != chat_by_chat.by_month(
        year.chat_filter(), shifts
    )
    longer = ReportRequest(year.first, year.last, year.zone, min_duration=60)
    assert answers(totals, longer) == answers(chat_by_chat, longer)
    india = ReportRequest(year.first, year.last, ZoneInfo("Asia/Kolkata"))
    assert totals.by_weekday_and_hour(india.chat_filter(), india.shifts()) == (
        chat_by_chat.by_weekday_and_hour(india.chat_filter(), india.shifts())
    )
    # Months read the hours that fall within one month in any zone.
    assert totals.by_month(india.chat_filter(), india.shifts()) != chat_by_chat.by_month(
        india.chat_filter(), india.shifts()
    )
