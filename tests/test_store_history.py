"""
Tests for L{mcc.store.history} and the privacy rules of
L{mcc.routing.history}: what purges, anonymising, deleting and a queue's
privacy remove, checked in the database file with a connection of its own.
"""

import sqlite3
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from twisted.internet.task import Clock

from mcc.routing.history import DAY, ChatHistory, HistoryError, Query, Retention
from mcc.store import Store

PARIS = ZoneInfo("Europe/Paris")
DEC_1 = datetime(2026, 12, 1, 9, tzinfo=PARIS).timestamp()


class World:
    def __init__(self, path):
        self.path = path
        self.store = Store.open(path)
        self.clock = Clock()
        self.clock.advance(DEC_1 + 30 * DAY)
        self.history = ChatHistory(self.store, self.clock, PARIS)
        self.count = 0

    def chat(self, started, queue="Sales", state="closed", ended=None, **fields):
        self.count += 1
        chat = self.store.chats.create(
            token=f"t{self.count}",
            guest=f"g-{self.count}",
            queue=queue,
            state=state,
            created_at=started,
            closed_at=ended if ended is not None or state in ("waiting", "active") else started + 60,
            visitor_name=f"Visitor {self.count}",
            visitor_email=f"v{self.count}@example.org",
            ip="203.0.113.7",
            referrer="https://search.example/",
            page="https://shop.example/",
            user_agent="Firefox",
            question="Where is my order?",
            **fields,
        )
        self.store.chats.add_event(
            chat.id, "message", {"from": "visitor", "name": chat.visitor_name, "text": "hello"}, started
        )
        self.store.chats.add_event(chat.id, "note", {"operator": "olive", "text": "VIP"}, started, True)
        return chat

    def file(self, sql, *values):
        """
        Rows read from the database file itself.
        """
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(sql, values).fetchall()
        finally:
            conn.close()

    def chat_row(self, chat_id):
        return self.file(
            "SELECT visitor_name, visitor_email, ip, referrer, user_agent, question, queue,"
            " state, created_at, closed_at, page FROM chats WHERE id = ?",
            chat_id,
        )

    def events(self, chat_id):
        return self.file(
            "SELECT kind, json_extract(data, '$.name'), json_extract(data, '$.text')"
            " FROM chat_events WHERE chat_id = ? ORDER BY seq",
            chat_id,
        )


def result(deferred):
    """
    What C{deferred} fired with: the last batch ran already.
    """
    found = []
    deferred.addBoth(found.append)
    assert found, "the change is still running"
    if hasattr(found[0], "raiseException"):
        found[0].raiseException()
    return found[0]


@pytest.fixture
def world(tmp_path):
    made = World(tmp_path / "mcc.sqlite")
    yield made
    made.store.close()


def day(text):
    return date.fromisoformat(text)


def test_purge_removes_old_transcripts_and_nothing_else(world):
    old = world.chat(DEC_1, ended=DEC_1 + 60)
    recent = world.chat(DEC_1 + 25 * DAY, ended=DEC_1 + 25 * DAY + 60)
    still_open = world.chat(DEC_1, state="active")
    world.history.set_transcript_days(10)
    before = {chat.id: world.chat_row(chat.id) for chat in (old, recent, still_open)}
    assert result(world.history.purge()) == 1
    assert world.events(old.id) == []
    after = world.chat_row(old.id)[0]
    assert after[5] == "" and after[:5] == before[old.id][0][:5] and after[6:] == before[old.id][0][6:]
    assert after[10] == "https://shop.example/"
    assert world.file("SELECT transcript_removed_at FROM chats WHERE id = ?", old.id) == [
        (world.clock.seconds(),)
    ]
    for kept in (recent, still_open):
        assert world.chat_row(kept.id) == before[kept.id]
        assert len(world.events(kept.id)) == 2
    assert result(world.history.purge()) == 0


def test_without_a_retention_nothing_is_purged(world):
    world.chat(DEC_1)
    assert result(world.history.purge()) == 0
    assert world.file("SELECT count(*) FROM chat_events") == [(2,)]


def test_retention_purges_at_start_and_then_daily_on_the_clock(world):
    world.history.set_transcript_days(10)
    service = Retention(world.history, world.clock)
    world.chat(DEC_1, ended=DEC_1)
    service.startService()
    try:
        assert world.file("SELECT count(*) FROM chat_events") == [(0,)]
        late = world.chat(world.clock.seconds() - 9.5 * DAY, ended=world.clock.seconds() - 9.5 * DAY)
        world.clock.advance(DAY / 4)
        assert len(world.events(late.id)) == 2
        world.clock.advance(DAY)
        assert world.events(late.id) == []
    finally:
        service.stopService()


@pytest.mark.parametrize("days", [0, -1, 36501])
def test_retention_days_have_bounds(world, days):
    with pytest.raises(HistoryError, match="from 1 to 36500 days"):
        world.history.set_transcript_days(days)


def test_anonymise_forgets_the_visitors_of_the_range_and_keeps_what_was_said(world):
    inside = world.chat(DEC_1)
    other_queue = world.chat(DEC_1, queue="Support")
    other_day = world.chat(DEC_1 + DAY)
    still_open = world.chat(DEC_1, state="waiting")
    before = {
        chat.id: (world.chat_row(chat.id), world.events(chat.id)) for chat in (other_queue, other_day, still_open)
    }
    query = Query(day("2026-12-01"), day("2026-12-01"), queues=("Sales",))
    assert world.history.ended_count(query) == 1
    assert result(world.history.anonymise(query)) == 1
    assert world.chat_row(inside.id) == [
        ("", "", "", "", "", "Where is my order?", "Sales", "closed", DEC_1, DEC_1 + 60, "")
    ]
    assert world.events(inside.id) == [("message", "", "hello"), ("note", None, "VIP")]
    for chat_id, (row, events) in before.items():
        assert (world.chat_row(chat_id), world.events(chat_id)) == (row, events)


def test_delete_removes_the_chats_of_the_range_with_their_events_only(world):
    inside = world.chat(DEC_1)
    kept = [world.chat(DEC_1, queue="Support"), world.chat(DEC_1 + DAY), world.chat(DEC_1, state="active")]
    query = Query(day("2026-12-01"), day("2026-12-01"), queues=("Sales",))
    assert result(world.history.delete(query)) == 1
    assert world.chat_row(inside.id) == [] and world.events(inside.id) == []
    assert [row[0] for row in world.file("SELECT id FROM chats ORDER BY id")] == [c.id for c in kept]
    assert world.file("SELECT count(*) FROM chat_events") == [(6,)]


def test_a_queue_that_keeps_no_transcripts_and_a_subnet_of_addresses(world):
    sales = world.store.queues.add("Sales", "", now=0)
    world.store.queues.add("Support", "", now=0)
    world.history.set_privacy(sales.id, False, "subnet")
    assert [(q.name, keep, ips) for q, keep, ips in world.history.privacy()] == [
        ("Sales", False, "subnet"),
        ("Support", True, "keep"),
    ]
    private = world.chat(DEC_1)
    public = world.chat(DEC_1, queue="Support")
    world.history.chat_finished(private)
    world.history.chat_finished(public)
    assert world.events(private.id) == []
    assert world.chat_row(private.id)[0][2] == "203.0.113.0/24"
    assert world.chat_row(private.id)[0][5] == ""
    assert len(world.events(public.id)) == 2
    assert world.chat_row(public.id)[0][2] == "203.0.113.7"


def test_a_queue_that_keeps_no_addresses(world):
    sales = world.store.queues.add("Sales", "", now=0)
    world.history.set_privacy(sales.id, True, "none")
    chat = world.chat(DEC_1)
    world.history.chat_finished(chat)
    assert world.chat_row(chat.id)[0][2] == ""
    assert len(world.events(chat.id)) == 2


def test_an_address_policy_is_one_of_three(world):
    sales = world.store.queues.add("Sales", "", now=0)
    with pytest.raises(HistoryError, match="keep, subnet, none"):
        world.history.set_privacy(sales.id, True, "hash")


def test_the_chat_router_tells_the_history_when_a_chat_ends(world):
    from mcc.routing.availability import Availability
    from mcc.routing.chats import ChatService, Timeouts, Visitor
    from tests.test_routing_chats import RecordingChannel

    sales = world.store.queues.add("Sales", "", now=0)
    world.history.set_privacy(sales.id, False, "none")
    world.store.users.add("ann", "pw", now=0)
    availability = Availability()
    availability.resource_available("ann", "desk")
    router = ChatService(
        world.store, availability, lambda name: ["ann"], world.clock, lambda: "x" * 24,
        Timeouts(answer=60, visitor=90, poll=25, reconnect=30), RecordingChannel(),
    )
    router.on_finished.append(world.history.chat_finished)
    chat = router.start(Visitor(name="Vera", question="hi", ip="198.51.100.4"), queue="Sales")
    router.visitor_ends(chat.token)
    assert world.events(chat.id) == []
    assert world.chat_row(chat.id)[0][2] == ""


def test_privacy_applies_inside_a_transaction_already_open(world):
    sales = world.store.queues.add("Sales", "", now=0)
    world.history.set_privacy(sales.id, False, "none")
    chat = world.chat(DEC_1)
    with world.store.transaction():
        world.history.chat_finished(chat)
    assert world.events(chat.id) == []


def test_a_failed_removal_changes_nothing(world):
    chat = world.chat(DEC_1)
    with pytest.raises(sqlite3.OperationalError):
        world.store.history.remove_transcripts("no_such_column = 1", [], 0)
    assert len(world.events(chat.id)) == 2
    assert world.store.history._conn.in_transaction is False


def turn(clock):
    """
    Run what is due on C{clock} now, not what that schedules: one turn.
    """
    due = list(clock.getDelayedCalls())
    for call in due:
        clock.calls.remove(call)
        call.func(*call.args, **call.kw)


class RecordingFiles:
    """
    Stands for L{ChatFiles}: which chats' files went.
    """

    def __init__(self):
        self.deleted = []

    def delete_files(self, chat_id):
        self.deleted.append(chat_id)
        return 0


def test_purge_deletes_the_files_of_the_transcripts_it_removes(world):
    world.history.files = RecordingFiles()
    old = world.chat(DEC_1, ended=DEC_1 + 60)
    world.chat(DEC_1 + 25 * DAY, ended=DEC_1 + 25 * DAY + 60)
    world.chat(DEC_1, state="active")
    world.history.set_transcript_days(10)
    assert result(world.history.purge()) == 1
    assert world.history.files.deleted == [old.id]


def test_delete_deletes_the_files_of_the_chats(world):
    world.history.files = RecordingFiles()
    inside = world.chat(DEC_1)
    world.chat(DEC_1, queue="Support")
    assert result(world.history.delete(Query(day("2026-12-01"), day("2026-12-01"), queues=("Sales",)))) == 1
    assert world.history.files.deleted == [inside.id]


def test_a_queue_that_keeps_no_transcripts_deletes_their_files(world):
    world.history.files = RecordingFiles()
    sales = world.store.queues.add("Sales", "", now=0)
    world.history.set_privacy(sales.id, False, "keep")
    chat = world.chat(DEC_1)
    world.history.chat_finished(chat)
    assert world.history.files.deleted == [chat.id]


@pytest.mark.parametrize("action", ["purge", "delete", "anonymise"])
def test_large_changes_run_in_batches_between_turns_and_count_exactly(world, action):
    made = [world.chat(DEC_1 + n, ended=DEC_1 + 60) for n in range(7)]
    world.chat(DEC_1, state="active")
    world.history.set_transcript_days(10)
    query = Query(day("2026-12-01"), day("2026-12-01"))
    running = (
        world.history.purge(batch=3)
        if action == "purge"
        else getattr(world.history, action)(query, batch=3)
    )
    found = []
    running.addCallback(found.append)
    assert found == []
    touched = {
        "purge": "SELECT count(*) FROM chats WHERE transcript_removed_at IS NOT NULL",
        "delete": "SELECT 8 - count(*) FROM chats",
        "anonymise": "SELECT count(*) FROM chats WHERE visitor_name = ''",
    }[action]
    assert world.file(touched) == [(3,)]
    turn(world.clock)
    assert world.file(touched) == [(6,)] and found == []
    turn(world.clock)
    assert found == [len(made)] and world.clock.getDelayedCalls() == []
    assert world.file(touched) == [(7,)]
    assert world.file("SELECT count(*) FROM chats WHERE state = 'active' AND visitor_name != ''") == [(1,)]


def test_csv_rows_read_in_threads_through_read_only_connections_of_their_own(tmp_path):
    import itertools
    import threading

    from mcc.store import HistoryReaders

    world = World(tmp_path / "mcc.sqlite")
    try:
        for n in range(7):
            world.chat(DEC_1 + n, queue="Sales" if n % 2 else "Support")
        readers = HistoryReaders(world.path)
        history = ChatHistory(world.store, world.clock, PARIS, readers=readers, run_in_thread=print)
        assert history.threaded and not ChatHistory(world.store, world.clock, PARIS).threaded
        query = Query(date(2026, 12, 1), date(2026, 12, 1))
        expected = list(history.csv_rows(query, transcript=True, batch=3))
        rows = history.csv_rows(query, transcript=True, batch=3, in_thread=True)
        read, readers_seen = [], []

        def advance():
            readers_seen.append(readers())
            read.extend(itertools.islice(rows, 2))

        # Each batch is read by whichever thread asks for it.
        while len(read) < len(expected):
            thread = threading.Thread(target=advance)
            thread.start()
            thread.join()
        assert read == expected and len(expected) == 8
        # One connection per thread (those kept here cannot be freed).
        assert len({id(seen) for seen in readers_seen}) == 4
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            readers()._conn.execute("DELETE FROM chats")
        assert world.file("SELECT count(*) FROM chats") == [(7,)]
    finally:
        world.store.close()


def test_the_operators_of_any_chat_once_each_in_order(tmp_path):
    world = World(tmp_path / "mcc.sqlite")
    try:
        assert world.history.operators() == []
        for operator in ("olive", None, "bob", "olive", "Zed", "bob", None, "amy"):
            world.chat(DEC_1, operator=operator)
        assert world.history.operators() == ["Zed", "amy", "bob", "olive"]
        plan = world.file(
            "EXPLAIN QUERY PLAN SELECT min(operator) FROM chats WHERE operator > ?", "amy"
        )
        assert any("chats_by_operator" in step[-1] for step in plan)
    finally:
        world.store.close()
