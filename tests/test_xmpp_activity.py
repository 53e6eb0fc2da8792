"""
Tests for L{mcc.xmpp.activity}: entity time (XEP-0202) and last activity
(XEP-0012) of the server and of accounts.
"""

import pytest

from mcc.routing.rosters import RosterItem
from mcc.xmpp.namespaces import NS_LAST, NS_TIME
from tests.memory_xmpp import DOMAIN, available, bind, make_server, send

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob", "carol"])
    server.clock.advance(1_700_000_000)
    yield server
    server.stopService()
    server.store.close()


def ask(session, payload, to):
    send(session, f"<iq xmlns='jabber:client' type='get' id='a1' to='{to}'>{payload}</iq>")
    (reply,) = [s for s in session.xmlstream.take() if s.name == "iq"]
    assert reply["id"] == "a1"
    return reply


LAST = f"<query xmlns='{NS_LAST}'/>"


def test_the_server_tells_its_time_in_utc(server):
    desk = bind(server, f"{ALICE}/desk")
    reply = ask(desk, f"<time xmlns='{NS_TIME}'/>", DOMAIN)
    assert (str(reply.time.tzo), str(reply.time.utc)) == ("+00:00", "2023-11-14T22:13:20.000000Z")


def test_the_servers_last_activity_is_its_uptime():
    server = make_server(users=["alice"])
    server.clock.advance(90)
    desk = bind(server, f"{ALICE}/desk")
    assert ask(desk, LAST, DOMAIN).query["seconds"] == "90"
    server.stopService()


def test_an_account_is_idle_since_its_last_session_ended(server):
    server.store.rosters.put("alice", RosterItem(BOB, subscription="from"))
    desk = bind(server, f"{ALICE}/desk")
    send(desk, "<presence xmlns='jabber:client'><status>Gone fishing</status></presence>")
    bob = bind(server, f"{BOB}/laptop")
    assert ask(bob, LAST, ALICE).query["seconds"] == "0"
    server.end_session(desk)
    server.clock.advance(42)
    reply = ask(bob, LAST, ALICE)
    assert (reply.query["seconds"], str(reply.query)) == ("42", "Gone fishing")


def test_only_contacts_that_see_the_presence_may_ask(server):
    bind(server, f"{ALICE}/desk")
    carol = bind(server, f"carol@{DOMAIN}/x")
    reply = ask(carol, LAST, ALICE)
    assert reply.error.firstChildElement().name == "forbidden"


def test_an_account_that_never_signed_out_has_no_last_activity(server):
    server.store.rosters.put("bob", RosterItem(ALICE, subscription="from"))
    desk = bind(server, f"{ALICE}/desk")
    available(desk)
    reply = ask(desk, LAST, BOB)
    assert reply.error.firstChildElement().name == "service-unavailable"
