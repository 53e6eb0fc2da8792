"""
Tests for what the server says about itself and its accounts, through the
server's handler collections: service discovery (XEP-0030), ping
(XEP-0199), software version (XEP-0092) and the legacy session request.
"""

import pytest

from mcc import __version__
from mcc.xmpp import caps, pep
from mcc.xmpp.namespaces import (
    NS_BLOCKING,
    NS_CARBONS,
    NS_DISCO_INFO,
    NS_DISCO_ITEMS,
    NS_LAST,
    NS_MAM,
    NS_OFFLINE,
    NS_PING,
    NS_PRIVATE,
    NS_ROSTER,
    NS_SESSION,
    NS_SID,
    NS_TIME,
    NS_VCARD,
    NS_VERSION,
)
from tests.memory_xmpp import DOMAIN, bind, make_server, send

DESK = f"alice@{DOMAIN}/desk"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob"])
    yield server
    server.stopService()
    server.store.close()


@pytest.fixture
def desk(server):
    return bind(server, DESK)


def ask(session, child, to=None, kind="get"):
    """
    Send an IQ with C{child} and return the one reply.
    """
    to = f" to='{to}'" if to else ""
    send(session, f"<iq xmlns='jabber:client' type='{kind}' id='q1'{to}>{child}</iq>")
    (reply,) = session.xmlstream.take()
    assert (reply.name, reply["id"], reply["to"]) == ("iq", "q1", DESK)
    return reply


def identities(query):
    return [
        (identity["category"], identity["type"])
        for identity in query.elements(NS_DISCO_INFO, "identity")
    ]


def features(query):
    return {feature["var"] for feature in query.elements(NS_DISCO_INFO, "feature")}


def test_domain_info_names_a_server_and_its_features(desk):
    reply = ask(desk, f"<query xmlns='{NS_DISCO_INFO}'/>", to=DOMAIN)
    assert (reply["type"], reply["from"]) == ("result", DOMAIN)
    assert identities(reply.query) == [("server", "im")]
    assert {
        NS_DISCO_INFO,
        NS_DISCO_ITEMS,
        NS_ROSTER,
        NS_VCARD,
        NS_OFFLINE,
        NS_PING,
        NS_VERSION,
    } <= features(reply.query)


def test_domain_has_no_items(desk):
    reply = ask(desk, f"<query xmlns='{NS_DISCO_ITEMS}'/>", to=DOMAIN)
    assert (reply["type"], reply["from"]) == ("result", DOMAIN)
    assert list(reply.query.elements()) == []


def test_account_info_names_a_registered_account(desk):
    reply = ask(desk, f"<query xmlns='{NS_DISCO_INFO}'/>", to=f"bob@{DOMAIN}")
    assert (reply["type"], reply["from"]) == ("result", f"bob@{DOMAIN}")
    assert identities(reply.query) == [("account", "registered"), ("pubsub", "pep")]
    assert NS_VCARD in features(reply.query)


def test_info_of_an_unknown_account_is_service_unavailable(desk):
    reply = ask(desk, f"<query xmlns='{NS_DISCO_INFO}'/>", to=f"nobody@{DOMAIN}")
    assert reply["type"] == "error"
    assert reply.error.firstChildElement().name == "service-unavailable"


@pytest.mark.parametrize("to", [DOMAIN, f"alice@{DOMAIN}", None])
def test_ping_is_answered_from_whom_it_was_sent_to(desk, to):
    reply = ask(desk, f"<ping xmlns='{NS_PING}'/>", to=to)
    assert reply["type"] == "result"
    assert reply.getAttribute("from") == to


def test_version_names_mcc(desk):
    reply = ask(desk, f"<query xmlns='{NS_VERSION}'/>", to=DOMAIN)
    assert (reply["type"], reply["from"]) == ("result", DOMAIN)
    fields = {child.name: str(child) for child in reply.query.elements(NS_VERSION)}
    assert (fields["name"], fields["version"]) == ("mcc", __version__)


@pytest.mark.parametrize("to", [DOMAIN, None])
def test_legacy_session_gets_an_empty_result(desk, to):
    reply = ask(desk, f"<session xmlns='{NS_SESSION}'/>", to=to, kind="set")
    assert reply["type"] == "result"
    assert list(reply.elements()) == []


@pytest.mark.parametrize("kind", ["get", "set"])
def test_unknown_request_to_the_domain_is_answered_with_an_error(desk, kind):
    reply = ask(desk, "<query xmlns='urn:example:unknown'/>", to=DOMAIN, kind=kind)
    assert (reply["type"], reply["from"]) == ("error", DOMAIN)
    assert reply.error.firstChildElement().name in ("service-unavailable", "feature-not-implemented")


def test_domain_info_lists_exactly_what_the_server_implements(desk):
    reply = ask(desk, f"<query xmlns='{NS_DISCO_INFO}'/>", to=DOMAIN)
    assert sorted(features(reply.query)) == sorted({
        NS_DISCO_INFO,
        NS_DISCO_ITEMS,
        NS_ROSTER,
        NS_VCARD,
        NS_OFFLINE,
        NS_PING,
        NS_VERSION,
        NS_CARBONS,
        NS_TIME,
        NS_LAST,
        NS_PRIVATE,
        NS_BLOCKING,
    })


def test_account_info_lists_the_archive_and_personal_eventing(desk):
    reply = ask(desk, f"<query xmlns='{NS_DISCO_INFO}'/>", to=f"alice@{DOMAIN}")
    assert features(reply.query) == {
        NS_DISCO_INFO, NS_DISCO_ITEMS, NS_VCARD, NS_PING, NS_MAM, NS_SID, NS_LAST, *pep.FEATURES
    }


def test_the_servers_capabilities_hash_its_disco_info(server, desk):
    """
    XEP-0115 section 5: the verification string is the hash of exactly what
    disco#info answers, and the node it names answers the same.
    """
    reply = ask(desk, f"<query xmlns='{NS_DISCO_INFO}'/>", to=DOMAIN)
    identity = next(reply.query.elements(NS_DISCO_INFO, "identity"))
    ver = caps.verification(
        [(identity["category"], identity["type"], "", identity.getAttribute("name", ""))],
        features(reply.query),
    )
    assert server.domain_info.ver == ver
    node = f"{caps.CAPS_NODE}#{ver}"
    by_node = ask(desk, f"<query xmlns='{NS_DISCO_INFO}' node='{node}'/>", to=DOMAIN)
    assert features(by_node.query) == features(reply.query)
    assert by_node.query["node"] == node
