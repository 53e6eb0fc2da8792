"""
Tests for L{mcc.xmpp.vcard}: an account sets its own vCard (XEP-0054) and
anyone reads it, through the server's handler collections.
"""

import pytest

from mcc.xmpp.namespaces import NS_VCARD
from tests.memory_xmpp import DOMAIN, bind, make_server, send

ALICE = f"alice@{DOMAIN}"
CARD = f"<vCard xmlns='{NS_VCARD}'><FN>Alice Liddell</FN><NICKNAME>alice</NICKNAME></vCard>"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob"])
    yield server
    server.stopService()
    server.store.close()


def request(session, kind, to=None, card=f"<vCard xmlns='{NS_VCARD}'/>"):
    to = f" to='{to}'" if to else ""
    send(session, f"<iq xmlns='jabber:client' type='{kind}' id='v1'{to}>{card}</iq>")
    (reply,) = session.xmlstream.take()
    assert (reply.name, reply["id"]) == ("iq", "v1")
    return reply


def full_name(reply):
    (card,) = reply.elements(NS_VCARD, "vCard")
    return [str(child) for child in card.elements(NS_VCARD, "FN")]


def test_an_account_without_a_vcard_has_an_empty_one(server):
    desk = bind(server, f"{ALICE}/desk")
    reply = request(desk, "get")
    assert reply["type"] == "result" and not reply.hasAttribute("from")
    assert full_name(reply) == []


def test_own_vcard_is_stored_and_read_by_others(server):
    desk = bind(server, f"{ALICE}/desk")
    stored = request(desk, "set", card=CARD)
    assert stored["type"] == "result"
    assert full_name(request(desk, "get")) == ["Alice Liddell"]

    phone = bind(server, f"bob@{DOMAIN}/phone")
    reply = request(phone, "get", to=ALICE)
    assert (reply["type"], reply["from"]) == ("result", ALICE)
    assert full_name(reply) == ["Alice Liddell"]


def test_setting_a_vcard_again_replaces_it(server):
    desk = bind(server, f"{ALICE}/desk")
    request(desk, "set", card=CARD)
    request(desk, "set", card=CARD.replace("Alice Liddell", "Alice L."))
    assert full_name(request(desk, "get")) == ["Alice L."]


def test_nobody_sets_another_accounts_vcard(server):
    phone = bind(server, f"bob@{DOMAIN}/phone")
    reply = request(phone, "set", to=ALICE, card=CARD)
    assert reply["type"] == "error"
    assert reply.error.firstChildElement().name == "forbidden"
    desk = bind(server, f"{ALICE}/desk")
    assert full_name(request(desk, "get")) == []
