"""
Tests for the summary columns each chat keeps of its events (step 15 of
L{mcc.store.schema}, written by L{mcc.store.chats.Chats.add_event}): the
visitor's and operators' messages, the first operator answer, the
transfers and where the last one went; through the chat service, a
restart, and the backfill of a database made before them.
"""

import itertools
import random
import sqlite3

import pytest
from twisted.internet.task import Clock

from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts, Visitor
from mcc.routing.history import ChatHistory, Query
from mcc.routing.zones import system_zone
from mcc.store import Store, schema
from mcc.store.reports import ChatFilter, ReportQueries
from tests.test_routing_chats import RecordingChannel

SUMMARY = "messages_visitor, messages_operator, first_response_at, transfers, transferred_to"
QUEUES = {"sales": ["ann", "bob"], "billing": ["bob"]}


def summary(store, chat_id):
    return store.db.conn.execute(f"SELECT {SUMMARY} FROM chats WHERE id = ?", (chat_id,)).fetchone()


def recomputed(store):
    """
    Every chat's summary as the backfill computes it from the events,
    without changing the store's own.
    """
    conn = store.db.conn
    conn.execute("SAVEPOINT recompute")
    try:
        conn.execute(
            "UPDATE chats SET messages_visitor = 0, messages_operator = 0,"
            " first_response_at = NULL, transfers = 0, transferred_to = ''"
        )
        schema.backfill_summaries(conn)
        return conn.execute(f"SELECT id, {SUMMARY} FROM chats ORDER BY id").fetchall()
    finally:
        conn.execute("ROLLBACK TO recompute")
        conn.execute("RELEASE recompute")


def kept(store):
    return store.db.conn.execute(f"SELECT id, {SUMMARY} FROM chats ORDER BY id").fetchall()


@pytest.fixture
def store():
    opened = Store.open(":memory:")
    yield opened
    opened.close()


def new_chat(store, number=1):
    return store.chats.create(
        token=f"t{number}", guest=f"g{number}", queue="sales", state="waiting", created_at=100
    )


def test_a_new_chat_has_nothing_to_count(store):
    chat = new_chat(store)
    assert summary(store, chat.id) == (0, 0, None, 0, "")


def test_messages_count_by_who_wrote_them_and_notes_do_not(store):
    chat = new_chat(store)
    add = store.chats.add_event
    add(chat.id, "message", {"from": "visitor", "name": "Vi", "text": "hello"}, 101)
    add(chat.id, "picked_up", {"operator": "Ann"}, 102)
    add(chat.id, "message", {"from": "operator", "name": "Ann", "text": "hi"}, 105)
    add(chat.id, "note", {"operator": "bob", "text": "VIP"}, 106, internal=True)
    add(chat.id, "typing", {"from": "visitor"}, 107)
    add(chat.id, "file", {"from": "visitor", "name": "a.png", "size": 3}, 108)
    add(chat.id, "message", {"from": "visitor", "name": "Vi", "text": "thanks"}, 109)
    add(chat.id, "message", {"from": "operator", "name": "Ann", "text": "bye"}, 110)
    # Counted as the CSV always counted them: by kind and sender, internal or not.
    add(chat.id, "message", {"from": "operator", "name": "Ann", "text": "aside"}, 111, internal=True)
    add(chat.id, "message", {"text": "nobody's"}, 112)
    assert summary(store, chat.id) == (2, 3, 105, 0, "")
    assert kept(store) == recomputed(store)


def test_the_first_response_is_the_earliest_operator_message(store):
    chat = new_chat(store)
    store.chats.add_event(chat.id, "message", {"from": "operator", "text": "late"}, 130)
    store.chats.add_event(chat.id, "message", {"from": "operator", "text": "early"}, 120)
    assert summary(store, chat.id)[2] == 120
    assert kept(store) == recomputed(store)


def test_transfers_count_each_and_keep_where_the_last_went(store):
    chat = new_chat(store)
    add = store.chats.add_event
    add(
        chat.id, "transferred",
        {"from_queue": "sales", "to_queue": None, "from_operator": "ann", "to_operator": "bob"}, 101,
    )
    assert summary(store, chat.id)[3:] == (1, "bob")
    add(
        chat.id, "transferred",
        {"from_queue": "sales", "to_queue": "billing", "from_operator": "bob", "to_operator": "cyd"}, 102,
    )
    assert summary(store, chat.id)[3:] == (2, "billing")
    add(
        chat.id, "transferred",
        {"from_queue": "billing", "to_queue": "", "from_operator": None, "to_operator": None}, 103,
    )
    assert summary(store, chat.id)[3:] == (3, "")
    add(chat.id, "transfer_offered", {"by": "ann", "from": "ann", "queue": "billing"}, 104, internal=True)
    assert summary(store, chat.id)[3:] == (3, "")
    assert kept(store) == recomputed(store)


def test_an_event_refused_changes_no_count(store):
    chat = new_chat(store)
    store.chats.add_event(chat.id, "message", {"from": "visitor", "text": "once"}, 101, message_id="m-1")
    with pytest.raises(sqlite3.IntegrityError):
        store.chats.add_event(chat.id, "message", {"from": "visitor", "text": "again"}, 102, message_id="m-1")
    assert summary(store, chat.id) == (1, 0, None, 0, "")
    assert store.chats.last_seq(chat.id) == 1


def test_counts_go_on_after_the_store_is_opened_again(tmp_path):
    path = tmp_path / "mcc.sqlite"
    first = Store.open(path)
    chat = new_chat(first)
    first.chats.add_event(chat.id, "message", {"from": "visitor", "text": "hello"}, 101)
    first.chats.add_event(chat.id, "message", {"from": "operator", "text": "hi"}, 102)
    first.close()
    again = Store.open(path)
    try:
        again.chats.add_event(chat.id, "message", {"from": "visitor", "text": "still there?"}, 103)
        again.chats.add_event(chat.id, "message", {"from": "operator", "text": "yes"}, 104)
        assert summary(again, chat.id) == (2, 2, 102, 0, "")
    finally:
        again.close()


@pytest.fixture
def world():
    store = Store.open(":memory:")
    for name in ("ann", "bob"):
        store.users.add(name, "pw", now=0, display_name=name.title())
    clock = Clock()
    clock.advance(1000)
    availability = Availability()
    counter = itertools.count()
    service = ChatService(
        store,
        availability,
        QUEUES.__getitem__,
        clock,
        lambda: f"{next(counter):04d}tok" + "x" * 28,
        Timeouts(answer=60, visitor=90, poll=25, reconnect=20),
    )
    service.channel = RecordingChannel()
    service.startService()
    yield service, availability, clock
    store.close()


def test_the_chat_service_keeps_the_counts_through_notes_transfers_and_a_restart(world):
    service, availability, clock = world
    store = service.store
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "desk")
    chat = service.start(Visitor(name="Vi", question="Hello?"), queue="sales")
    clock.advance(5)
    service.operator_says(chat.guest, "ann", "Hi, Ann here")
    clock.advance(1)
    # Bob did not take it: what he writes is a note the visitor never sees.
    service.operator_says(chat.guest, "bob", "Bob here")
    service.visitor_says(chat.token, "My order?")
    assert summary(store, chat.id) == (2, 1, 1005, 0, "")

    service.stopService()
    clock.advance(10)
    service.startService()
    availability.resource_available("ann", "desk")
    service.visitor_says(chat.token, "Still there?")
    clock.advance(2)
    service.operator_says(chat.guest, "ann", "Yes")
    assert summary(store, chat.id) == (3, 2, 1005, 0, "")

    waiting = service.start(Visitor(name="Wu"), queue="sales")
    service.transfer(store.chats.by_id(waiting.id), "ann", "Ann", "Billing", "", queue="billing")
    assert summary(store, waiting.id) == (0, 0, None, 1, "billing")
    assert kept(store) == recomputed(store)

    rows = list(ChatHistory(store, clock, system_zone()).csv_rows(
        Query(service_day(store, clock), service_day(store, clock))
    ))
    header = rows[0]
    by_id = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert (by_id[str(chat.id)]["messages_visitor"], by_id[str(chat.id)]["messages_operator"]) == ("3", "2")
    assert by_id[str(waiting.id)]["transferred_to"] == "billing"


def service_day(store, clock):
    return ChatHistory(store, clock, system_zone()).local(clock.seconds()).date()


def test_the_step_fills_the_counts_of_chats_stored_before_it(tmp_path, monkeypatch):
    path = tmp_path / "mcc.sqlite"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:14])
    old = Store.open(path)
    conn = old.db.conn
    # Raw SQL: the store's own queries name the columns of later steps.
    for number in (1, 2, 3):
        conn.execute(
            "INSERT INTO chats (id, token, guest, queue, state, created_at) VALUES (?, ?, ?, 'sales', 'closed', 100)",
            (number, f"t{number}", f"g{number}"),
        )
    events = [
        (1, 1, "message", '{"from": "visitor", "text": "hello"}', 0, 101),
        (1, 2, "message", '{"from": "operator", "text": "hi"}', 0, 104),
        (1, 3, "note", '{"operator": "bob", "text": "VIP"}', 1, 105),
        (1, 4, "message", '{"from": "operator", "text": "aside"}', 1, 103),
        (1, 5, "message", '{"from": "visitor", "text": "bye"}', 0, 106),
        (1, 6, "message", '{"text": "nobody"}', 0, 107),
        (2, 1, "transferred", '{"from_queue": "sales", "to_queue": null, "to_operator": "bob"}', 0, 101),
        (2, 2, "transferred", '{"from_queue": "sales", "to_queue": "billing", "to_operator": "cyd"}', 0, 102),
        (2, 3, "message", '{"from": "visitor", "text": "hello"}', 0, 103),
    ]
    conn.executemany(
        "INSERT INTO chat_events (chat_id, seq, kind, data, internal, at) VALUES (?, ?, ?, ?, ?, ?)", events
    )
    conn.commit()
    old.close()
    monkeypatch.undo()

    new = Store.open(path)
    try:
        assert new.db.conn.execute("SELECT version FROM schema_version").fetchone()[0] == len(schema.MIGRATIONS)
        assert summary(new, 1) == (2, 2, 103, 0, "")
        assert summary(new, 2) == (1, 0, None, 2, "billing")
        assert summary(new, 3) == (0, 0, None, 0, "")
        assert new.db.conn.execute("SELECT count(*) FROM chat_events").fetchone() == (len(events),)
        new.chats.add_event(2, "message", {"from": "operator", "text": "later"}, 110)
        assert summary(new, 2) == (1, 1, 110, 2, "billing")
    finally:
        new.close()


def test_the_counts_stay_when_the_transcript_goes(store):
    chat = new_chat(store)
    store.chats.add_event(chat.id, "message", {"from": "visitor", "text": "hello"}, 101)
    store.chats.add_event(chat.id, "message", {"from": "operator", "text": "hi"}, 102)
    store.chats.add_event(chat.id, "transferred", {"to_queue": "billing"}, 103)
    store.chats.finish(chat.id, "closed", "visitor", 110)
    assert store.history.remove_transcript(chat.id, 200) == 1
    assert store.chats.last_seq(chat.id) == 0
    assert summary(store, chat.id) == (1, 1, 102, 1, "billing")


def test_medians_and_percentiles_are_those_of_the_sorted_values(store):
    """
    The reports rank each group's values from per-second counts: the
    figures are still exactly those of sorting every value.
    """
    rng = random.Random(7)
    waits = {"sales": [], "billing": [], None: []}
    for number in range(1, 1201):
        queue = rng.choice(list(waits))
        wait = rng.choice([rng.expovariate(1 / 30), rng.uniform(0, 3), 5.0, round(rng.uniform(0, 900), 1)])
        store.db.conn.execute(
            "INSERT INTO chats (token, guest, queue, state, operator, created_at, picked_up_at, closed_at)"
            " VALUES (?, ?, ?, 'closed', 'ann', 1000, ?, ?)",
            (f"t{number}", f"g{number}", queue, 1000 + wait, 1000 + wait + 60),
        )
        waits[queue].append((1000 + wait) - 1000)
    found = ReportQueries(store.db.conn).by_queue(ChatFilter(0, 2000))
    for queue, values in waits.items():
        values.sort()
        n = len(values)
        spread = found[queue]["wait"]
        assert (spread.n, spread.min, spread.max) == (n, values[0], values[-1])
        assert spread.median == (values[(n + 1) // 2 - 1] + values[n // 2]) / 2
        assert spread.p90 == values[(9 * n + 9) // 10 - 1]
