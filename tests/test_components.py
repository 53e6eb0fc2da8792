"""
XEP-0114 components and queue identities on in-memory transports: the
handshake, what a component may send, and a chat between a remote JID and
an operator through a queue's address.
"""

import hashlib

import pytest
from twisted.internet import address

from mcc.routing.components import handshake
from mcc.routing.errors import ComponentError, DuplicateIdentity
from mcc.routing.accounts import AccountError
from tests.memory_xmpp import (
    DOMAIN, ClientSide, TLSStringTransport, available, bind, make_server, send,
)

BRIDGE = "bridge.example.org"
HEADER = (
    "<stream:stream xmlns='jabber:component:accept'"
    " xmlns:stream='http://etherx.jabber.org/streams' to='%s'>"
)


def connect(server, domain=BRIDGE):
    factory = server.component_factory()
    xs = factory.buildProtocol(address.IPv4Address("TCP", "127.0.0.1", 40000))
    transport = TLSStringTransport("127.0.0.1")
    xs.makeConnection(transport)
    xs.dataReceived((HEADER % domain).encode())
    side = ClientSide(transport)
    side.elements()
    return factory, xs, side


def attached(server):
    server.remote_visitors.add_component(BRIDGE)
    factory, xs, side = connect(server)
    xs.dataReceived(f"<handshake>{handshake(xs.sid, 's3cret')}</handshake>".encode())
    assert [e.name for e in side.elements()] == ["handshake"]
    return factory, xs, side


def stream_error(side):
    (element,) = [e for e in side.elements() if e.name == "error"]
    return element.firstChildElement().name


def test_handshake_is_sha1_of_id_and_secret():
    assert handshake("abc", "s") == hashlib.sha1(b"abcs").hexdigest()


def test_right_secret_attaches_and_routes_its_domain():
    server = make_server()
    factory, xs, side = attached(server)
    assert BRIDGE in server.router.remotes
    assert factory.attached[BRIDGE] is xs


def test_wrong_secret_is_not_authorized():
    server = make_server()
    server.remote_visitors.add_component(BRIDGE)
    factory, xs, side = connect(server)
    xs.dataReceived(f"<handshake>{handshake(xs.sid, 'wrong')}</handshake>".encode())
    assert stream_error(side) == "not-authorized"
    assert BRIDGE not in server.router.remotes


def test_unknown_and_disabled_components_are_refused():
    server = make_server()
    component, _ = server.remote_visitors.add_component(BRIDGE)
    server.remote_visitors.set_component_disabled(component.id, True)
    factory, xs, side = connect(server)
    xs.dataReceived(f"<handshake>{handshake(xs.sid, 's3cret')}</handshake>".encode())
    assert stream_error(side) == "not-authorized"


def test_stanza_before_handshake_is_not_authorized():
    server = make_server()
    server.remote_visitors.add_component(BRIDGE)
    factory, xs, side = connect(server)
    xs.dataReceived(b"<message to='a@example.org'><body>hi</body></message>")
    assert stream_error(side) == "not-authorized"


def test_from_outside_its_domain_is_invalid_from():
    server = make_server()
    factory, xs, side = attached(server)
    xs.dataReceived(b"<message from='x@other.org' to='reference@example.org'><body>hi</body></message>")
    assert stream_error(side) == "invalid-from"


def test_disabling_detaches():
    server = make_server()
    factory, xs, side = attached(server)
    (component,) = server.remote_visitors.components()
    server.remote_visitors.set_component_disabled(component.id, True)
    assert stream_error(side) == "not-authorized"


def test_flood_is_policy_violation():
    server = make_server()
    server.remote_visitors.add_component(BRIDGE)
    factory = server.component_factory(limit=(3, 60.0))
    xs = factory.buildProtocol(None)
    transport = TLSStringTransport("127.0.0.1")
    xs.makeConnection(transport)
    xs.dataReceived((HEADER % BRIDGE).encode())
    xs.dataReceived(f"<handshake>{handshake(xs.sid, 's3cret')}</handshake>".encode())
    side = ClientSide(transport)
    side.elements()
    for _ in range(4):
        xs.dataReceived(b"<presence from='a@bridge.example.org' to='nobody@example.org'/>")
    assert stream_error(side) == "policy-violation"


def queue_server():
    server = make_server(users=["olivia"], queues={"reference": ["olivia"]})
    server.remote_visitors.set_identity("reference", "reference@example.org")
    return server


def test_identity_reserves_the_name():
    server = make_server(users=["olivia"], queues={"reference": ["olivia"]})
    with pytest.raises(ComponentError):
        server.remote_visitors.set_identity("reference", "olivia@example.org")
    with pytest.raises(ComponentError):
        server.remote_visitors.set_identity("reference", "reference@elsewhere.org")
    server.remote_visitors.set_identity("reference", "reference@example.org")
    with pytest.raises(AccountError):
        server.accounts.add("reference", "a long enough password")


def test_chat_through_a_component():
    server = queue_server()
    operator = bind(server, "olivia@example.org/desk")
    available(operator)
    operator.xmlstream.take()
    factory, xs, side = attached(server)
    xs.dataReceived(
        b"<message from='alice\\40telegram.org@bridge.example.org/phone' to='reference@example.org'"
        b" type='chat' id='m1'><body>Hello?</body>"
        b"<nick xmlns='http://jabber.org/protocol/nick'>Alice</nick></message>"
    )
    (chat,) = server.store.chats.unfinished()
    assert chat.protocol == "xmpp"
    assert chat.visitor_name == "Alice"
    offered = [e for e in operator.xmlstream.take() if e.name == "message"]
    assert any("Hello?" in str(e.body) for e in offered if e.body)
    send(
        operator,
        f"<message xmlns='jabber:client' to='{chat.guest}@{DOMAIN}' type='chat'><body>Hi Alice</body></message>",
    )
    replies = [e for e in side.elements() if e.name == "message"]
    assert [(e["from"], e["to"], str(e.body)) for e in replies] == [
        ("reference@example.org", "alice\\40telegram.org@bridge.example.org", "Hi Alice")
    ]
    assert replies[0].uri == "jabber:component:accept"
    xs.dataReceived(
        b"<message from='alice\\40telegram.org@bridge.example.org/phone' to='reference@example.org'"
        b" type='chat'><body>Thanks</body></message>"
    )
    assert len(server.store.chats.unfinished()) == 1
    assert any(e.body and "Thanks" in str(e.body) for e in operator.xmlstream.take())


def test_presence_follows_the_queue():
    server = queue_server()
    factory, xs, side = attached(server)
    xs.dataReceived(
        b"<presence from='bob@bridge.example.org' to='reference@example.org' type='subscribe'/>"
    )
    got = side.elements()
    assert [(e.name, e.getAttribute("type")) for e in got] == [
        ("presence", "subscribed"), ("presence", "unavailable")
    ]
    operator = bind(server, "olivia@example.org/desk")
    available(operator)
    (shown,) = side.elements()
    assert shown.getAttribute("type") is None and shown["to"] == "bob@bridge.example.org"
    assert str(shown.status)
    send(operator, "<presence xmlns='jabber:client' type='unavailable'/>")
    (gone,) = side.elements()
    assert gone.getAttribute("type") == "unavailable"


def test_remote_jid_rate_limited():
    server = queue_server()
    operator = bind(server, "olivia@example.org/desk")
    available(operator)
    factory, xs, side = attached(server)
    for number in range(31):
        xs.dataReceived(
            f"<message from='c@bridge.example.org' to='reference@example.org' type='chat'>"
            f"<body>{number}</body></message>".encode()
        )
    errors = [e for e in side.elements() if e.getAttribute("type") == "error"]
    assert len(errors) == 1


def test_nobody_there_gets_the_offline_text():
    server = queue_server()
    factory, xs, side = attached(server)
    xs.dataReceived(
        b"<message from='d@bridge.example.org' to='reference@example.org' type='chat'><body>hi</body></message>"
    )
    (reply,) = [e for e in side.elements() if e.name == "message"]
    assert "Nobody" in str(reply.body)


def test_chat_states_pass_both_ways():
    server = queue_server()
    operator = bind(server, "olivia@example.org/desk")
    available(operator)
    factory, xs, side = attached(server)
    xs.dataReceived(
        b"<message from='e@bridge.example.org/phone' to='reference@example.org' type='chat'>"
        b"<body>hi</body></message>"
    )
    (chat,) = server.store.chats.unfinished()
    send(
        operator,
        f"<message xmlns='jabber:client' to='{chat.guest}@{DOMAIN}' type='chat'><body>Hello</body></message>",
    )
    operator.xmlstream.take()
    side.elements()
    xs.dataReceived(
        b"<message from='e@bridge.example.org/phone' to='reference@example.org' type='chat'>"
        b"<composing xmlns='http://jabber.org/protocol/chatstates'/></message>"
    )
    states = [c.name for e in operator.xmlstream.take() for c in e.elements() if c.uri == "http://jabber.org/protocol/chatstates"]
    assert states == ["composing"]
    send(
        operator,
        f"<message xmlns='jabber:client' to='{chat.guest}@{DOMAIN}' type='chat'>"
        "<paused xmlns='http://jabber.org/protocol/chatstates'/></message>",
    )
    (state,) = side.elements()
    assert state["to"] == "e@bridge.example.org"
    assert [c.name for c in state.elements()] == ["paused"]


def test_identity_on_a_component_domain_names_its_protocol():
    server = make_server(users=["olivia"], queues={"reference": ["olivia"]})
    server.remote_visitors.add_component(BRIDGE, "telegram")
    server.remote_visitors.set_identity("reference", f"reference@{BRIDGE}")
    operator = bind(server, "olivia@example.org/desk")
    available(operator)
    factory, xs, side = connect(server)
    xs.dataReceived(f"<handshake>{handshake(xs.sid, 's3cret')}</handshake>".encode())
    side.elements()
    xs.dataReceived(
        b"<message from='bob\\40telegram.org@bridge.example.org' to='reference@bridge.example.org'"
        b" type='chat'><body>hi</body></message>"
    )
    (chat,) = server.store.chats.unfinished()
    assert (chat.protocol, chat.visitor_name) == ("telegram", "bob@telegram.org")
    assert server.chats.visitor_channels["telegram"] is server.remote_visitors


def test_a_message_to_no_queue_address_is_refused():
    server = queue_server()
    factory, xs, side = attached(server)
    xs.dataReceived(
        b"<message from='f@bridge.example.org' to='olivia@example.org' type='chat' id='x'><body>hi</body></message>"
    )
    (reply,) = side.elements()
    assert reply["type"] == "error" and reply["to"] == "f@bridge.example.org"
    assert reply.error.firstChildElement().name == "service-unavailable"
    assert server.store.chats.unfinished() == []


def test_a_later_component_replaces_the_earlier():
    server = make_server()
    factory, first_xs, first = attached(server)
    second_xs = factory.buildProtocol(None)
    transport = TLSStringTransport("127.0.0.1")
    second_xs.makeConnection(transport)
    second_xs.dataReceived((HEADER % BRIDGE).encode())
    second_xs.dataReceived(f"<handshake>{handshake(second_xs.sid, 's3cret')}</handshake>".encode())
    assert stream_error(first) == "conflict"
    assert factory.attached[BRIDGE] is second_xs


def test_handshake_times_out():
    server = make_server()
    factory, xs, side = connect(server)
    server.clock.advance(server.config.auth_timeout)
    assert stream_error(side) == "connection-timeout"


def test_a_local_client_reaches_the_component_domain():
    server = make_server(users=["olivia"])
    factory, xs, side = attached(server)
    operator = bind(server, "olivia@example.org/desk")
    send(operator, "<message xmlns='jabber:client' to='g@bridge.example.org' type='chat'><body>ping</body></message>")
    (forwarded,) = side.elements()
    assert (forwarded.uri, forwarded["from"], forwarded["to"]) == (
        "jabber:component:accept", "olivia@example.org/desk", "g@bridge.example.org"
    )
    assert forwarded.body.uri == "jabber:component:accept"


def test_the_remote_jid_shows_as_the_chat_s_page():
    server = queue_server()
    operator = bind(server, "olivia@example.org/desk")
    available(operator)
    factory, xs, side = attached(server)
    xs.dataReceived(
        b"<message from='h@bridge.example.org/x' to='reference@example.org' type='chat'><body>hi</body></message>"
    )
    (chat,) = server.store.chats.unfinished()
    assert chat.page == "xmpp:h@bridge.example.org"


def test_an_address_of_another_queue_is_refused_and_nothing_lost():
    server = make_server(queues={"reference": [], "loans": []})
    visitors = server.remote_visitors
    visitors.set_identity("reference", "reference@example.org")
    visitors.set_identity("loans", "loans@example.org")
    with pytest.raises(DuplicateIdentity):
        visitors.set_identity("loans", "reference@example.org")
    assert visitors.identity_of("loans").address == "loans@example.org"
    assert visitors.identity_of("reference").address == "reference@example.org"
    visitors.set_identity("loans", "")
    assert visitors.identity_of("loans") is None
