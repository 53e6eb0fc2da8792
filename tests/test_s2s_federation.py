"""
Outgoing streams on memory transports: where a domain's server is, what
waits while its stream comes up, how it authenticates, what is bounced when
it cannot, and when it closes; and the routing of what comes in.
"""

from twisted.internet import error as net_error
from twisted.names import dns

from mcc.xmpp.s2s.dialback import dialback_key
from mcc.xmpp.s2s.federation import DomainPolicy, SRVTargets, StaticResolver
from tests.s2s_memory import (
    DOMAIN, PEER, SECRET, Endpoint, federation, header, log_lines, message, peer_certificate,
)

FEATURES_TLS = (
    b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    b"</stream:features>"
)
PROCEED = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
FEATURES_DIALBACK = b"<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>"
FEATURES_EXTERNAL = (
    b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>EXTERNAL</mechanism>"
    b"</mechanisms><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>"
)


def successful(deferred):
    results = []
    deferred.addBoth(results.append)
    return results[0]


def test_srv_records_in_order_of_priority_then_weight():
    class Resolver:
        def lookupService(self, name, timeout=None):
            from twisted.internet import defer

            records = [(20, 0, 5269, "backup.example"), (10, 1, 5270, "light.example"), (10, 9, 5271, "main.example")]
            answers = [dns.RRHeader(name, dns.SRV, payload=dns.Record_SRV(*r)) for r in records]
            return defer.succeed((answers, [], []))

    targets = successful(SRVTargets(Resolver())("example.org"))
    assert targets == [("main.example", 5271), ("light.example", 5270), ("backup.example", 5269)]


def test_without_srv_records_the_domain_itself_on_5269():
    assert successful(SRVTargets(StaticResolver({}))("example.org")) == [("example.org", 5269)]


def test_domain_policy():
    assert DomainPolicy().allows("any.test")
    assert not DomainPolicy(deny=["Bad.Test"]).allows("bad.test")
    assert DomainPolicy(allow=["good.test"]).allows("GOOD.test")
    assert not DomainPolicy(allow=["good.test"]).allows("other.test")
    assert not DomainPolicy(enabled=False).allows("good.test")


def conditions(links):
    found = []
    for stanza in links.router.routed:
        error = next(stanza.elements(None, "error"))
        found.append(next(child.name for child in error.elements() if child.name != "text"))
    return found


def test_a_denied_domain_is_bounced_at_once():
    links = federation(Endpoint(), policy=DomainPolicy(deny=[PEER]))
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    assert conditions(links) == ["remote-server-not-found"]
    assert links.router.routed[0]["to"] == f"alice@{DOMAIN}/desk"
    assert not links.endpoints


def test_an_unreachable_server_bounces_what_waited():
    links = federation(Endpoint(failure=net_error.ConnectionRefusedError()))
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    assert links.endpoints == [("10.0.0.1", 5270)]
    assert conditions(links) == ["remote-server-not-found"]
    assert not links.links


THREE_SERVERS = {PEER: [("10.0.0.1", 5270), ("10.0.0.2", 5271), ("10.0.0.3", 5272)]}


def test_a_server_that_closes_before_authenticating_is_passed_over_for_the_next(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint, targets=THREE_SERVERS)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}", "first"))
    # The first accepts TCP, then closes before its stream starts.
    [(xs, transport)] = endpoint.streams
    xs.connectionLost(net_error.ConnectionDone())
    assert links.endpoints == [("10.0.0.1", 5270), ("10.0.0.2", 5271)]
    # The second closes after TLS, before dialback.
    xs, transport = endpoint.streams[1]
    xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id="S1"))
    xs.dataReceived(FEATURES_TLS)
    xs.dataReceived(PROCEED)
    xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id="S2"))
    xs.connectionLost(net_error.ConnectionLost())
    assert links.endpoints[-1] == ("10.0.0.3", 5272)
    assert not links.router.routed
    # The third authenticates and carries what waited.
    xs, transport = endpoint.streams[2]
    xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id="S3"))
    xs.dataReceived(FEATURES_TLS)
    xs.dataReceived(PROCEED)
    xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id="S4"))
    xs.dataReceived(FEATURES_DIALBACK)
    xs.dataReceived(b"<db:result xmlns:db='jabber:server:dialback' from='peer.test' to='one.test' type='valid'/>")
    assert b"first" in transport.value()
    assert not links.router.routed


def test_what_waited_is_bounced_once_every_server_failed(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint, targets=THREE_SERVERS)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    for number in range(3):
        xs, transport = endpoint.streams[number]
        assert not links.router.routed
        xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id=f"S{number}"))
        xs.connectionLost(net_error.ConnectionDone())
    assert len(links.endpoints) == 3
    assert conditions(links) == ["remote-server-not-found"]
    assert not links.links


def test_no_further_server_is_tried_once_the_time_is_up(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint, targets=THREE_SERVERS)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    xs, transport = endpoint.streams[0]
    links.clock.advance(60)
    assert conditions(links) == ["remote-server-timeout"]
    assert transport.disconnecting
    xs.connectionLost(net_error.ConnectionDone())
    assert len(links.endpoints) == 1
    assert conditions(links) == ["remote-server-timeout"]


def test_a_stream_that_does_not_come_up_in_time_bounces_with_a_timeout():
    links = federation(Endpoint(hang=True))
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    links.send(message(f"alice@{DOMAIN}/desk", f"carol@{PEER}", kind="error"))
    links.clock.advance(59)
    assert not links.router.routed
    links.clock.advance(1)
    # Errors are never answered with errors.
    assert conditions(links) == ["remote-server-timeout"]


def _up_to_tls(links, endpoint):
    [(xs, transport)] = endpoint.streams
    assert f"to='{PEER}'".encode() in transport.value() and f"from='{DOMAIN}'".encode() in transport.value()
    xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id="S1"))
    xs.dataReceived(FEATURES_TLS)
    assert b"<starttls" in transport.value()
    xs.dataReceived(PROCEED)
    assert transport.tls is not None and transport.tls.server_name == PEER
    assert transport.value().endswith(b"version='1.0'>")
    transport.clear()
    xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id="S2"))
    return xs, transport


def test_dialback_then_the_stanzas_that_waited_then_an_idle_close(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint, idle_timeout=300.0)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}", "first"))
    xs, transport = _up_to_tls(links, endpoint)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}", "second"))
    xs.dataReceived(FEATURES_DIALBACK)
    key = dialback_key(SECRET, PEER, DOMAIN, "S2")
    assert f">{key}</db:result>".encode() in transport.value()
    assert b"first" not in transport.value()
    transport.clear()
    xs.dataReceived(b"<db:result xmlns:db='jabber:server:dialback' from='peer.test' to='one.test' type='valid'/>")
    sent = transport.value().decode()
    # In the stream's own namespace, jabber:server.
    assert sent.index("first") < sent.index("second") and "jabber:client" not in sent
    assert set(links.links) == {PEER}
    transport.clear()
    links.clock.advance(200)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}", "third"))
    links.clock.advance(299)
    assert b"</stream:stream>" not in transport.value()
    links.clock.advance(1)
    assert b"</stream:stream>" in transport.value() and transport.disconnecting


def test_sasl_external_when_offered_and_our_certificate_is_valid(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint, own_valid=True)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}", "first"))
    xs, transport = _up_to_tls(links, endpoint)
    xs.dataReceived(FEATURES_EXTERNAL)
    assert b"mechanism='EXTERNAL'>b25lLnRlc3Q=</auth>" in transport.value()
    xs.dataReceived(b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
    transport.clear()
    xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id="S3"))
    xs.dataReceived(b"<stream:features/>")
    assert b"first" in transport.value()


def test_a_peer_whose_certificate_is_not_valid_is_refused(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path, domain="someone-else.test"))
    links = federation(endpoint)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    xs, transport = _up_to_tls(links, endpoint)
    xs.dataReceived(FEATURES_DIALBACK)
    assert b"<result" not in transport.value()
    assert conditions(links) == ["remote-server-not-found"]


def test_a_refused_dialback_key_bounces(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    xs, transport = _up_to_tls(links, endpoint)
    xs.dataReceived(FEATURES_DIALBACK)
    with log_lines() as lines:
        xs.dataReceived(
            b"<db:result xmlns:db='jabber:server:dialback' from='peer.test' to='one.test' type='invalid'/>"
        )
    assert conditions(links) == ["remote-server-not-found"]
    why = f"{PEER} did not accept our dialback key (type=invalid)"
    assert str(next(links.router.routed[0].elements(None, "error")).text).strip() == why
    assert any(why in line for line in lines)


def test_a_dialback_error_is_told_with_its_condition_and_text(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    xs, transport = _up_to_tls(links, endpoint)
    xs.dataReceived(FEATURES_DIALBACK)
    xs.dataReceived(
        b"<db:result xmlns:db='jabber:server:dialback' from='peer.test' to='one.test' type='error'>"
        b"<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        b"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no such domain here</text></error></db:result>"
    )
    why = f"{PEER} did not accept our dialback key (type=error, item-not-found: no such domain here)"
    assert str(next(links.router.routed[0].elements(None, "error")).text).strip() == why


def test_a_peer_without_tls_is_refused(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint)
    links.send(message(f"alice@{DOMAIN}/desk", f"bob@{PEER}"))
    [(xs, transport)] = endpoint.streams
    xs.dataReceived(header(to=DOMAIN, sender=PEER, stream_id="S1"))
    xs.dataReceived(FEATURES_DIALBACK)
    assert b"<policy-violation" in transport.value()
    assert conditions(links) == ["remote-server-not-found"]


def test_verify_asks_the_authoritative_server(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint)
    answer = links.verify_dialback(PEER, "ours1", "thekey")
    xs, transport = _up_to_tls(links, endpoint)
    xs.dataReceived(FEATURES_DIALBACK)
    assert b"id='ours1'" in transport.value() and b">thekey</db:verify>" in transport.value()
    xs.dataReceived(
        b"<db:verify xmlns:db='jabber:server:dialback' from='peer.test' to='one.test' id='ours1' type='valid'/>"
    )
    assert successful(answer) == (True, f"dialback, confirmed by the authoritative server of {PEER}")


def test_a_denied_verify_says_what_the_authoritative_server_answered(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint)
    answer = links.verify_dialback(PEER, "ours1", "thekey")
    xs, transport = _up_to_tls(links, endpoint)
    xs.dataReceived(FEATURES_DIALBACK)
    xs.dataReceived(
        b"<db:verify xmlns:db='jabber:server:dialback' from='peer.test' to='one.test' id='ours1' type='invalid'/>"
    )
    assert successful(answer) == (
        False, f"{PEER}, asked as its authoritative server, did not confirm the key (type=invalid)"
    )


def test_a_verify_that_takes_too_long_is_false_and_its_stream_closed(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint)
    answer = links.verify_dialback(PEER, "ours1", "thekey")
    [(xs, transport)] = endpoint.streams
    links.clock.advance(60)
    assert successful(answer) == (False, f"the authoritative server of {PEER} did not answer within 60 s")
    assert transport.disconnecting


def test_what_goes_out_is_a_copy_in_the_server_namespace(tmp_path):
    endpoint = Endpoint(peer_certificate(tmp_path))
    links = federation(endpoint)
    original = message(f"alice@{DOMAIN}/desk", f"bob@{PEER}", "kept")
    original.addElement(("urn:xmpp:receipts", "request"))
    links.send(original)
    xs, transport = _up_to_tls(links, endpoint)
    xs.dataReceived(FEATURES_DIALBACK)
    transport.clear()
    xs.dataReceived(b"<db:result xmlns:db='jabber:server:dialback' from='peer.test' to='one.test' type='valid'/>")
    sent = transport.value().decode()
    assert "<body>kept</body>" in sent and "<request xmlns='urn:xmpp:receipts'/>" in sent
    assert original.uri == original.body.uri == "jabber:client"
