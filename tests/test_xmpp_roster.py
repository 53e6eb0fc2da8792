"""
Tests for L{mcc.xmpp.roster}: roster get, set and remove through the
server's handler collections, with pushes to the interested resources.
"""

import pytest

from mcc.store import RosterItem
from mcc.xmpp.namespaces import NS_ROSTER
from tests.memory_xmpp import available, bind, make_server, send

ALICE = "alice@example.org"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob", "carol"])
    yield server
    server.stopService()
    server.store.close()


def roster_get(session, request_id="get1", to=None):
    to = f" to='{to}'" if to else ""
    send(
        session,
        f"<iq xmlns='jabber:client' type='get' id='{request_id}'{to}>"
        f"<query xmlns='{NS_ROSTER}'/></iq>",
    )
    (reply,) = session.xmlstream.take()
    return reply


def roster_set(session, item, request_id="set1", to=None):
    to = f" to='{to}'" if to else ""
    send(
        session,
        f"<iq xmlns='jabber:client' type='set' id='{request_id}'{to}>"
        f"<query xmlns='{NS_ROSTER}'>{item}</query></iq>",
    )


def items_of(query):
    return [
        (
            item["jid"],
            item.getAttribute("name"),
            item["subscription"],
            item.getAttribute("ask"),
            [str(group) for group in item.elements(NS_ROSTER, "group")],
        )
        for item in query.elements(NS_ROSTER, "item")
    ]


def pushes(session):
    """
    The roster pushes C{session} received: (item tuple, push element).
    """
    found = []
    for stanza in session.xmlstream.take():
        assert stanza.name == "iq" and stanza["type"] == "set", stanza.toXml()
        (item,) = items_of(stanza.query)
        found.append((item, stanza))
    return found


def error_condition(stanza):
    assert stanza["type"] == "error"
    return stanza.error.firstChildElement().name


def test_empty_roster(server):
    desk = bind(server, "alice@example.org/desk")
    reply = roster_get(desk)
    assert (reply.name, reply["type"], reply["id"]) == ("iq", "result", "get1")
    assert reply["to"] == "alice@example.org/desk"
    assert not reply.hasAttribute("from")
    assert (reply.query.uri, items_of(reply.query)) == (NS_ROSTER, [])


def test_reply_comes_from_the_address_asked(server):
    desk = bind(server, "alice@example.org/desk")
    reply = roster_get(desk, to=ALICE)
    assert (reply["type"], reply["from"]) == ("result", ALICE)


def test_roster_lists_every_item(server):
    rosters = server.store.rosters
    rosters.put("alice", RosterItem("bob@example.org", "Bob", "both", False, ("Work", "Friends")))
    rosters.put("alice", RosterItem("carol@example.org", None, "none", True))
    desk = bind(server, "alice@example.org/desk")
    assert items_of(roster_get(desk).query) == [
        ("bob@example.org", "Bob", "both", None, ["Work", "Friends"]),
        ("carol@example.org", None, "none", "subscribe", []),
    ]


def test_set_is_stored_answered_and_pushed_to_interested_resources_only(server):
    desk = bind(server, "alice@example.org/desk")
    phone = bind(server, "alice@example.org/phone")
    tablet = bind(server, "alice@example.org/tablet")
    roster_get(desk)
    roster_get(phone)
    bob = bind(server, "bob@example.org/x")
    roster_get(bob)

    roster_set(desk, "<item jid='Bob@Example.org' name='Bob'><group>Work</group></item>")

    expected = ("bob@example.org", "Bob", "none", None, ["Work"])
    stored = server.store.rosters.items("alice")
    assert stored == [RosterItem("bob@example.org", "Bob", "none", False, ("Work",))]
    sent_to_desk = desk.xmlstream.take()
    result = [s for s in sent_to_desk if s["type"] == "result"]
    assert [(r["id"], r["to"]) for r in result] == [("set1", "alice@example.org/desk")]
    assert list(result[0].elements()) == []
    desk_pushes = [s for s in sent_to_desk if s["type"] == "set"]
    assert [items_of(p.query) for p in desk_pushes] == [[expected]]
    ((item, push),) = pushes(phone)
    assert item == expected
    # A push comes from the account itself: no 'from' at all.
    assert not push.hasAttribute("from")
    assert push["to"] == "alice@example.org/phone"
    assert push["id"] != desk_pushes[0]["id"]
    assert tablet.xmlstream.take() == []
    assert bob.xmlstream.take() == []


def test_set_updates_name_and_groups_and_keeps_the_subscription(server):
    server.store.rosters.put("alice", RosterItem("bob@example.org", "B", "to", False, ("Old",)))
    desk = bind(server, "alice@example.org/desk")
    roster_set(
        desk, "<item jid='bob@example.org' name='Bob'><group>A</group><group>B</group></item>"
    )
    assert server.store.rosters.items("alice") == [
        RosterItem("bob@example.org", "Bob", "to", False, ("A", "B"))
    ]
    roster_set(desk, "<item jid='bob@example.org'/>", request_id="set2")
    assert server.store.rosters.items("alice") == [RosterItem("bob@example.org", None, "to")]


def test_set_ignores_a_subscription_the_client_claims(server):
    desk = bind(server, "alice@example.org/desk")
    roster_set(desk, "<item jid='bob@example.org' subscription='both' ask='subscribe'/>")
    assert server.store.rosters.items("alice") == [RosterItem("bob@example.org")]


@pytest.mark.parametrize(
    "item, condition",
    [
        ("<item jid='alice@example.org'/>", "not-allowed"),
        ("<item jid='alice@example.org/desk'/>", "not-allowed"),
        ("<item jid='bob@example.org'/><item jid='carol@example.org'/>", "bad-request"),
        ("", "bad-request"),
        ("<item jid='bob@example.org'><group>A</group><group>A</group></item>", "bad-request"),
        ("<item jid='bob@example.org'><group> </group></item>", "not-acceptable"),
        ("<item jid='bob@@example.org'/>", "jid-malformed"),
        ("<item jid=''/>", "jid-malformed"),
        ("<item/>", "jid-malformed"),
        ("<item jid='nobody@example.org' subscription='remove'/>", "item-not-found"),
    ],
)
def test_set_errors(server, item, condition):
    desk = bind(server, "alice@example.org/desk")
    roster_get(desk)
    roster_set(desk, item)
    (reply,) = desk.xmlstream.take()
    assert (reply["id"], reply["to"]) == ("set1", "alice@example.org/desk")
    assert error_condition(reply) == condition
    assert server.store.rosters.items("alice") == []


@pytest.mark.parametrize("kind", ["get", "set"])
def test_another_accounts_roster_is_forbidden(server, kind):
    server.store.rosters.put("bob", RosterItem("carol@example.org"))
    desk = bind(server, "alice@example.org/desk")
    send(
        desk,
        f"<iq xmlns='jabber:client' type='{kind}' id='q1' to='bob@example.org'>"
        f"<query xmlns='{NS_ROSTER}'><item jid='dave@example.org'/></query></iq>",
    )
    (reply,) = desk.xmlstream.take()
    assert error_condition(reply) == "forbidden"
    assert reply["from"] == "bob@example.org"
    assert server.store.rosters.items("bob") == [RosterItem("carol@example.org")]


def test_remove_pushes_the_removal(server):
    server.store.rosters.put("alice", RosterItem("bob@example.org", "Bob"))
    desk = bind(server, "alice@example.org/desk")
    phone = bind(server, "alice@example.org/phone")
    roster_get(desk)
    roster_get(phone)
    roster_set(desk, "<item jid='bob@example.org' subscription='remove'/>")
    assert server.store.rosters.items("alice") == []
    ((item, _),) = pushes(phone)
    assert item == ("bob@example.org", None, "remove", None, [])
    assert sorted(s["type"] for s in desk.xmlstream.take()) == ["result", "set"]


def test_remove_cancels_the_subscriptions_both_ways(server):
    rosters = server.store.rosters
    rosters.put("alice", RosterItem("bob@example.org", subscription="both"))
    rosters.put("bob", RosterItem("alice@example.org", "Alice", "both"))
    desk = bind(server, "alice@example.org/desk")
    bob = bind(server, "bob@example.org/phone")
    roster_get(bob)
    available(desk)
    available(bob)
    desk.xmlstream.take()
    bob.xmlstream.take()

    roster_set(desk, "<item jid='bob@example.org' subscription='remove'/>")

    assert rosters.items("alice") == []
    assert rosters.items("bob") == [RosterItem("alice@example.org", "Alice", "none")]
    received = bob.xmlstream.take()
    assert [items_of(p.query) for p in received if p.name == "iq"][-1] == [
        ("alice@example.org", "Alice", "none", None, [])
    ]
    presences = [(p["from"], p.getAttribute("type")) for p in received if p.name == "presence"]
    assert presences == [
        (ALICE, "unsubscribe"),
        (ALICE, "unsubscribed"),
        ("alice@example.org/desk", "unavailable"),
    ]
    # Alice no longer sees Bob either: he is gone for her, and stays so.
    received = desk.xmlstream.take()
    presences = [(p["from"], p.getAttribute("type")) for p in received if p.name == "presence"]
    assert presences == [("bob@example.org/phone", "unavailable")]
    send(bob, "<presence xmlns='jabber:client'><show>away</show></presence>")
    assert [s for s in desk.xmlstream.take() if s.name == "presence"] == []


def test_remove_drops_a_waiting_request(server):
    rosters = server.store.rosters
    rosters.put("alice", RosterItem("bob@example.org"))
    rosters.add_request("alice", "bob@example.org", "<presence type='subscribe'/>")
    desk = bind(server, "alice@example.org/desk")
    roster_set(desk, "<item jid='bob@example.org' subscription='remove'/>")
    assert rosters.requests("alice") == []


def test_remove_of_a_pending_subscription_withdraws_it(server):
    desk = bind(server, "alice@example.org/desk")
    send(desk, "<presence xmlns='jabber:client' type='subscribe' to='bob@example.org'/>")
    assert server.store.rosters.has_request("bob", "alice@example.org")
    roster_set(desk, "<item jid='bob@example.org' subscription='remove'/>")
    assert not server.store.rosters.has_request("bob", "alice@example.org")
