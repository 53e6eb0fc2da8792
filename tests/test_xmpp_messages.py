"""
Tests for L{mcc.xmpp.messages}: messages to an account's bare JID by the
rules of RFC 6121 section 8.5.2, and offline storage stamped by the clock.
"""

import pytest

from mcc.routing.offline import MAX_MESSAGES
from mcc.xmpp.messages import delay_stamp
from mcc.xmpp.namespaces import NS_CLIENT, NS_DELAY
from tests.memory_xmpp import available, bind, make_server, send

BOB = "bob@example.org"
START = 1_700_000_000


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob"])
    server.clock.advance(START)
    yield server
    server.stopService()
    server.store.close()


@pytest.fixture
def alice(server):
    return bind(server, "alice@example.org/desk")


def message(to=BOB, kind="chat", body="hello", extra=""):
    kind = f" type='{kind}'" if kind else ""
    body = f"<body>{body}</body>" if body is not None else ""
    return f"<message xmlns='jabber:client' to='{to}' id='m1'{kind}>{body}{extra}</message>"


def bodies(session):
    return [
        str(stanza.body)
        for stanza in session.xmlstream.take()
        if stanza.name == "message" and stanza.body is not None
    ]


def online(server, full, priority=None):
    session = bind(server, full)
    available(session, priority=priority)
    session.xmlstream.take()
    return session


def test_delay_stamp():
    assert delay_stamp(0) == "1970-01-01T00:00:00.000000Z"
    assert delay_stamp(START + 0.25) == "2023-11-14T22:13:20.250000Z"


def test_highest_priority_resource_gets_it(server, alice):
    low = online(server, "bob@example.org/low", priority=1)
    high = online(server, "bob@example.org/high", priority=10)
    send(alice, message())
    assert bodies(high) == ["hello"]
    assert bodies(low) == []
    assert server.store.offline.count("bob") == 0


def test_resources_sharing_the_highest_priority_all_get_it(server, alice):
    one = online(server, "bob@example.org/one", priority=5)
    two = online(server, "bob@example.org/two", priority=5)
    zero = online(server, "bob@example.org/zero")
    send(alice, message(kind="normal"))
    assert bodies(one) == bodies(two) == ["hello"]
    assert bodies(zero) == []


def test_sender_is_stamped(server, alice):
    bob = online(server, "bob@example.org/phone")
    send(alice, message())
    (received,) = bob.xmlstream.take()
    assert received["from"] == "alice@example.org/desk"
    assert received["to"] == BOB


def test_negative_priority_resources_never_get_it_and_it_is_kept(server, alice):
    shy = online(server, "bob@example.org/shy", priority=-1)
    send(alice, message())
    assert bodies(shy) == []
    assert server.store.offline.count("bob") == 1


def test_connected_but_not_available_counts_as_offline(server, alice):
    silent = bind(server, "bob@example.org/silent")
    send(alice, message())
    assert silent.xmlstream.take() == []
    assert server.store.offline.count("bob") == 1


def test_message_to_a_gone_full_jid_goes_to_the_account(server, alice):
    phone = online(server, "bob@example.org/phone")
    send(alice, message(to="bob@example.org/gone"))
    assert bodies(phone) == ["hello"]
    send(alice, message(to="bob@example.org/gone", body="later"))
    server.end_session(phone)
    send(alice, message(to="bob@example.org/gone", body="stored"))
    assert server.store.offline.count("bob") == 1


def test_full_jid_connected_gets_it_whatever_its_priority(server, alice):
    shy = online(server, "bob@example.org/shy", priority=-5)
    online(server, "bob@example.org/other", priority=5)
    send(alice, message(to="bob@example.org/shy"))
    assert bodies(shy) == ["hello"]


def test_headline_goes_to_every_non_negative_resource_and_is_never_kept(server, alice):
    one = online(server, "bob@example.org/one", priority=1)
    two = online(server, "bob@example.org/two", priority=0)
    shy = online(server, "bob@example.org/shy", priority=-1)
    send(alice, message(kind="headline"))
    assert bodies(one) == bodies(two) == ["hello"]
    assert bodies(shy) == []
    for session in (one, two):
        server.end_session(session)
    send(alice, message(kind="headline"))
    assert server.store.offline.count("bob") == 0
    assert alice.xmlstream.take() == []


def test_headline_to_a_gone_full_jid_is_ignored(server, alice):
    phone = online(server, "bob@example.org/phone")
    send(alice, message(to="bob@example.org/gone", kind="headline"))
    assert phone.xmlstream.take() == []
    assert alice.xmlstream.take() == []
    server.end_session(phone)
    send(alice, message(to="bob@example.org/gone", kind="headline"))
    assert server.store.offline.count("bob") == 0
    assert alice.xmlstream.take() == []


def test_headline_to_a_connected_full_jid_is_delivered(server, alice):
    phone = online(server, "bob@example.org/phone")
    desk = online(server, "bob@example.org/desk")
    send(alice, message(to="bob@example.org/phone", kind="headline"))
    assert bodies(phone) == ["hello"]
    assert bodies(desk) == []


@pytest.mark.parametrize(
    "extra", ["", "<composing xmlns='http://jabber.org/protocol/chatstates'/>"]
)
def test_messages_without_body_are_not_kept(server, alice, extra):
    send(alice, message(body=None, extra=extra))
    assert server.store.offline.count("bob") == 0
    assert alice.xmlstream.take() == []


def test_error_messages_are_dropped(server, alice):
    phone = online(server, "bob@example.org/phone")
    send(alice, message(kind="error"))
    assert phone.xmlstream.take() == []
    server.end_session(phone)
    send(alice, message(kind="error"))
    assert server.store.offline.count("bob") == 0
    assert alice.xmlstream.take() == []


def test_groupchat_to_an_account_is_refused(server, alice):
    phone = online(server, "bob@example.org/phone")
    send(alice, message(kind="groupchat"))
    assert phone.xmlstream.take() == []
    (reply,) = alice.xmlstream.take()
    assert reply["type"] == "error"
    assert reply.error.firstChildElement().name == "service-unavailable"
    assert (reply["from"], reply["to"]) == (BOB, "alice@example.org/desk")


def test_offline_messages_are_delivered_at_initial_presence_with_their_time(server, alice):
    send(alice, message(body="first"))
    server.clock.advance(90)
    send(alice, message(kind=None, body="second"))
    assert server.store.offline.count("bob") == 2
    server.clock.advance(3600)

    phone = bind(server, "bob@example.org/phone")
    assert phone.xmlstream.take() == []
    available(phone)

    delivered = [s for s in phone.xmlstream.take() if s.name == "message"]
    assert [str(m.body) for m in delivered] == ["first", "second"]
    stamps = []
    for stored in delivered:
        assert stored.uri == NS_CLIENT
        assert (stored["from"], stored["to"]) == ("alice@example.org/desk", BOB)
        (delay,) = stored.elements(NS_DELAY, "delay")
        assert delay["from"] == "example.org"
        stamps.append(delay["stamp"])
    assert stamps == [delay_stamp(START), delay_stamp(START + 90)]
    assert server.store.offline.count("bob") == 0


def test_offline_messages_wait_for_a_non_negative_initial_presence(server, alice):
    send(alice, message())
    shy = bind(server, "bob@example.org/shy")
    available(shy, priority=-1)
    assert bodies(shy) == []
    assert server.store.offline.count("bob") == 1
    # A presence update is no initial presence.
    available(shy, priority=1)
    assert bodies(shy) == []
    phone = bind(server, "bob@example.org/phone")
    available(phone)
    assert bodies(phone) == ["hello"]


def test_offline_messages_go_to_one_resource_only(server, alice):
    send(alice, message())
    phone = bind(server, "bob@example.org/phone")
    available(phone)
    desk = bind(server, "bob@example.org/desk")
    available(desk)
    assert bodies(phone) == ["hello"]
    assert bodies(desk) == []


def limited_server(**limits):
    server = make_server(users=["alice", "bob"], offline_limits=limits)
    server.clock.advance(START)
    return server, bind(server, "alice@example.org/desk")


def test_full_offline_storage_refuses_more():
    server, alice = limited_server(max_messages=2)
    assert MAX_MESSAGES > 2
    for _ in range(2):
        send(alice, message())
    assert alice.xmlstream.take() == []
    send(alice, message(body="too many"))
    (reply,) = alice.xmlstream.take()
    assert reply.error.firstChildElement().name == "service-unavailable"
    assert server.store.offline.count("bob") == 2
    server.stopService()
    server.store.close()


def test_offline_storage_full_in_bytes_refuses_more_and_says_why():
    server, alice = limited_server(max_bytes=2000)
    send(alice, message(body="x" * 900))
    assert alice.xmlstream.take() == []
    send(alice, message(body="y" * 900))
    (reply,) = alice.xmlstream.take()
    assert (reply["type"], reply["to"]) == ("error", "alice@example.org/desk")
    assert reply.error["type"] == "cancel"
    assert reply.error.firstChildElement().name == "service-unavailable"
    assert "no room" in str(reply.error.text)
    # The refusal carries the message back, without the storage stamp.
    assert str(reply.body) == "y" * 900
    assert list(reply.elements(NS_DELAY, "delay")) == []
    assert server.store.offline.count("bob") == 1
    server.stopService()
    server.store.close()


def test_a_sender_over_the_rate_is_told_to_wait():
    server, alice = limited_server(sender_limit=2, sender_window=60)
    for _ in range(2):
        send(alice, message())
    send(alice, message(body="third"))
    (reply,) = alice.xmlstream.take()
    assert reply.error["type"] == "wait"
    assert reply.error.firstChildElement().name == "resource-constraint"
    server.clock.advance(60)
    send(alice, message(body="later"))
    assert alice.xmlstream.take() == []
    assert server.store.offline.count("bob") == 3
    server.stopService()
    server.store.close()


def test_message_to_oneself(server, alice):
    available(alice)
    alice.xmlstream.take()
    send(alice, "<message xmlns='jabber:client' type='chat'><body>note</body></message>")
    assert bodies(alice) == ["note"]
