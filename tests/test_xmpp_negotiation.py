"""
Tests for L{mcc.xmpp.negotiation}: a whole stream negotiation over an
in-memory transport whose STARTTLS only takes notes, timed by a L{Clock}.
"""

import base64

import pytest
from scramp import ScramClient
from twisted.internet import address
from twisted.python import failure
from twisted.internet.error import ConnectionDone

from mcc.xmpp.namespaces import NS_BIND, NS_CAPS, NS_SASL, NS_SESSION, NS_STREAMS, NS_TLS
from tests.memory_xmpp import DOMAIN, TLS_OPTIONS, ClientSide, TLSStringTransport, make_server

AUTH_TIMEOUT = 60


def header(to=DOMAIN, namespace="jabber:client", version="1.0"):
    attributes = f" to='{to}'" if to else ""
    attributes += f" version='{version}'" if version else ""
    return (
        f"<stream:stream xmlns='{namespace}' xmlns:stream='{NS_STREAMS}'{attributes}>"
    )


def b64(data):
    return base64.b64encode(data).decode("ascii")


class Client:
    """
    One connection to the server, driven by hand.
    """

    def __init__(self, server, peer="192.0.2.7"):
        self.server = server
        self.transport = TLSStringTransport(peer)
        self.stream = server.factory().buildProtocol(address.IPv4Address("TCP", peer, 40000))
        self.stream.makeConnection(self.transport)
        self.side = ClientSide(self.transport)

    def send(self, data):
        self.stream.dataReceived(data.encode("utf-8"))

    def elements(self):
        return self.side.elements()

    def only(self):
        (element,) = self.elements()
        return element

    def features(self, to=DOMAIN):
        """
        Start a stream; return the features as (namespace, name) pairs with
        the names of their children.
        """
        self.send(header(to))
        (features,) = self.elements()
        assert (features.uri, features.name) == (NS_STREAMS, "features")
        return [
            ((f.uri, f.name), [c.name for c in f.elements()]) for f in features.elements()
        ]

    def starttls(self):
        self.send(header())
        self.elements()
        self.send(f"<starttls xmlns='{NS_TLS}'/>")
        proceed = self.only()
        assert (proceed.uri, proceed.name) == (NS_TLS, "proceed")

    def auth(self, mechanism, initial=None):
        content = "" if initial is None else b64(initial) or "="
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='{mechanism}'>{content}</auth>")
        return self.only()

    def response(self, data):
        self.send(f"<response xmlns='{NS_SASL}'>{b64(data)}</response>")
        return self.only()

    def login(self, username="alice", password="ecila"):
        self.starttls()
        self.features()
        success = self.auth("PLAIN", f"\0{username}\0{password}".encode())
        assert success.name == "success", success.toXml()

    def bind(self, resource=None):
        requested = f"<resource>{resource}</resource>" if resource is not None else ""
        self.send(
            f"<iq xmlns='jabber:client' type='set' id='bind1'>"
            f"<bind xmlns='{NS_BIND}'>{requested}</bind></iq>"
        )
        return self.only()

    def stream_error(self):
        """
        The condition of the stream error the server closed with.
        """
        (error,) = [e for e in self.elements() if e.name == "error"]
        assert error.uri == NS_STREAMS
        assert self.transport.disconnecting
        return next(error.elements()).name

    def lose(self):
        self.stream.connectionLost(failure.Failure(ConnectionDone()))


def sasl_condition(element):
    assert (element.uri, element.name) == (NS_SASL, "failure"), element.toXml()
    return next(element.elements()).name


@pytest.fixture
def server():
    server = make_server(users=["alice"], auth_timeout=AUTH_TIMEOUT)
    yield server
    server.stopService()
    server.store.close()


@pytest.fixture
def client(server):
    return Client(server)


def test_before_tls_only_required_starttls(client):
    assert client.features() == [((NS_TLS, "starttls"), ["required"])]
    assert client.side.headers[0]["from"] == DOMAIN
    assert client.side.headers[0]["version"] == "1.0"


def test_starttls_proceeds_then_starts_tls(client):
    client.starttls()
    assert client.transport.tls_options is TLS_OPTIONS
    # <proceed/> went out in plaintext, before the TLS layer.
    assert client.transport.tls_started_at == len(client.transport.value())


def test_after_tls_the_mechanisms(client):
    client.starttls()
    client.send(header())
    (features,) = client.elements()
    assert [(f.uri, f.name) for f in features.elements()] == [(NS_SASL, "mechanisms")]
    offered = [str(m) for m in features.mechanisms.elements()]
    assert offered == ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]


def test_new_stream_id_each_time(client):
    client.starttls()
    client.features()
    first, second = client.side.headers
    assert first["id"] != second["id"]


def test_auth_before_tls_needs_encryption(client):
    client.features()
    assert sasl_condition(client.auth("PLAIN", b"\0alice\0ecila")) == "encryption-required"


def test_starttls_twice_is_a_policy_violation(client):
    client.starttls()
    client.features()
    client.send(f"<starttls xmlns='{NS_TLS}'/>")
    assert client.stream_error() == "policy-violation"


def test_plaintext_injected_after_starttls_is_ignored(client):
    client.send(header())
    client.elements()
    credentials = b64(b"\0alice\0ecila")
    client.send(
        f"<starttls xmlns='{NS_TLS}'/>"
        f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{credentials}</auth>"
    )
    assert [e.name for e in client.elements()] == ["proceed"]
    assert client.stream.authenticator.username is None


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_scram_then_bind_and_session_features(client, mechanism):
    client.starttls()
    client.features()
    scram = ScramClient([mechanism], "alice", "ecila")
    challenge = client.auth(mechanism, scram.get_client_first().encode())
    assert challenge.name == "challenge"
    scram.set_server_first(base64.b64decode(str(challenge)).decode())
    success = client.response(scram.get_client_final().encode())
    assert (success.uri, success.name) == (NS_SASL, "success")
    scram.set_server_final(base64.b64decode(str(success)).decode())
    assert client.features() == [
        ((NS_BIND, "bind"), []),
        ((NS_SESSION, "session"), ["optional"]),
        (("urn:xmpp:sm:3", "sm"), []),
        (("urn:xmpp:csi:0", "csi"), []),
        ((NS_CAPS, "c"), []),
    ]


def test_plain_without_initial_response_gets_an_empty_challenge(client):
    client.starttls()
    client.features()
    challenge = client.auth("PLAIN")
    assert challenge.name == "challenge" and str(challenge) == ""
    assert client.response(b"\0alice\0ecila").name == "success"


def test_wrong_password(client):
    client.starttls()
    client.features()
    assert sasl_condition(client.auth("PLAIN", b"\0alice\0wrong")) == "not-authorized"
    # The client may try again on the same stream.
    assert client.auth("PLAIN", b"\0alice\0ecila").name == "success"


def test_invalid_mechanism(client):
    client.starttls()
    client.features()
    assert sasl_condition(client.auth("DIGEST-MD5", b"x")) == "invalid-mechanism"


def test_incorrect_encoding(client):
    client.starttls()
    client.features()
    client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>not base64!</auth>")
    assert sasl_condition(client.only()) == "incorrect-encoding"


def test_abort(client):
    client.starttls()
    client.features()
    scram = ScramClient(["SCRAM-SHA-256"], "alice", "x")
    client.auth("SCRAM-SHA-256", scram.get_client_first().encode())
    client.send(f"<abort xmlns='{NS_SASL}'/>")
    assert sasl_condition(client.only()) == "aborted"
    assert client.auth("PLAIN", b"\0alice\0ecila").name == "success"


def test_response_without_exchange(client):
    client.starttls()
    client.features()
    client.send(f"<response xmlns='{NS_SASL}'>AAAA</response>")
    assert client.stream_error() == "policy-violation"


def test_disabled_account(server, client):
    server.accounts.set_disabled("alice", True)
    client.starttls()
    client.features()
    assert sasl_condition(client.auth("PLAIN", b"\0alice\0ecila")) == "account-disabled"


def test_failures_are_throttled_per_address(server):
    allowed = server.config.auth_failures_allowed
    client = Client(server)
    client.starttls()
    client.features()
    for _ in range(allowed):
        assert sasl_condition(client.auth("PLAIN", b"\0alice\0wrong")) == "not-authorized"
    assert sasl_condition(client.auth("PLAIN", b"\0alice\0ecila")) == "temporary-auth-failure"

    other = Client(server, peer="192.0.2.8")
    other.login()

    server.clock.advance(server.config.auth_failure_window)
    again = Client(server)
    again.starttls()
    again.features()
    assert again.auth("PLAIN", b"\0alice\0ecila").name == "success"


def test_a_good_login_does_not_wipe_the_failures_of_its_address(server):
    """
    Otherwise one account's owner could guess at another's password for
    ever, logging in as themselves between guesses.
    """
    server.accounts.add("mallory", "yrollam")
    client = Client(server)
    client.starttls()
    client.features()
    for _ in range(server.config.auth_failures_allowed - 1):
        assert sasl_condition(client.auth("PLAIN", b"\0alice\0guess")) == "not-authorized"
        Client(server).login("mallory", "yrollam")
    assert sasl_condition(client.auth("PLAIN", b"\0alice\0guess")) == "not-authorized"
    assert sasl_condition(client.auth("PLAIN", b"\0alice\0ecila")) == "temporary-auth-failure"


def test_exchanges_begun_beyond_those_under_way_are_refused_before_the_salt():
    """
    An exchange counts as failed once it fails, but while under way it
    holds one of the address's places: those begun in parallel beyond them
    are refused before SCRAM shows the salt, and the failures then stop
    the address as usual.
    """
    in_progress = 3
    server = make_server(
        users=["alice"], auth_timeout=AUTH_TIMEOUT, logins_in_progress_per_address=in_progress
    )
    try:
        allowed = server.config.auth_failures_allowed
        assert allowed > in_progress
        guesses = []
        refusals = []
        for _ in range(in_progress + 2):
            client = Client(server)
            client.starttls()
            client.features()
            scram = ScramClient(["SCRAM-SHA-256"], "alice", "guess")
            answer = client.auth("SCRAM-SHA-256", scram.get_client_first().encode())
            if answer.name == "challenge":
                scram.set_server_first(base64.b64decode(str(answer)).decode())
                guesses.append((client, scram))
            else:
                refusals.append(sasl_condition(answer))
        answers = [
            sasl_condition(client.response(scram.get_client_final().encode()))
            for client, scram in guesses
        ]
        assert answers == ["not-authorized"] * in_progress
        assert refusals == ["temporary-auth-failure"] * 2
        # The places are free again, and the address has failures left.
        client = Client(server)
        client.starttls()
        client.features()
        assert client.auth("SCRAM-SHA-256", b"n,,n=alice,r=abcdefghijklmnop").name == "challenge"
    finally:
        server.stopService()
        server.store.close()


def test_bind_with_a_resource(server, client):
    client.login()
    client.features()
    result = client.bind("desk")
    assert (result["type"], result["id"]) == ("result", "bind1")
    assert str(result.bind.jid) == "alice@example.org/desk"
    assert server.sessions.sessions("alice@example.org")[0].jid.full() == "alice@example.org/desk"


@pytest.mark.parametrize("resource", [None, "", "   "])
def test_bind_without_a_resource(server, client, resource):
    client.login()
    client.features()
    result = client.bind(resource)
    assert result["type"] == "result"
    full = str(result.bind.jid)
    assert full.startswith("alice@example.org/mcc-")
    assert [s.jid.full() for s in server.sessions.all()] == [full]


def test_bind_with_an_invalid_resource(server, client):
    client.login()
    client.features()
    result = client.bind("private-use-\ue000")
    assert result["type"] == "error"
    assert result.error.firstChildElement().name == "bad-request"
    assert len(server.sessions) == 0
    assert client.bind("desk")["type"] == "result"


def test_legacy_session_after_bind(client):
    client.login()
    client.features()
    client.bind("desk")
    client.send(
        f"<iq xmlns='jabber:client' type='set' id='s1'><session xmlns='{NS_SESSION}'/></iq>"
    )
    reply = client.only()
    assert (reply["type"], reply["id"]) == ("result", "s1")
    assert not reply.hasAttribute("from")
    assert list(reply.elements()) == []


@pytest.mark.parametrize(
    "stanza",
    [
        "<message xmlns='jabber:client' to='bob@example.org'><body>hi</body></message>",
        "<presence xmlns='jabber:client'/>",
        "<iq xmlns='jabber:client' type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>",
    ],
)
def test_stanza_before_auth_is_not_authorized(client, stanza):
    client.features()
    client.send(stanza)
    assert client.stream_error() == "not-authorized"


def test_stanza_after_auth_before_bind_is_not_authorized(client):
    client.login()
    client.features()
    client.send("<presence xmlns='jabber:client'/>")
    assert client.stream_error() == "not-authorized"


def test_unknown_element_before_auth(client):
    client.features()
    client.send("<hello xmlns='urn:example'/>")
    assert client.stream_error() == "unsupported-stanza-type"


@pytest.mark.parametrize(
    "stream_header, condition",
    [
        (header(to="other.org"), "host-unknown"),
        (header(namespace="jabber:server"), "invalid-namespace"),
        (header(version=None), "unsupported-version"),
        (header(version="0.9"), "unsupported-version"),
        (
            f"<stream xmlns='jabber:client' to='{DOMAIN}' version='1.0'>",
            "invalid-namespace",
        ),
    ],
)
def test_bad_stream_header(client, stream_header, condition):
    client.send(stream_header)
    assert client.stream_error() == condition
    assert client.side.headers[0]["from"] == DOMAIN


def test_header_without_to_is_accepted(client):
    assert client.features(to=None) == [((NS_TLS, "starttls"), ["required"])]


def test_auth_timeout_closes_the_stream(server, client):
    client.starttls()
    client.features()
    server.clock.advance(AUTH_TIMEOUT - 1)
    assert not client.transport.disconnecting
    server.clock.advance(1)
    assert client.stream_error() == "connection-timeout"


def test_auth_timeout_applies_after_authentication_until_bind(server, client):
    client.login()
    client.features()
    server.clock.advance(AUTH_TIMEOUT)
    assert client.stream_error() == "connection-timeout"


def test_binding_cancels_the_auth_timeout(server, client):
    client.login()
    client.features()
    client.bind("desk")
    server.clock.advance(AUTH_TIMEOUT)
    assert not client.transport.disconnecting
    assert client.elements() == []


def test_lost_connection_cancels_the_auth_timeout(server, client):
    client.features()
    client.lose()
    assert server.clock.getDelayedCalls() == []


def test_plaintext_on_loopback_when_allowed():
    server = make_server(users=["alice"], allow_plaintext_on_loopback=True)
    try:
        local = Client(server, peer="127.0.0.1")
        assert local.features() == [
            ((NS_TLS, "starttls"), []),
            ((NS_SASL, "mechanisms"), ["mechanism", "mechanism", "mechanism"]),
        ]
        assert local.auth("PLAIN", b"\0alice\0ecila").name == "success"

        remote = Client(server, peer="192.0.2.7")
        assert remote.features() == [((NS_TLS, "starttls"), ["required"])]
    finally:
        server.stopService()
        server.store.close()


def test_binding_a_bound_resource_again_replaces_the_older_session(server):
    first, second = Client(server), Client(server)
    for client in (first, second):
        client.login()
        client.features()
    first.bind("desk")
    older = server.sessions.sessions("alice@example.org")[0]
    assert second.bind("desk")["type"] == "result"
    assert first.stream_error() == "conflict"
    (session,) = server.sessions.sessions("alice@example.org")
    assert session is not older
    assert session.xmlstream is second.stream
    # The older connection going away later leaves the new session alone.
    first.lose()
    assert server.sessions.sessions("alice@example.org") == [session]
