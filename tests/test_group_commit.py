"""
One transaction for the chat path's writes of a reactor turn, and the
answers that wait for it (L{mcc.store.GroupCommit}, L{write_durably}).
"""

import socket
import sqlite3

import pytest
from twisted.internet import protocol, tcp
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.words.protocols.jabber import xmlstream

from mcc.store import Store, transaction
from mcc.transports import drop_unacknowledged, write_durably
from mcc.web import BoundedSite
from mcc.xmpp.stream import GuardedXmlStream

HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" to='example.org' version='1.0'>"
)


class Turns:
    """
    A reactor's C{callLater(0, f)}, run when the test says the turn ended.
    """

    def __init__(self):
        self.calls = []

    def __call__(self, f):
        self.calls.append(f)

    def end(self):
        calls, self.calls = self.calls, []
        for f in calls:
            f()


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "mcc.sqlite", background_checkpoints=True)
    store.users.add("alice", "secret", 0.0)
    yield store
    store.close()


@pytest.fixture
def turns():
    return Turns()


def chat(store):
    record = store.chats.create(
        token="t", guest="guest-1", queue="sales", visitor_name="Ann", created_at=0.0,
        state="waiting",
    )
    return record.id


def committed_events(tmp_path):
    """
    The events another connection sees: only what is committed.
    """
    other = sqlite3.connect(tmp_path / "mcc.sqlite")
    try:
        return [row[0] for row in other.execute("SELECT seq FROM chat_events ORDER BY seq")]
    finally:
        other.close()


def test_the_writes_of_a_turn_are_committed_together_when_it_ends(store, turns, tmp_path):
    chat_id = chat(store)
    group = store.commit_per_turn(turns)
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "hi"}, 1.0)
    store.archive.add("alice", "s1", "guest-1@example.org", "<message/>", 1.0)
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "again"}, 2.0)
    assert group.pending
    assert len(turns.calls) == 1
    assert committed_events(tmp_path) == []
    turns.end()
    assert not group.pending
    assert committed_events(tmp_path) == [1, 2]
    assert store.archive.position("alice", "s1") is not None


def test_the_sign_outs_of_a_turn_share_its_commit(store, turns, tmp_path):
    store.users.add("bob", "secret", 0.0)
    group = store.commit_per_turn(turns)
    store.last_logouts.put("alice", 5.0, "gone")
    store.last_logouts.put("bob", 5.0)
    assert group.pending

    def committed():
        other = sqlite3.connect(tmp_path / "mcc.sqlite")
        try:
            return other.execute("SELECT owner FROM last_logout ORDER BY owner").fetchall()
        finally:
            other.close()

    assert committed() == []
    turns.end()
    assert committed() == [("alice",), ("bob",)]


def test_what_waits_for_the_commit_runs_after_it_in_order(store, turns, tmp_path):
    chat_id = chat(store)
    group = store.commit_per_turn(turns)
    seen = []
    group.after_commit(seen.append, "nothing pending: at once")
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "hi"}, 1.0)
    group.after_commit(lambda: seen.append(committed_events(tmp_path)))
    group.after_commit(seen.append, "second")
    assert seen == ["nothing pending: at once"]
    turns.end()
    assert seen == ["nothing pending: at once", [1], "second"]


def test_a_commit_called_early_commits_and_the_turns_end_finds_nothing(store, turns, tmp_path):
    chat_id = chat(store)
    group = store.commit_per_turn(turns)
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "hi"}, 1.0)
    group.commit()
    assert committed_events(tmp_path) == [1]
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "again"}, 2.0)
    assert group.pending
    assert len(turns.calls) == 1  # The first call is still to come and commits both.
    turns.end()
    assert committed_events(tmp_path) == [1, 2]
    assert not store.db.conn.in_transaction


def test_a_failed_commit_rolls_back_and_what_waited_is_dropped(store, turns, tmp_path):
    chat_id = chat(store)
    dropped = []
    group = store.commit_per_turn(turns, on_failure=lambda f, *args: dropped.append(args))
    ran = []
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "hi"}, 1.0)
    # A foreign key checked only at the commit makes it fail.
    store.db.conn.execute("PRAGMA defer_foreign_keys = ON")
    store.archive.add("nobody", "s1", "guest-1@example.org", "<message/>", 1.0)
    group.after_commit(ran.append, "answer")
    turns.end()
    assert ran == []
    assert dropped == [("answer",)]
    assert committed_events(tmp_path) == []
    assert not store.db.conn.in_transaction
    # The next turn works again.
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "again"}, 2.0)
    turns.end()
    assert committed_events(tmp_path) == [1]


def test_a_transaction_inside_a_turn_undoes_only_its_own_writes(store, turns, tmp_path):
    chat_id = chat(store)
    store.commit_per_turn(turns)
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "hi"}, 1.0)
    with pytest.raises(RuntimeError):
        with transaction(store.db):
            store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "undone"}, 2.0)
            raise RuntimeError("given up")
    with transaction(store.db):
        store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "kept"}, 3.0)
    turns.end()
    texts = [event.data["text"] for event in store.chats.events_after(chat_id, 0)]
    assert texts == ["hi", "kept"]
    assert committed_events(tmp_path) == [1, 2]


def test_closing_the_store_commits_the_last_turn(tmp_path, turns):
    store = Store.open(tmp_path / "mcc.sqlite", background_checkpoints=True)
    chat_id = chat(store)
    store.commit_per_turn(turns)
    store.chats.add_event(chat_id, "message", {"from": "visitor", "text": "hi"}, 1.0)
    store.close()
    assert committed_events(tmp_path) == [1]


class FakeGroup:
    """
    A L{mcc.store.GroupCommit} with writes pending until C{commit}.
    """

    def __init__(self):
        self.pending = True
        self.commits = 0
        self.waiting = []

    def after_commit(self, f, *args):
        if self.pending:
            self.waiting.append((f, args))
        else:
            f(*args)

    def commit(self):
        self.commits += 1
        self.pending = False
        waiting, self.waiting = self.waiting, []
        for f, args in waiting:
            f(*args)


@pytest.fixture
def socket_connection():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    connection = tcp.Connection(ours, protocol.Protocol(), MemoryReactor())
    connection.connected = True
    yield connection, theirs
    ours.close()
    theirs.close()


def test_an_answer_leaves_once_the_turn_is_committed(socket_connection):
    connection, peer = socket_connection
    group = FakeGroup()
    write_durably(group, connection, b"<a h='1'/>")
    write_durably(group, connection, b"<message/>")
    with pytest.raises(BlockingIOError):
        peer.recv(100)
    group.commit()
    assert peer.recv(100) == b"<a h='1'/><message/>"


def test_an_answer_to_a_socket_twisted_is_writing_to_commits_first(socket_connection):
    # Twisted may write that socket before the turn ends: the store commits now.
    connection, peer = socket_connection
    group = FakeGroup()
    connection.write(b"<presence/>")
    write_durably(group, connection, b"<message/>")
    assert group.commits == 1
    connection.doWrite()
    assert peer.recv(100) == b"<presence/><message/>"


def test_with_nothing_pending_an_answer_leaves_at_once(socket_connection):
    connection, peer = socket_connection
    group = FakeGroup()
    group.pending = False
    write_durably(group, connection, b"<message/>")
    write_durably(None, connection, b"<iq/>")
    assert peer.recv(100) == b"<message/><iq/>"


def test_an_answer_of_a_rolled_back_turn_closes_its_connection():
    transport = StringTransport()
    drop_unacknowledged(None, transport, b"<message/>")
    assert transport.value() == b""
    assert transport.disconnecting


class Receiver(xmlstream.ListenAuthenticator):
    def associateWithStream(self, xs):
        xmlstream.ListenAuthenticator.associateWithStream(self, xs)
        xs.element_handler = self.received

    def received(self, element):
        self.xmlstream.send(b"<a h='1'/>")
        if element.name == "starttls":
            self.xmlstream.send(b"<proceed/>")
            self.xmlstream.flush()
            self.xmlstream.transport.write(b"[TLS]")

    def streamStarted(self, rootElement):
        xmlstream.ListenAuthenticator.streamStarted(self, rootElement)
        self.xmlstream.sendHeader()


def stream(group):
    xs = GuardedXmlStream(Receiver(), Clock(), 10000)
    xs.group_commit = group
    transport = StringTransport()
    xs.makeConnection(transport)
    return xs, transport


def test_what_a_read_makes_a_stream_send_waits_for_the_commit():
    group = FakeGroup()
    xs, transport = stream(group)
    xs.dataReceived(HEADER + b"<message/>")
    assert transport.value() == b""
    group.commit()
    assert transport.value().endswith(b"<a h='1'/>")
    assert transport.value().startswith(b"<stream:stream")


def test_a_stream_flushed_before_tls_commits_and_writes_at_once():
    group = FakeGroup()
    xs, transport = stream(group)
    xs.dataReceived(HEADER + b"<starttls/>")
    assert group.commits == 1
    assert transport.value().endswith(b"<a h='1'/><proceed/>[TLS]")


def test_twisted_web_commits_the_turn_before_it_writes():
    group = FakeGroup()
    site = BoundedSite(None, Clock())
    site.group_commit = group
    channel = site.buildProtocol(type("Address", (), {"host": "192.0.2.1"})())
    channel.makeConnection(StringTransport())
    channel.write(b"HTTP/1.1 200 OK\r\n")
    assert group.commits == 1
    channel.writeSequence([b"content-length: 0\r\n", b"\r\n"])
    assert group.commits == 1
    group.pending = True
    channel.writeSequence([b"HTTP/1.1 200 OK\r\n"])
    assert group.commits == 2
