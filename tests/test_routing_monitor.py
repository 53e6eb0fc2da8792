"""
Tests for L{mcc.routing.monitor}: what the live monitor shows and when its
watchers hear of a change, with the chat router on a hand-driven clock.
"""

import itertools

import pytest
from twisted.internet.task import Clock

from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts, Visitor
from mcc.routing.monitor import LATE_WAIT, LiveMonitor, elapsed
from mcc.store import Store
from tests.test_routing_chats import RecordingChannel

TIMEOUT = 25.0


class World:
    def __init__(self):
        self.store = Store.open(":memory:")
        for name in ("ann", "bob"):
            self.store.users.add(name, "pw", now=0, display_name=name.title())
        sales = self.store.queues.add("Sales", "", now=0)
        self.store.queues.add("Support", "", now=0)
        self.store.queues.set_operators(sales.id, ["ann", "bob"])
        self.clock = Clock()
        self.clock.advance(1000)
        self.availability = Availability()
        counter = itertools.count()
        self.chats = ChatService(
            self.store,
            self.availability,
            lambda name: list(self.store.queues.named(name).operators),
            self.clock,
            lambda: f"{next(counter):04d}tok" + "x" * 28,
            Timeouts(answer=120, visitor=90, poll=25, reconnect=30),
            RecordingChannel(),
        )
        self.monitor = LiveMonitor(self.store, self.availability, self.clock, TIMEOUT)
        self.chats.on_changed.append(self.monitor.chat_changed)

    def queue(self, name):
        return next(queue for queue in self.monitor.snapshot().queues if queue.name == name)


@pytest.fixture
def world():
    made = World()
    yield made
    made.store.close()


def test_operators_online_per_queue_with_the_chats_they_hold(world):
    world.availability.resource_available("ann", "desk")
    first = world.chats.start(Visitor(name="Vera", question="hello"), queue="Sales")
    world.chats.start(Visitor(name="Walt"), queue="Sales")
    world.clock.advance(30)
    world.chats.operator_says(first.guest, "ann", "Hi Vera")
    world.clock.advance(5)
    sales = world.queue("Sales")
    assert [(o.username, o.name, o.status, o.holding) for o in sales.operators] == [("ann", "Ann", "available", 1)]
    assert [(c.visitor, c.state, c.operator, c.protocol, c.since, c.last_message) for c in sales.chats] == [
        ("Vera", "active", "Ann", "web", 1030, 1030),
        ("Walt", "waiting", "", "web", 1000, None),
    ]
    assert world.queue("Support").chats == []


def test_a_waiting_chat_is_late_past_the_threshold(world):
    world.availability.resource_available("ann", "desk")
    world.chats.start(Visitor(name="Vera"), queue="Sales")
    world.clock.advance(LATE_WAIT - 1)
    snapshot = world.monitor.snapshot()
    (chat,) = world.queue("Sales").chats
    assert not snapshot.late(chat)
    world.clock.advance(1)
    snapshot = world.monitor.snapshot()
    assert snapshot.late(snapshot.queues[0].chats[0])


def test_ended_chats_leave_the_monitor(world):
    world.availability.resource_available("ann", "desk")
    chat = world.chats.start(Visitor(name="Vera"), queue="Sales")
    world.chats.visitor_ends(chat.token)
    assert world.queue("Sales").chats == []


def test_watchers_hear_of_a_new_chat_a_pick_up_and_presence_at_once(world):
    heard = []
    world.monitor.wait(world.monitor.version).addCallback(heard.append)
    assert heard == []
    world.availability.resource_available("ann", "desk")
    assert heard == [1]
    world.monitor.wait(heard[-1]).addCallback(heard.append)
    chat = world.chats.start(Visitor(name="Vera"), queue="Sales")
    assert len(heard) == 2
    world.monitor.wait(heard[-1]).addCallback(heard.append)
    world.chats.operator_says(chat.guest, "ann", "hello")
    assert len(heard) == 3
    assert world.queue("Sales").chats[0].state == "active"


def test_a_watcher_behind_hears_at_once_and_one_up_to_date_after_the_timeout(world):
    world.availability.resource_available("ann", "desk")
    heard = []
    world.monitor.wait(0).addCallback(heard.append)
    assert heard == [1]
    world.monitor.wait(1).addCallback(heard.append)
    world.clock.advance(TIMEOUT)
    assert heard == [1, 1]


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (59.9, "59 s"), (200, "3 min 20 s"), (3900, "1 h 05 min")])
def test_elapsed(seconds, text):
    assert elapsed(seconds) == text
