"""
Streams other servers open to us, on in-memory transports: STARTTLS first,
then SASL EXTERNAL or dialback, then stanzas whose C{from} is checked.
"""

from twisted.internet import defer
from twisted.internet.address import IPv4Address

from mcc.xmpp.s2s.dialback import dialback_key
from mcc.xmpp.s2s.federation import DomainPolicy
from tests.s2s_memory import DOMAIN, PEER, SECRET, TLSTransport, federation, header, log_lines, peer_certificate

STARTTLS = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"


def connect(links, peer=None):
    xs = links.factory().buildProtocol(IPv4Address("TCP", "127.0.0.9", 40000))
    transport = TLSTransport(peer)
    xs.makeConnection(transport)
    return xs, transport


def encrypted(links, peer=None, trusted=True, sender=PEER):
    """
    A stream through STARTTLS and its restarted header; its output cleared.
    """
    xs, transport = connect(links, peer)
    xs.dataReceived(header(sender=sender))
    xs.dataReceived(STARTTLS)
    assert b"<proceed" in transport.value() and transport.tls is not None
    if not trusted:
        transport.tls.peer.errors.append((0, 18))
    transport.clear()
    xs.dataReceived(header(sender=sender))
    return xs, transport


def stanza(sender=f"juliet@{PEER}/phone", recipient=f"alice@{DOMAIN}"):
    return (
        f"<message xmlns='jabber:server' from='{sender}' to='{recipient}' type='chat'><body>hi</body></message>"
    ).encode()


def test_tls_is_required_and_offered_first():
    links = federation()
    xs, transport = connect(links)
    xs.dataReceived(header())
    sent = transport.value().decode()
    assert "id='id1'" in sent and "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>" in sent
    assert "mechanisms" not in sent
    xs.dataReceived(stanza())
    assert "<policy-violation" in transport.value().decode()
    assert not links.router.from_remote


def test_a_header_for_another_domain_is_refused():
    links = federation()
    xs, transport = connect(links)
    xs.dataReceived(header(to="elsewhere.test"))
    assert "<host-unknown" in transport.value().decode()


def test_a_denied_domain_is_refused_at_its_header():
    links = federation(policy=DomainPolicy(deny=[PEER]))
    xs, transport = connect(links)
    xs.dataReceived(header())
    assert "<policy-violation" in transport.value().decode()


def test_only_allowed_domains_are_accepted():
    links = federation(policy=DomainPolicy(allow=["friend.test"]))
    xs, transport = connect(links)
    xs.dataReceived(header())
    assert "<policy-violation" in transport.value().decode()


def test_sasl_external_for_a_certificate_valid_for_the_domain(tmp_path):
    links = federation()
    xs, transport = encrypted(links, peer_certificate(tmp_path))
    assert "<mechanism>EXTERNAL</mechanism>" in transport.value().decode()
    transport.clear()
    xs.dataReceived(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
    assert "<success" in transport.value().decode()
    xs.dataReceived(header())
    xs.dataReceived(stanza())
    [(message, sender, recipient)] = links.router.from_remote
    assert (sender.full(), recipient.full()) == (f"juliet@{PEER}/phone", f"alice@{DOMAIN}")
    assert message.uri == "jabber:client"


def test_sasl_external_for_another_domain_fails(tmp_path):
    links = federation()
    xs, transport = encrypted(links, peer_certificate(tmp_path))
    transport.clear()
    xs.dataReceived(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>ZXZpbC50ZXN0</auth>")
    assert "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>" in transport.value().decode()


def test_no_external_without_a_trusted_certificate(tmp_path):
    links = federation()
    xs, transport = encrypted(links, peer_certificate(tmp_path), trusted=False)
    sent = transport.value().decode()
    assert "EXTERNAL" not in sent and "urn:xmpp:features:dialback" in sent


def _result(key, sender=PEER, to=DOMAIN):
    return f"<db:result xmlns:db='jabber:server:dialback' from='{sender}' to='{to}'>{key}</db:result>".encode()


def test_dialback_with_a_certificate_valid_for_the_domain_needs_no_verify(tmp_path):
    links = federation()
    asked = []
    links.verify_dialback = lambda *args: asked.append(args)
    xs, transport = encrypted(links, peer_certificate(tmp_path))
    transport.clear()
    xs.dataReceived(_result("somekey"))
    assert "type='valid'" in transport.value().decode() and not asked
    xs.dataReceived(stanza())
    assert len(links.router.from_remote) == 1


def test_an_unverified_peer_is_refused_by_default(tmp_path):
    links = federation()
    xs, transport = encrypted(links, peer_certificate(tmp_path), trusted=False)
    transport.clear()
    xs.dataReceived(_result("somekey"))
    assert "type='invalid'" in transport.value().decode()
    xs.dataReceived(stanza())
    assert "<not-authorized" in transport.value().decode()
    assert not links.router.from_remote


def test_an_unverified_peer_is_asked_back_when_allowed(tmp_path):
    links = federation(allow_unverified=True)
    asked = []

    def verify(originating, stream_id, key):
        asked.append((originating, stream_id, key))
        return defer.succeed((key == "goodkey", "the check"))

    links.verify_dialback = verify
    xs, transport = encrypted(links, peer_certificate(tmp_path), trusted=False)
    transport.clear()
    xs.dataReceived(_result("badkey"))
    assert "type='invalid'" in transport.value().decode()
    transport.clear()
    xs.dataReceived(_result("goodkey"))
    assert "type='valid'" in transport.value().decode()
    assert asked == [(PEER, "id2", "badkey"), (PEER, "id2", "goodkey")]
    xs.dataReceived(stanza())
    assert len(links.router.from_remote) == 1


def test_a_key_its_authoritative_server_denies_is_refused_with_what_it_said(tmp_path):
    links = federation(allow_unverified=True)
    why = f"{PEER}, asked as its authoritative server, did not confirm the key (type=invalid)"
    links.verify_dialback = lambda originating, stream_id, key: defer.succeed((False, why))
    xs, transport = encrypted(links, peer_certificate(tmp_path), trusted=False)
    with log_lines() as lines:
        xs.dataReceived(_result("badkey"))
    assert "type='invalid'" in transport.value().decode()
    assert f"Dialback refused for {PEER} from 127.0.0.9: {why}" in lines


def test_a_stanza_from_another_domain_than_proven_is_invalid_from(tmp_path):
    links = federation()
    xs, transport = encrypted(links, peer_certificate(tmp_path))
    xs.dataReceived(_result("k"))
    transport.clear()
    xs.dataReceived(stanza(sender="mallory@other.test"))
    assert "<invalid-from" in transport.value().decode()
    assert not links.router.from_remote


def test_a_stanza_for_another_domain_is_refused(tmp_path):
    links = federation()
    xs, transport = encrypted(links, peer_certificate(tmp_path))
    xs.dataReceived(_result("k"))
    transport.clear()
    xs.dataReceived(stanza(recipient="bob@third.test"))
    assert "<host-unknown" in transport.value().decode()


def test_we_answer_verify_requests_for_our_keys(tmp_path):
    links = federation()
    xs, transport = encrypted(links, peer_certificate(tmp_path), trusted=False)
    good = dialback_key(SECRET, PEER, DOMAIN, "S1")
    request = "<db:verify xmlns:db='jabber:server:dialback' from='{}' to='{}' id='S1'>{}</db:verify>"
    transport.clear()
    xs.dataReceived(request.format(PEER, DOMAIN, good).encode())
    assert "type='valid'" in transport.value().decode() and "id='S1'" in transport.value().decode()
    transport.clear()
    xs.dataReceived(request.format(PEER, DOMAIN, "0" * 64).encode())
    assert "type='invalid'" in transport.value().decode()


def test_a_flooding_peer_is_disconnected(tmp_path):
    links = federation(domain_limit=(3, 60.0))
    xs, transport = encrypted(links, peer_certificate(tmp_path))
    xs.dataReceived(_result("k"))
    for _ in range(4):
        xs.dataReceived(stanza())
    assert len(links.router.from_remote) == 3
    assert "<policy-violation" in transport.value().decode()


def test_bad_xml_ends_the_stream(tmp_path):
    links = federation()
    xs, transport = encrypted(links, peer_certificate(tmp_path))
    xs.dataReceived(b"<message><<")
    assert "<not-well-formed" in transport.value().decode()


def test_an_unauthenticated_stream_times_out():
    links = federation()
    xs, transport = connect(links)
    xs.dataReceived(header())
    links.clock.advance(60)
    assert "<connection-timeout" in transport.value().decode()


def test_an_authenticated_stream_closes_once_idle(tmp_path):
    links = federation(idle_timeout=300.0)
    xs, transport = encrypted(links, peer_certificate(tmp_path))
    xs.dataReceived(_result("k"))
    links.clock.advance(200)
    xs.dataReceived(b" ")
    links.clock.advance(299)
    assert b"</stream:stream>" not in transport.value()
    links.clock.advance(1)
    assert transport.value().endswith(b"</stream:stream>") and transport.disconnecting
