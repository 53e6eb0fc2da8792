"""
Tests for L{mcc.routing.queues}: the rules for queues above the store.
"""

import pytest
from twisted.internet.task import Clock

from mcc.routing.queues import QueueError, Queues
from mcc.store import DuplicateQueue, Store, UnknownQueue, UnknownUser


@pytest.fixture
def store():
    store = Store.open(":memory:")
    store.users.add("olive", "pw", now=0)
    store.users.add("bob", "pw", now=0)
    yield store
    store.close()


@pytest.fixture
def queues(store):
    clock = Clock()
    clock.advance(1000)
    return Queues(store, clock)


def test_create_trims_and_stamps(queues, store):
    queue = queues.create("  Sales ", " People who buy \n")
    assert (queue.name, queue.description, queue.operators) == ("Sales", "People who buy", ())
    created_at = store.db.conn.execute("SELECT created_at FROM queues").fetchone()[0]
    assert created_at == 1000


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "a queue needs a name"),
        ("   ", "a queue needs a name"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_names_must_be_present_and_short(queues, name, message):
    with pytest.raises(QueueError, match=message):
        queues.create(name)
    assert queues.all() == []


def test_names_are_unique(queues):
    queues.create("Sales")
    with pytest.raises(DuplicateQueue, match="a queue named 'sales' exists already"):
        queues.create("sales")
    support = queues.create("Support")
    with pytest.raises(DuplicateQueue):
        queues.update(support.id, " SALES ", "")
    with pytest.raises(QueueError):
        queues.update(support.id, "", "")
    assert [queue.name for queue in queues.all()] == ["Sales", "Support"]


def test_assignment_replaces_the_set_of_operators(queues):
    queue = queues.create("Sales")
    assert queues.assign(queue.id, ["olive", "bob"]).operators == ("bob", "olive")
    assert queues.assign(queue.id, ["bob"]).operators == ("bob",)
    assert queues.get(queue.id).operators == ("bob",)


def test_assignment_stores_each_users_own_username(queues):
    queue = queues.create("Sales")
    assert queues.assign(queue.id, ["Olive", "olive", "BOB"]).operators == ("bob", "olive")


def test_assigning_an_unknown_user_changes_nothing(queues):
    queue = queues.create("Sales")
    queues.assign(queue.id, ["olive"])
    with pytest.raises(UnknownUser):
        queues.assign(queue.id, ["bob", "ghost"])
    assert queues.get(queue.id).operators == ("olive",)


def test_operators_of_a_queue_by_name_for_the_chat_router(queues):
    queue = queues.create("Sales")
    queues.assign(queue.id, ["olive"])
    assert queues.operators_of("Sales") == ["olive"]
    assert queues.operators_of("SALES") == ["olive"]
    with pytest.raises(KeyError):
        queues.operators_of("Support")


def test_remove(queues):
    queue = queues.create("Sales")
    queues.remove(queue.id)
    assert queues.all() == []
    with pytest.raises(UnknownQueue):
        queues.get(queue.id)
