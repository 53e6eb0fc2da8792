"""
Tests for L{mcc.xmpp.sessions}: what a bound session checks and stamps on
its client's stanzas, its keepalive on a L{Clock}, and the registry.
"""

import pytest
from twisted.internet.task import Clock
from twisted.words.protocols.jabber import jid
from wokkel.generic import parseXml

from mcc.xmpp.namespaces import NS_PING
from mcc.xmpp.sessions import ClientSession, SessionRegistry
from tests.memory_xmpp import RecordingStream, bind, make_server

FULL = "alice@example.org/desk"
INTERVAL = 300
GRACE = 60


class RecordingRouter:
    def __init__(self):
        self.routed = []

    def route_from_client(self, stanza):
        self.routed.append(stanza)


class Bound:
    def __init__(self, full=FULL):
        self.clock = Clock()
        self.router = RecordingRouter()
        self.stream = RecordingStream(self.clock)
        self.session = ClientSession(jid.JID(full), self.stream, self.router, self.clock)

    def receive(self, xml):
        stanza = parseXml(xml)
        self.session.stanza_received(stanza)
        return stanza

    def only_reply(self):
        (reply,) = self.stream.take()
        return reply


@pytest.fixture
def bound():
    return Bound()


def error_condition(stanza):
    assert stanza["type"] == "error"
    return stanza.error.firstChildElement().name


@pytest.mark.parametrize(
    "claimed",
    [None, FULL, "alice@example.org", "ALICE@example.org/desk", "Alice@Example.ORG"],
)
def test_from_is_stamped_with_the_full_jid(bound, claimed):
    attribute = f" from='{claimed}'" if claimed else ""
    stanza = bound.receive(f"<message xmlns='jabber:client' to='bob@example.org'{attribute}/>")
    assert bound.router.routed == [stanza]
    assert stanza["from"] == FULL
    assert stanza.session is bound.session
    assert bound.stream.sent == [] and bound.stream.closed_with is None


@pytest.mark.parametrize(
    "claimed",
    [
        "bob@example.org",
        "alice@example.org/phone",
        "example.org",
        "alice@other.org/desk",
        # Resources are case-sensitive.
        "alice@example.org/DESK",
        # Addresses that do not parse.
        "alice@example.org/",
        "@example.org",
        "alice@exa mple.org",
    ],
)
def test_forged_from_closes_with_invalid_from(bound, claimed):
    bound.receive(f"<message xmlns='jabber:client' from='{claimed}'/>")
    assert bound.stream.closed_with == "invalid-from"
    assert bound.router.routed == []


def test_to_is_normalized(bound):
    stanza = bound.receive("<message xmlns='jabber:client' to='Bob@Example.ORG/Phone'/>")
    assert stanza["to"] == "bob@example.org/Phone"
    assert bound.router.routed == [stanza]


@pytest.mark.parametrize(
    "to", ["bob@@example.org", "@example.org", "bob@", "bob@example.org/", "bob@exa mple.org"]
)
@pytest.mark.parametrize(
    "xml",
    [
        "<message xmlns='jabber:client' id='m1' to='{to}'><body>hi</body></message>",
        "<iq xmlns='jabber:client' type='get' id='q1' to='{to}'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<presence xmlns='jabber:client' to='{to}'/>",
    ],
)
def test_malformed_to_is_answered_with_jid_malformed(bound, to, xml):
    request = bound.receive(xml.format(to=to))
    reply = bound.only_reply()
    assert error_condition(reply) == "jid-malformed"
    assert (reply.name, reply.getAttribute("id")) == (request.name, request.getAttribute("id"))
    assert reply["to"] == FULL
    assert not reply.hasAttribute("from")
    assert bound.router.routed == []


@pytest.mark.parametrize(
    "xml",
    [
        "<message xmlns='jabber:client' type='error' to='bob@@example.org'/>",
        "<presence xmlns='jabber:client' type='error' to='bob@@example.org'/>",
        "<iq xmlns='jabber:client' type='result' id='1' to='bob@@example.org'/>",
        "<iq xmlns='jabber:client' type='error' id='1' to='bob@@example.org'/>",
    ],
)
def test_malformed_to_on_an_error_or_result_is_dropped(bound, xml):
    bound.receive(xml)
    assert bound.stream.sent == []
    assert bound.router.routed == []


@pytest.mark.parametrize(
    "xml",
    [
        "<iq xmlns='jabber:client' type='get'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq xmlns='jabber:client' type='get' id=''><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq xmlns='jabber:client' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq xmlns='jabber:client' type='fetch' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq xmlns='jabber:client' type='get' id='q1'/>",
        "<iq xmlns='jabber:client' type='set' id='q1'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>",
    ],
)
def test_invalid_iq_is_a_bad_request(bound, xml):
    bound.receive(xml)
    reply = bound.only_reply()
    assert reply.name == "iq"
    assert error_condition(reply) == "bad-request"
    assert reply["to"] == FULL
    assert bound.router.routed == []


@pytest.mark.parametrize(
    "xml",
    [
        "<iq xmlns='jabber:client' type='result' id='q1'/>",
        "<iq xmlns='jabber:client' type='result' id='q1'><query xmlns='jabber:iq:roster'/></iq>",
        "<iq xmlns='jabber:client' type='error' id='q1'><ping xmlns='urn:xmpp:ping'/><error/></iq>",
    ],
)
def test_results_and_errors_pass(bound, xml):
    stanza = bound.receive(xml)
    assert bound.router.routed == [stanza]
    assert bound.stream.sent == []


def test_result_without_id_is_dropped_silently(bound):
    bound.receive("<iq xmlns='jabber:client' type='result'/>")
    assert bound.router.routed == []
    assert bound.stream.sent == []


@pytest.mark.parametrize(
    "xml",
    [
        "<query xmlns='jabber:client'/>",
        "<message xmlns='urn:example'/>",
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    ],
)
def test_other_elements_are_unsupported_stanza_types(bound, xml):
    bound.receive(xml)
    assert bound.stream.closed_with == "unsupported-stanza-type"
    assert bound.router.routed == []


def test_keepalive_pings_after_silence_and_closes_after_grace():
    bound = Bound()
    bound.session.start_keepalive(INTERVAL, GRACE, lambda: "ping1")
    bound.clock.advance(INTERVAL - 1)
    assert bound.stream.sent == []
    bound.clock.advance(1)
    (ping,) = bound.stream.take()
    assert (ping.name, ping["type"], ping["id"]) == ("iq", "get", "ping1")
    assert (ping["to"], ping["from"]) == (FULL, "example.org")
    assert (ping.firstChildElement().uri, ping.firstChildElement().name) == (NS_PING, "ping")
    bound.clock.advance(GRACE - 1)
    assert bound.stream.closed_with is None
    bound.clock.advance(1)
    assert bound.stream.closed_with == "connection-timeout"
    assert bound.clock.getDelayedCalls() == []


def test_activity_postpones_the_ping():
    bound = Bound()
    bound.session.start_keepalive(INTERVAL, GRACE, lambda: "ping1")
    bound.clock.advance(100)
    bound.stream.last_activity = bound.clock.seconds()
    bound.clock.advance(INTERVAL - 1)
    assert bound.stream.sent == []
    bound.clock.advance(1)
    assert [s.name for s in bound.stream.take()] == ["iq"]


def test_answer_to_the_ping_keeps_the_session():
    bound = Bound()
    bound.session.start_keepalive(INTERVAL, GRACE, lambda: "ping1")
    bound.clock.advance(INTERVAL)
    bound.stream.take()
    bound.clock.advance(GRACE / 2)
    answered = bound.stream.last_activity = bound.clock.seconds()  # the pong
    bound.clock.advance(GRACE)
    assert bound.stream.closed_with is None
    assert bound.stream.sent == []
    # The next ping comes after a whole interval of silence since the pong.
    bound.clock.advance(answered + INTERVAL - bound.clock.seconds())
    assert [s.name for s in bound.stream.take()] == ["iq"]
    assert bound.stream.closed_with is None


def test_stop_keepalive():
    bound = Bound()
    bound.session.start_keepalive(INTERVAL, GRACE, lambda: "ping1")
    bound.session.stop_keepalive()
    bound.clock.advance(INTERVAL + GRACE)
    assert bound.stream.sent == [] and bound.stream.closed_with is None
    assert bound.clock.getDelayedCalls() == []
    bound.session.stop_keepalive()


def session(full):
    clock = Clock()
    return ClientSession(jid.JID(full), RecordingStream(clock), RecordingRouter(), clock)


def test_registry():
    registry = SessionRegistry()
    desk, phone = session("alice@example.org/desk"), session("alice@example.org/phone")
    bob = session("bob@example.org/x")
    for one in (desk, phone, bob):
        assert registry.add(one) is None
    assert len(registry) == 3
    assert registry.get(jid.JID("alice@example.org/desk")) is desk
    assert registry.get(jid.JID("alice@example.org/gone")) is None
    assert registry.get(jid.JID("nobody@example.org/desk")) is None
    assert set(registry.sessions("alice@example.org")) == {desk, phone}
    assert set(registry.all()) == {desk, phone, bob}
    assert registry.is_connected("alice@example.org")
    assert not registry.is_connected("nobody@example.org")

    assert registry.available("alice@example.org") == []
    phone.presence = parseXml("<presence xmlns='jabber:client'/>")
    assert registry.available("alice@example.org") == [phone]

    registry.remove(desk)
    registry.remove(phone)
    assert not registry.is_connected("alice@example.org")
    assert registry.all() == [bob]


def test_registry_replaces_a_resource():
    registry = SessionRegistry()
    old, new = session("alice@example.org/desk"), session("alice@example.org/desk")
    registry.add(old)
    assert registry.add(new) is old
    assert registry.get(jid.JID("alice@example.org/desk")) is new
    # Removing the replaced session leaves its successor alone.
    registry.remove(old)
    assert registry.get(jid.JID("alice@example.org/desk")) is new
    assert len(registry) == 1


def test_an_account_disabled_loses_its_sessions_without_wiring():
    """
    The server follows the accounts it is given from its construction on:
    nothing has to connect the two afterwards.
    """
    server = make_server(users=["alice", "bob"])
    alice = bind(server, "alice@example.org/desk")
    bob = bind(server, "bob@example.org/desk")
    server.accounts.set_disabled("alice", True)
    assert alice.xmlstream.closed_with == "not-authorized"
    assert bob.xmlstream.closed_with is None
    assert server.sessions.sessions("alice@example.org") == []
