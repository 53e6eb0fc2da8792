"""
Tests for L{mcc.xmpp.router}: where a stanza from a client goes (RFC 6121
section 8), with the handler collections replaced by recording pipes.
"""

import pytest
from twisted.internet.task import Clock
from twisted.words.protocols.jabber import jid
from wokkel.generic import XmlPipe, parseXml

from mcc.xmpp.router import ACCOUNTS, DOMAIN, GUESTS, StanzaRouter
from mcc.xmpp.sessions import ClientSession, SessionRegistry
from tests.memory_xmpp import RecordingStream

HOST = "example.org"
ACCOUNT_NAMES = {"alice", "bob", "carol"}
SENDER = "alice@example.org/desk"


class Routing:
    def __init__(self):
        self.clock = Clock()
        self.sessions = SessionRegistry()
        self.router = StanzaRouter(HOST, self.sessions, ACCOUNT_NAMES.__contains__)
        self.processed = {}
        for destination in (DOMAIN, ACCOUNTS, GUESTS):
            pipe = XmlPipe()
            self.router.addRoute(destination, pipe.sink)
            seen = self.processed[destination] = []
            pipe.source.addObserver("/*", seen.append)
        self.sender = self.connect(SENDER)

    def connect(self, full):
        session = ClientSession(jid.JID(full), RecordingStream(self.clock), self.router, self.clock)
        self.sessions.add(session)
        return session

    def from_client(self, xml):
        stanza = parseXml(xml)
        stanza["from"] = SENDER
        self.router.route_from_client(stanza)
        return stanza

    def where(self):
        """
        The collections that got something, and what the sender got back.
        """
        return (
            [name for name, seen in self.processed.items() if seen],
            self.sender.xmlstream.take(),
        )


@pytest.fixture
def routing():
    return Routing()


def error_condition(stanza):
    assert stanza["type"] == "error"
    return stanza.error.firstChildElement().name


def message(to, kind="chat"):
    kind = f" type='{kind}'" if kind else ""
    return f"<message xmlns='jabber:client' to='{to}' id='m1'{kind}><body>hi</body></message>"


def iq(to, kind="get"):
    return f"<iq xmlns='jabber:client' to='{to}' type='{kind}' id='q1'><query xmlns='urn:x'/></iq>"


def presence(to, kind=None):
    kind = f" type='{kind}'" if kind else ""
    return f"<presence xmlns='jabber:client' to='{to}'{kind}/>"


@pytest.mark.parametrize(
    "xml",
    [
        "<iq xmlns='jabber:client' type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>",
        "<presence xmlns='jabber:client'/>",
        "<message xmlns='jabber:client'><body>to myself</body></message>",
    ],
)
def test_no_to_is_for_the_account(routing, xml):
    stanza = routing.from_client(xml)
    assert routing.where() == ([ACCOUNTS], [])
    assert routing.processed[ACCOUNTS] == [stanza]


@pytest.mark.parametrize("to", [HOST, f"{HOST}/some-resource"])
@pytest.mark.parametrize("make", [message, iq, presence])
def test_server_domain(routing, to, make):
    routing.from_client(make(to))
    assert routing.where() == ([DOMAIN], [])


@pytest.mark.parametrize("to", ["guest.abc@example.org", "guest.abc@example.org/visitor"])
@pytest.mark.parametrize("make", [message, iq, presence])
def test_guest_jids(routing, to, make):
    routing.from_client(make(to))
    assert routing.where() == ([GUESTS], [])


@pytest.mark.parametrize("to", ["bob@other.org", "other.org", "bob@other.org/res"])
@pytest.mark.parametrize("make", [message, iq])
def test_other_domain_is_not_found(routing, to, make):
    request = routing.from_client(make(to))
    processed, replies = routing.where()
    assert processed == []
    (reply,) = replies
    assert error_condition(reply) == "remote-server-not-found"
    assert (reply.name, reply["id"]) == (request.name, request["id"])
    assert (reply["from"], reply["to"]) == (to, SENDER)


def test_presence_to_another_domain_is_dropped(routing):
    routing.from_client(presence("bob@other.org"))
    routing.from_client(presence("bob@other.org", "subscribe"))
    assert routing.where() == ([], [])


@pytest.mark.parametrize("make", [message, iq])
def test_connected_full_jid_gets_it_directly(routing, make):
    bob = routing.connect("bob@example.org/phone")
    stanza = routing.from_client(make("bob@example.org/phone"))
    assert routing.where() == ([], [])
    assert [s.toXml() for s in bob.xmlstream.take()] == [stanza.toXml()]


@pytest.mark.parametrize("to", ["bob@example.org/phone", "bob@example.org/gone", "bob@example.org"])
def test_presence_to_an_account_always_goes_to_the_handlers(routing, to):
    bob = routing.connect("bob@example.org/phone")
    routing.from_client(presence(to))
    assert routing.where() == ([ACCOUNTS], [])
    assert bob.xmlstream.take() == []


def test_iq_to_a_full_jid_not_connected(routing):
    routing.connect("bob@example.org/phone")
    routing.from_client(iq("bob@example.org/gone"))
    processed, (reply,) = routing.where()
    assert processed == []
    assert error_condition(reply) == "service-unavailable"
    assert (reply["from"], reply["to"], reply["id"]) == ("bob@example.org/gone", SENDER, "q1")


@pytest.mark.parametrize("connected", [True, False])
def test_message_to_a_full_jid_not_connected_is_for_the_account(routing, connected):
    if connected:
        routing.connect("bob@example.org/phone")
    routing.from_client(message("bob@example.org/gone"))
    assert routing.where() == ([ACCOUNTS], [])


@pytest.mark.parametrize("make", [message, iq])
def test_bare_jid_of_an_account(routing, make):
    routing.from_client(make("bob@example.org"))
    assert routing.where() == ([ACCOUNTS], [])


@pytest.mark.parametrize("to", ["nobody@example.org", "nobody@example.org/res"])
@pytest.mark.parametrize("make", [message, iq])
def test_unknown_account_is_service_unavailable(routing, to, make):
    routing.from_client(make(to))
    processed, (reply,) = routing.where()
    assert processed == []
    assert error_condition(reply) == "service-unavailable"
    assert reply["to"] == SENDER


def test_presence_to_an_unknown_account_goes_to_the_handlers(routing):
    # They drop it: presence is never answered with an error.
    routing.from_client(presence("nobody@example.org", "subscribe"))
    assert routing.where() == ([ACCOUNTS], [])


@pytest.mark.parametrize(
    "xml",
    [
        message("nobody@example.org", "error"),
        message("bob@other.org", "error"),
        iq("nobody@example.org", "error"),
        iq("nobody@example.org", "result"),
        iq("bob@example.org/gone", "error"),
        iq("bob@example.org/gone", "result"),
        iq("bob@other.org", "result"),
        iq("bob@other.org", "error"),
    ],
)
def test_errors_and_results_are_never_answered_with_errors(routing, xml):
    routing.from_client(xml)
    assert routing.where() == ([], [])


@pytest.mark.parametrize("kind", [None, "normal", "chat", "headline", "groupchat"])
def test_every_message_type_gets_an_error_when_undeliverable(routing, kind):
    routing.from_client(message("nobody@example.org", kind))
    _, (reply,) = routing.where()
    assert error_condition(reply) == "service-unavailable"


def test_route_delivers_handler_output_to_the_resource(routing):
    bob = routing.connect("bob@example.org/phone")
    reply = parseXml("<iq xmlns='jabber:client' to='bob@example.org/phone' type='result' id='1'/>")
    routing.router.route(reply)
    assert [s.toXml() for s in bob.xmlstream.take()] == [reply.toXml()]


@pytest.mark.parametrize(
    "to", [None, "bob@example.org/gone", "bob@example.org", "example.org", "bob@other.org/x"]
)
def test_route_drops_what_no_resource_takes(routing, to):
    bob = routing.connect("bob@example.org/phone")
    reply = parseXml("<message xmlns='jabber:client'/>")
    if to is not None:
        reply["to"] = to
    routing.router.route(reply)
    assert bob.xmlstream.take() == []
    assert routing.sender.xmlstream.take() == []


def test_handlers_output_comes_back_through_the_pipe(routing):
    bob = routing.connect("bob@example.org/phone")
    pipe = XmlPipe()
    routing.router.addRoute("extra", pipe.sink)
    pipe.source.send(parseXml("<message xmlns='jabber:client' to='bob@example.org/phone'/>"))
    assert [m.name for m in bob.xmlstream.take()] == ["message"]
    routing.router.removeRoute("extra", pipe.sink)
    pipe.source.send(parseXml("<message xmlns='jabber:client' to='bob@example.org/phone'/>"))
    assert bob.xmlstream.take() == []
    assert "extra" not in routing.router.routes


def test_parsed_addresses_are_cached_within_a_bound():
    from mcc.xmpp import jids

    jids.parse.cache_clear()
    first = jids.parse("alice@localhost/desk")
    assert jids.parse("alice@localhost/desk") is first
    assert jids.parse.cache_info().maxsize == jids.PARSED_CACHE_SIZE


REMOTE = "juliet@remote.test/phone"


def from_remote(routing, xml):
    stanza = parseXml(xml)
    stanza["from"] = REMOTE
    sent = []
    routing.router.default_remote = sent.append
    to = jid.JID(stanza["to"])
    routing.router.route_from_remote(stanza, jid.JID(REMOTE), to)
    return sent


def test_other_domains_go_to_the_default_remote_route(routing):
    sent = []
    routing.router.default_remote = sent.append
    stanza = routing.from_client(message("juliet@remote.test"))
    assert sent == [stanza] and routing.where() == ([], [])


def test_a_remote_message_to_an_account_is_delivered_like_a_local_one(routing):
    assert from_remote(routing, message("bob@example.org")) == []
    assert routing.where()[0] == [ACCOUNTS]


def test_a_remote_stanza_to_a_connected_resource_goes_to_it(routing):
    bob = routing.connect("bob@example.org/desk")
    from_remote(routing, iq("bob@example.org/desk"))
    [delivered] = bob.xmlstream.take()
    assert delivered["from"] == REMOTE and routing.where()[0] == []


@pytest.mark.parametrize("xml", [iq("bob@example.org"), iq("bob@example.org", "set"), iq("example.org")])
def test_remote_iqs_for_the_accounts_handlers_are_refused(routing, xml):
    [reply] = from_remote(routing, xml)
    assert reply["to"] == REMOTE and error_condition(reply) == "service-unavailable"
    assert routing.where()[0] == []


def test_remote_messages_to_guests_are_refused(routing):
    [reply] = from_remote(routing, message("guest.abc@example.org"))
    assert error_condition(reply) == "service-unavailable" and routing.where()[0] == []


def test_a_remote_ping_to_the_domain_is_answered(routing):
    [reply] = from_remote(
        routing, "<iq xmlns='jabber:client' to='example.org' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>"
    )
    assert (reply["type"], reply["to"], reply["id"]) == ("result", REMOTE, "p1")


def test_remote_results_are_never_answered(routing):
    assert from_remote(routing, iq("bob@example.org", "result")) == []
