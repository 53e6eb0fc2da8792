"""
Tests for L{mcc.xmpp.blocking}: blocking command (XEP-0191).
"""

import pytest

from mcc.xmpp.namespaces import NS_BLOCKING, NS_BLOCKING_ERRORS
from tests.memory_xmpp import DOMAIN, available, bind, make_server, send

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob"])
    yield server
    server.stopService()
    server.store.close()


def command(session, kind, payload):
    send(session, f"<iq xmlns='jabber:client' type='{kind}' id='b1'>{payload}</iq>")
    sent = session.xmlstream.take()
    (reply,) = [s for s in sent if s.name == "iq" and s.getAttribute("id") == "b1"]
    session.xmlstream.sent = [s for s in sent if s is not reply]
    return reply


def block(session, *addresses, verb="block"):
    items = "".join(f"<item jid='{a}'/>" for a in addresses)
    return command(session, "set", f"<{verb} xmlns='{NS_BLOCKING}'>{items}</{verb}>")


def blocklist(session):
    reply = command(session, "get", f"<blocklist xmlns='{NS_BLOCKING}'/>")
    return [item["jid"] for item in reply.blocklist.elements(NS_BLOCKING, "item")]


def chat(session, to, text="hi"):
    send(session, f"<message xmlns='jabber:client' type='chat' id='m1' to='{to}'><body>{text}</body></message>")


def test_the_blocklist_is_kept_and_pushed_to_resources_that_read_it(server):
    desk = bind(server, f"{ALICE}/desk")
    phone = bind(server, f"{ALICE}/phone")
    idle = bind(server, f"{ALICE}/idle")
    assert blocklist(phone) == []
    assert block(desk, BOB)["type"] == "result"
    (push,) = phone.xmlstream.take()
    assert (push.name, push["type"], push.firstChildElement().name) == ("iq", "set", "block")
    assert [i["jid"] for i in push.firstChildElement().elements()] == [BOB]
    assert idle.xmlstream.take() == []
    assert blocklist(desk) == [BOB]
    assert server.store.blocklists.blocked("alice") == [BOB]
    block(desk, verb="unblock")
    (push,) = phone.xmlstream.take()
    assert push.firstChildElement().name == "unblock"
    assert blocklist(desk) == []


def test_messages_from_a_blocked_jid_are_bounced_and_to_it_refused(server):
    desk = bind(server, f"{ALICE}/desk")
    bob = bind(server, f"{BOB}/laptop")
    block(desk, BOB)
    chat(bob, f"{ALICE}/desk")
    chat(bob, ALICE)
    assert desk.xmlstream.take() == []
    bounces = bob.xmlstream.take()
    assert [b.error.firstChildElement().name for b in bounces] == ["service-unavailable"] * 2
    chat(desk, f"{BOB}/laptop")
    (refusal,) = desk.xmlstream.take()
    assert refusal.error.firstChildElement().name == "not-acceptable"
    assert next(refusal.error.elements(NS_BLOCKING_ERRORS, "blocked"))
    assert bob.xmlstream.take() == []
    # Presence from the blocked JID is dropped silently.
    send(bob, f"<presence xmlns='jabber:client' to='{ALICE}/desk'/>")
    assert desk.xmlstream.take() == [] and bob.xmlstream.take() == []


def test_blocking_a_domain_or_a_full_jid(server):
    desk = bind(server, f"{ALICE}/desk")
    bob = bind(server, f"{BOB}/laptop")
    other = bind(server, f"{BOB}/other")
    block(desk, f"{BOB}/laptop")
    chat(other, f"{ALICE}/desk", "from the other one")
    assert [str(m.body) for m in desk.xmlstream.take()] == ["from the other one"]
    chat(bob, f"{ALICE}/desk")
    assert desk.xmlstream.take() == []


def test_blocked_contacts_see_the_account_go(server):
    desk = bind(server, f"{ALICE}/desk")
    bob = bind(server, f"{BOB}/laptop")
    available(desk)
    available(bob)
    bob.xmlstream.take()
    block(desk, BOB)
    (gone,) = bob.xmlstream.take()
    assert (gone.name, gone["type"], gone["from"]) == ("presence", "unavailable", f"{ALICE}/desk")


def test_bad_block_commands_are_refused(server):
    desk = bind(server, f"{ALICE}/desk")
    assert block(desk).error.firstChildElement().name == "bad-request"
    assert block(desk, "@nobody").error.firstChildElement().name == "jid-malformed"


def test_a_blocklist_holds_for_an_account_with_nobody_online(server):
    desk = bind(server, f"{ALICE}/desk")
    block(desk, BOB)
    server.end_session(desk)
    bob = bind(server, f"{BOB}/laptop")
    chat(bob, ALICE, "while away")
    (bounce,) = bob.xmlstream.take()
    assert bounce.error.firstChildElement().name == "service-unavailable"
    assert server.store.offline.count("alice") == 0


def test_no_presence_passes_between_an_account_and_whom_it_blocks(server):
    from mcc.routing.rosters import RosterItem

    server.store.rosters.put("alice", RosterItem(BOB, subscription="both"))
    server.store.rosters.put("bob", RosterItem(ALICE, subscription="both"))
    desk = bind(server, f"{ALICE}/desk")
    bob = bind(server, f"{BOB}/laptop")
    available(bob)
    block(desk, BOB)
    bob.xmlstream.take()
    available(desk)
    assert [p for p in desk.xmlstream.take() if p.getAttribute("from", "").startswith(BOB)] == []
    assert [p.toXml() for p in bob.xmlstream.take()] == []
    send(bob, "<presence xmlns='jabber:client'><show>away</show></presence>")
    assert [p for p in desk.xmlstream.take() if p.getAttribute("from", "").startswith(BOB)] == []
