"""
Tests for L{mcc.xmpp.presence}: subscriptions between local accounts,
broadcasts, probes and directed presence, through the server's handlers.
"""

import pytest

from mcc.store import RosterItem
from mcc.xmpp.namespaces import NS_ROSTER
from tests.memory_xmpp import available, bind, make_server, send

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob", "carol", "dave"])
    yield server
    server.stopService()
    server.store.close()


def connect(server, full, roster=True):
    """
    A bound resource; with C{roster}, one that asked for its roster.
    """
    session = bind(server, full)
    if roster:
        send(
            session,
            f"<iq xmlns='jabber:client' type='get' id='r'><query xmlns='{NS_ROSTER}'/></iq>",
        )
        session.xmlstream.take()
    return session


def presence_to(session, to, kind):
    send(session, f"<presence xmlns='jabber:client' to='{to}' type='{kind}'/>")


def presences(session):
    """
    The presence stanzas C{session} got, as (from, type), in order.
    """
    return [
        (stanza["from"], stanza.getAttribute("type"))
        for stanza in session.xmlstream.sent
        if stanza.name == "presence"
    ]


def roster_pushes(session):
    return [
        (item["jid"], item["subscription"], item.getAttribute("ask"))
        for stanza in session.xmlstream.sent
        if stanza.name == "iq" and stanza["type"] == "set"
        for item in stanza.query.elements(NS_ROSTER, "item")
    ]


def clear(*sessions):
    for session in sessions:
        session.xmlstream.take()


def state(server, owner, contact):
    item = server.store.rosters.get(owner, contact)
    return None if item is None else (item.subscription, item.ask)


def befriend(server, owner, contact, subscription):
    server.store.rosters.put(owner, RosterItem(contact, subscription=subscription))


def test_subscription_handshake_ends_in_both_on_both_sides(server):
    alice = connect(server, "alice@example.org/desk")
    bob = connect(server, "bob@example.org/phone")
    available(alice)
    available(bob)
    clear(alice, bob)

    presence_to(alice, BOB, "subscribe")
    assert state(server, "alice", BOB) == ("none", True)
    assert roster_pushes(alice) == [(BOB, "none", "subscribe")]
    assert presences(bob) == [(ALICE, "subscribe")]
    assert state(server, "bob", ALICE) is None
    clear(alice, bob)

    presence_to(bob, ALICE, "subscribed")
    assert state(server, "bob", ALICE) == ("from", False)
    assert roster_pushes(bob) == [(ALICE, "from", None)]
    assert state(server, "alice", BOB) == ("to", False)
    assert roster_pushes(alice) == [(BOB, "to", None)]
    # Alice learns of the approval, then sees Bob at once.
    assert presences(alice) == [(BOB, "subscribed"), ("bob@example.org/phone", None)]
    assert server.store.rosters.requests("bob") == []
    clear(alice, bob)

    presence_to(bob, ALICE, "subscribe")
    assert state(server, "bob", ALICE) == ("from", True)
    assert presences(alice) == [(BOB, "subscribe")]
    clear(alice, bob)

    presence_to(alice, BOB, "subscribed")
    assert state(server, "alice", BOB) == ("both", False)
    assert state(server, "bob", ALICE) == ("both", False)
    assert roster_pushes(alice) == [(BOB, "both", None)]
    assert roster_pushes(bob) == [(ALICE, "both", None)]
    assert presences(bob) == [(ALICE, "subscribed"), ("alice@example.org/desk", None)]
    clear(alice, bob)

    # From now on each sees the other's changes.
    send(bob, "<presence xmlns='jabber:client'><show>away</show></presence>")
    send(alice, "<presence xmlns='jabber:client'><show>dnd</show></presence>")
    assert presences(alice)[0] == ("bob@example.org/phone", None)
    assert ("alice@example.org/desk", None) in presences(bob)


def test_handshake_with_the_contact_offline(server):
    alice = connect(server, "alice@example.org/desk")
    available(alice)
    presence_to(alice, BOB, "subscribe")
    # Bob finds the request when he comes online.
    bob = connect(server, "bob@example.org/phone")
    available(bob)
    assert (ALICE, "subscribe") in presences(bob)
    clear(alice, bob)
    presence_to(bob, ALICE, "subscribed")
    assert state(server, "alice", BOB) == ("to", False)
    assert presences(alice) == [(BOB, "subscribed"), ("bob@example.org/phone", None)]


def test_approval_without_a_request_changes_nothing(server):
    bob = connect(server, "bob@example.org/phone")
    alice = connect(server, "alice@example.org/desk")
    available(alice)
    clear(alice)
    presence_to(bob, ALICE, "subscribed")
    assert state(server, "bob", ALICE) is None
    assert state(server, "alice", BOB) is None
    assert presences(alice) == [] and roster_pushes(bob) == []


def test_request_to_a_subscriber_is_approved_at_once(server):
    befriend(server, "bob", ALICE, "from")
    befriend(server, "alice", BOB, "to")
    alice = connect(server, "alice@example.org/desk")
    bob = connect(server, "bob@example.org/phone")
    available(bob)
    clear(bob)
    presence_to(alice, BOB, "subscribe")
    # Bob is not asked again; Alice is told she is subscribed.
    assert presences(bob) == []
    assert server.store.rosters.requests("bob") == []
    assert state(server, "alice", BOB) == ("to", False)


def test_unsubscribe_and_unsubscribed(server):
    befriend(server, "alice", BOB, "both")
    befriend(server, "bob", ALICE, "both")
    alice = connect(server, "alice@example.org/desk")
    bob = connect(server, "bob@example.org/phone")
    available(alice)
    available(bob)
    clear(alice, bob)

    presence_to(alice, BOB, "unsubscribe")
    assert state(server, "alice", BOB) == ("from", False)
    assert state(server, "bob", ALICE) == ("to", False)
    assert presences(bob) == [(ALICE, "unsubscribe")]
    assert presences(alice) == [("bob@example.org/phone", "unavailable")]
    clear(alice, bob)

    presence_to(alice, BOB, "unsubscribed")
    assert state(server, "alice", BOB) == ("none", False)
    assert state(server, "bob", ALICE) == ("none", False)
    assert presences(bob) == [(ALICE, "unsubscribed"), ("alice@example.org/desk", "unavailable")]


def test_denied_request(server):
    alice = connect(server, "alice@example.org/desk")
    bob = connect(server, "bob@example.org/phone")
    available(alice)
    presence_to(alice, BOB, "subscribe")
    clear(alice, bob)
    presence_to(bob, ALICE, "unsubscribed")
    assert state(server, "alice", BOB) == ("none", False)
    assert roster_pushes(alice) == [(BOB, "none", None)]
    assert presences(alice) == [(BOB, "unsubscribed")]
    assert server.store.rosters.requests("bob") == []


def test_subscription_to_oneself_or_an_unknown_account(server):
    alice = connect(server, "alice@example.org/desk")
    presence_to(alice, ALICE, "subscribe")
    assert server.store.rosters.items("alice") == []
    presence_to(alice, "nobody@example.org", "subscribe")
    assert state(server, "alice", "nobody@example.org") == ("none", True)
    assert alice.xmlstream.closed_with is None


def test_initial_presence_brings_contacts_and_waiting_requests(server):
    befriend(server, "alice", BOB, "both")
    befriend(server, "alice", CAROL, "to")
    befriend(server, "alice", "dave@example.org", "from")
    bob = connect(server, "bob@example.org/phone")
    carol = connect(server, "carol@example.org/x")
    dave = connect(server, "dave@example.org/y")
    for contact in (bob, carol, dave):
        available(contact)
    other = connect(server, "alice@example.org/phone")
    available(other)
    server.store.rosters.add_request(
        "alice", "dave@example.org", "<presence from='dave@example.org' type='subscribe'/>"
    )

    desk = connect(server, "alice@example.org/desk")
    available(desk)

    assert presences(desk) == [
        ("alice@example.org/desk", None),
        ("bob@example.org/phone", None),
        ("carol@example.org/x", None),
        ("alice@example.org/phone", None),
        ("dave@example.org", "subscribe"),
    ]
    assert all(p["to"] == "alice@example.org/desk" for p in desk.xmlstream.sent[:4])


def test_available_presence_goes_to_subscribers_and_own_resources(server):
    befriend(server, "alice", BOB, "both")
    befriend(server, "alice", CAROL, "to")
    befriend(server, "alice", "dave@example.org", "from")
    bob = connect(server, "bob@example.org/phone")
    carol = connect(server, "carol@example.org/x")
    dave = connect(server, "dave@example.org/y")
    offline_bob = connect(server, "bob@example.org/not-available")
    for contact in (bob, carol, dave):
        available(contact)
    phone = connect(server, "alice@example.org/phone")
    available(phone)
    clear(bob, carol, dave, offline_bob, phone)

    desk = connect(server, "alice@example.org/desk")
    send(desk, "<presence xmlns='jabber:client'><priority>5</priority></presence>")

    assert presences(bob) == [("alice@example.org/desk", None)]
    assert presences(dave) == [("alice@example.org/desk", None)]
    assert presences(phone) == [("alice@example.org/desk", None)]
    assert presences(carol) == []
    assert presences(offline_bob) == []
    assert bob.xmlstream.sent[0].priority is not None
    assert bob.xmlstream.sent[0]["to"] == "bob@example.org/phone"

    clear(desk, bob)
    send(desk, "<presence xmlns='jabber:client'><show>away</show></presence>")
    # An update is broadcast again, but contacts are not sent again.
    assert presences(bob) == [("alice@example.org/desk", None)]
    assert presences(desk) == [("alice@example.org/desk", None)]


def test_unavailable_goes_to_subscribers_and_directed_presence_targets(server):
    befriend(server, "alice", BOB, "from")
    bob = connect(server, "bob@example.org/phone")
    carol = connect(server, "carol@example.org/x")
    dave = connect(server, "dave@example.org/y")
    phone = connect(server, "alice@example.org/phone")
    for session in (bob, carol, dave, phone):
        available(session)
    desk = connect(server, "alice@example.org/desk")
    available(desk)
    clear(carol)
    send(desk, "<presence xmlns='jabber:client' to='carol@example.org/x'/>")
    assert presences(carol) == [("alice@example.org/desk", None)]
    clear(bob, carol, dave, phone)

    send(desk, "<presence xmlns='jabber:client' type='unavailable'><status>bye</status></presence>")

    for session in (bob, carol, phone):
        assert presences(session) == [("alice@example.org/desk", "unavailable")]
    assert presences(dave) == []
    assert str(carol.xmlstream.sent[0].status) == "bye"
    assert not desk.available

    # Said once: a second unavailable goes nowhere.
    clear(bob, carol, phone)
    send(desk, "<presence xmlns='jabber:client' type='unavailable'/>")
    assert presences(bob) == presences(carol) == presences(phone) == []


def test_directed_unavailable_ends_the_directed_presence(server):
    carol = connect(server, "carol@example.org/x")
    available(carol)
    desk = connect(server, "alice@example.org/desk")
    available(desk)
    clear(carol)
    send(desk, "<presence xmlns='jabber:client' to='carol@example.org'/>")
    send(desk, "<presence xmlns='jabber:client' to='carol@example.org/x' type='unavailable'/>")
    assert presences(carol) == [
        ("alice@example.org/desk", None),
        ("alice@example.org/desk", "unavailable"),
    ]
    clear(carol)
    send(desk, "<presence xmlns='jabber:client' type='unavailable'/>")
    assert presences(carol) == []


def test_directed_presence_to_a_bare_jid_reaches_its_available_resources(server):
    carol_x = connect(server, "carol@example.org/x")
    carol_y = connect(server, "carol@example.org/y")
    available(carol_x)
    clear(carol_x)
    desk = connect(server, "alice@example.org/desk")
    send(desk, "<presence xmlns='jabber:client' to='carol@example.org'/>")
    assert presences(carol_x) == [("alice@example.org/desk", None)]
    assert presences(carol_y) == []
    # Directed presence is no broadcast: Alice is not available for others.
    assert not desk.available


def test_ending_a_session_says_unavailable(server):
    befriend(server, "alice", BOB, "from")
    bob = connect(server, "bob@example.org/phone")
    available(bob)
    desk = connect(server, "alice@example.org/desk")
    available(desk)
    clear(bob)
    server.end_session(desk)
    assert presences(bob) == [("alice@example.org/desk", "unavailable")]
    assert not server.sessions.is_connected(ALICE)


def test_probe(server):
    befriend(server, "alice", BOB, "to")
    bob = connect(server, "bob@example.org/phone")
    desk = connect(server, "alice@example.org/desk")
    presence_to(desk, BOB, "probe")
    assert presences(desk) == [(BOB, "unavailable")]
    clear(desk)
    available(bob)
    presence_to(desk, BOB, "probe")
    assert presences(desk) == [("bob@example.org/phone", None)]
    clear(desk)
    # Without a subscription a probe learns nothing.
    carol = connect(server, "carol@example.org/x")
    available(carol)
    presence_to(desk, CAROL, "probe")
    assert presences(desk) == []


@pytest.mark.parametrize("ending", ["unavailable", "session end"])
def test_directed_presence_of_an_unavailable_resource_is_ended_too(server, ending):
    carol = connect(server, "carol@example.org/x")
    available(carol)
    clear(carol)
    desk = connect(server, "alice@example.org/desk")
    send(desk, "<presence xmlns='jabber:client' to='carol@example.org/x'/>")
    if ending == "unavailable":
        send(desk, "<presence xmlns='jabber:client' type='unavailable'/>")
    else:
        server.end_session(desk)
    assert presences(carol) == [
        ("alice@example.org/desk", None),
        ("alice@example.org/desk", "unavailable"),
    ]


def test_a_resource_with_a_negative_priority_takes_no_chats(server):
    desk = bind(server, "alice@example.org/desk")
    available(desk, priority=-1)
    assert server.availability.status("alice") == "away"
    available(desk, priority=0)
    assert server.availability.status("alice") == "available"
