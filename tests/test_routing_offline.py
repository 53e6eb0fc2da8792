"""
Tests for L{mcc.routing.offline}: the limits that keep one account from
filling another's offline storage, on a L{Clock}.
"""

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from mcc.routing.interfaces import IOfflineStorage
from mcc.routing.offline import (
    MAX_BYTES,
    MAX_MESSAGES,
    SENDER_LIMIT,
    SENDER_WINDOW,
    OfflineStorage,
    SenderTooFast,
    StorageFull,
)
from mcc.store import Store


@pytest.fixture
def store():
    store = Store.open(":memory:")
    for name in ("alice", "bob", "carol", "dave"):
        store.users.add(name, "pw", now=0)
    yield store
    store.close()


def storage(store, **limits):
    clock = Clock()
    clock.advance(1000)
    return OfflineStorage(store, clock, **limits), clock


def test_interface(store):
    assert verifyObject(IOfflineStorage, storage(store)[0])


def test_defaults_allow_ordinary_use_and_stop_a_flood():
    assert MAX_MESSAGES >= 100
    # One of the largest stanzas the server accepts (256 KiB) fits, a
    # handful at most.
    assert 256 * 1024 <= MAX_BYTES <= 4 * 256 * 1024
    assert SENDER_LIMIT >= 10 and SENDER_WINDOW >= 10


def test_kept_and_taken_oldest_first_with_the_clock(store):
    offline, clock = storage(store)
    offline.keep("bob", "alice", "<message>1</message>")
    clock.advance(5)
    offline.keep("bob", "alice", "<message>2</message>")
    assert store.offline.take("bob") == [("<message>1</message>", 1000), ("<message>2</message>", 1005)]
    offline.keep("bob", "alice", "<message>3</message>")
    assert offline.take("bob") == ["<message>3</message>"]
    assert offline.take("bob") == []


def test_count_limit_per_recipient(store):
    offline, _ = storage(store, max_messages=2)
    offline.keep("bob", "alice", "<message/>")
    offline.keep("bob", "carol", "<message/>")
    with pytest.raises(StorageFull, match="holds 2 messages"):
        offline.keep("bob", "dave", "<message/>")
    # Another recipient has room of its own.
    offline.keep("carol", "alice", "<message/>")
    assert store.offline.count("bob") == 2
    offline.take("bob")
    offline.keep("bob", "dave", "<message/>")


def test_byte_limit_per_recipient_counts_utf8(store):
    offline, _ = storage(store, max_bytes=30)
    first = "<message>\u00e9\u00e9\u00e9</message>"  # 25 bytes, 22 characters
    offline.keep("bob", "alice", first)
    with pytest.raises(StorageFull, match="no room for 10 more bytes"):
        offline.keep("bob", "carol", "<message/>")
    offline.keep("bob", "carol", "<m/>")  # 4 bytes: 29 in all
    assert store.offline.size("bob") == 29


def test_one_stanza_larger_than_the_storage_is_refused(store):
    offline, _ = storage(store, max_bytes=10)
    with pytest.raises(StorageFull):
        offline.keep("bob", "alice", "<message>far too long</message>")
    assert store.offline.count("bob") == 0


def test_sender_rate_whoever_the_recipients_are(store):
    offline, clock = storage(store, sender_limit=3, sender_window=60)
    offline.keep("bob", "alice", "<message/>")
    offline.keep("carol", "alice", "<message/>")
    clock.advance(30)
    offline.keep("dave", "alice", "<message/>")
    with pytest.raises(SenderTooFast, match="3 offline messages within 60 seconds"):
        offline.keep("bob", "alice", "<message/>")
    # Others are not slowed down by alice.
    offline.keep("bob", "carol", "<message/>")
    # The window slides: the two messages of 60 s ago no longer count.
    clock.advance(30)
    offline.keep("bob", "alice", "<message/>")
    offline.keep("bob", "alice", "<message/>")
    with pytest.raises(SenderTooFast):
        offline.keep("bob", "alice", "<message/>")
    assert [store.offline.count(name) for name in ("bob", "carol", "dave")] == [4, 1, 1]


def test_refused_messages_do_not_use_up_the_rate(store):
    offline, _ = storage(store, max_messages=1, sender_limit=2)
    offline.keep("bob", "alice", "<message/>")
    for _ in range(5):
        with pytest.raises(StorageFull):
            offline.keep("bob", "alice", "<message/>")
    offline.keep("carol", "alice", "<message/>")
