"""
Tests for L{mcc.store.queues}: queues and their operators in SQLite.
"""

import sqlite3

import pytest

from mcc.store import DuplicateQueue, Store, UnknownQueue, schema
from mcc.store.database import open_database


@pytest.fixture
def store():
    store = Store.open(":memory:")
    store.users.add("olive", "pw", now=0)
    store.users.add("bob", "pw", now=0)
    yield store
    store.close()


def test_queue_tables_come_with_a_migration_step(tmp_path):
    db = open_database(tmp_path / "mcc.sqlite")
    try:
        rows = db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert {"queues", "queue_operators"} <= {name for (name,) in rows}
        version = db.conn.execute("SELECT version FROM schema_version").fetchone()[0]
        assert version == len(schema.MIGRATIONS)
    finally:
        db.conn.close()


def test_add_get_and_all_sorted_by_name(store):
    support = store.queues.add("Support", "Helping customers", now=5)
    sales = store.queues.add("Sales", "", now=6)
    assert store.queues.get(support.id) == support
    assert (support.name, support.description) == ("Support", "Helping customers")
    assert support.operators == ()
    assert [queue.name for queue in store.queues.all()] == ["Sales", "Support"]
    assert store.queues.named("sales") == sales


def test_names_are_unique_in_any_letter_case(store):
    store.queues.add("Sales", "", now=0)
    with pytest.raises(DuplicateQueue) as raised:
        store.queues.add("SALES", "", now=0)
    assert str(raised.value) == "a queue named 'SALES' exists already"
    assert len(store.queues.all()) == 1


def test_unknown_queue(store):
    for lookup in (lambda: store.queues.get(42), lambda: store.queues.named("nonesuch")):
        with pytest.raises(UnknownQueue):
            lookup()
    with pytest.raises(UnknownQueue):
        store.queues.update(42, "x", "")
    with pytest.raises(UnknownQueue):
        store.queues.remove(42)
    with pytest.raises(UnknownQueue):
        store.queues.set_operators(42, ["olive"])
    assert issubclass(UnknownQueue, KeyError)


def test_update_renames_and_keeps_operators(store):
    queue = store.queues.add("Sales", "", now=0)
    store.queues.add("Support", "", now=0)
    store.queues.set_operators(queue.id, ["olive"])
    renamed = store.queues.update(queue.id, "Presales", "Before the sale")
    assert (renamed.name, renamed.description) == ("Presales", "Before the sale")
    assert renamed.operators == ("olive",)
    with pytest.raises(DuplicateQueue):
        store.queues.update(queue.id, "support", "")
    assert store.queues.get(queue.id).name == "Presales"


def test_set_operators_replaces_the_whole_set(store):
    queue = store.queues.add("Sales", "", now=0)
    assigned = store.queues.set_operators(queue.id, ["olive", "bob", "olive"])
    assert assigned.operators == ("bob", "olive")
    assert store.queues.set_operators(queue.id, ["olive"]).operators == ("olive",)
    assert store.queues.set_operators(queue.id, []).operators == ()


def test_set_operators_with_an_unknown_user_changes_nothing(store):
    queue = store.queues.add("Sales", "", now=0)
    store.queues.set_operators(queue.id, ["olive"])
    with pytest.raises(sqlite3.IntegrityError):
        store.queues.set_operators(queue.id, ["bob", "ghost"])
    assert store.queues.get(queue.id).operators == ("olive",)


def test_all_lists_each_queues_operators(store):
    sales = store.queues.add("Sales", "", now=0)
    support = store.queues.add("Support", "", now=0)
    store.queues.set_operators(sales.id, ["olive", "bob"])
    store.queues.set_operators(support.id, ["bob"])
    assert [(q.name, q.operators) for q in store.queues.all()] == [
        ("Sales", ("bob", "olive")),
        ("Support", ("bob",)),
    ]


def test_removing_a_queue_or_a_user_removes_the_membership(store):
    sales = store.queues.add("Sales", "", now=0)
    support = store.queues.add("Support", "", now=0)
    store.queues.set_operators(sales.id, ["olive", "bob"])
    store.queues.set_operators(support.id, ["olive"])
    store.users.remove("olive")
    assert store.queues.get(sales.id).operators == ("bob",)
    assert store.queues.get(support.id).operators == ()
    store.queues.remove(sales.id)
    rows = store.db.conn.execute("SELECT queue_id, username FROM queue_operators").fetchall()
    assert rows == []
    assert [user.username for user in store.users.all()] == ["bob"]
