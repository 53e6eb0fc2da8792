"""
Tests for L{mcc.xmpp.carbons}: message carbons (XEP-0280) between the
resources of one account, chats with visitors included.
"""

import pytest

from mcc.routing.chats import Visitor
from mcc.xmpp.namespaces import NS_CARBONS, NS_FORWARD
from tests.memory_xmpp import DOMAIN, available, bind, make_server, send

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob"])
    yield server
    server.stopService()
    server.store.close()


def enable(session, what="enable"):
    send(session, f"<iq xmlns='jabber:client' type='set' id='c1'><{what} xmlns='{NS_CARBONS}'/></iq>")
    (reply,) = [s for s in session.xmlstream.take() if s.name == "iq"]
    assert (reply["type"], reply["id"]) == ("result", "c1")


def chat(session, to, text, extra=""):
    send(session, f"<message xmlns='jabber:client' type='chat' to='{to}'><body>{text}</body>{extra}</message>")


def carbon(copy, direction):
    """
    The message forwarded in a carbon copy of C{direction}.
    """
    assert copy.name == "message"
    (wrapper,) = copy.elements(NS_CARBONS, direction)
    (forwarded,) = wrapper.elements(NS_FORWARD, "forwarded")
    return next(forwarded.elements("jabber:client", "message"))


@pytest.fixture
def alice(server):
    """
    Alice on her desk and her phone, both available, the phone with carbons.
    """
    desk = bind(server, f"{ALICE}/desk")
    phone = bind(server, f"{ALICE}/phone")
    available(desk)
    available(phone)
    enable(phone)
    desk.xmlstream.take()
    phone.xmlstream.take()
    return desk, phone


def test_sent_messages_are_copied_to_other_enabled_resources(server, alice):
    desk, phone = alice
    bob = bind(server, f"{BOB}/laptop")
    chat(desk, f"{BOB}/laptop", "hello")
    (copy,) = phone.xmlstream.take()
    assert (copy["from"], copy["to"]) == (ALICE, f"{ALICE}/phone")
    inner = carbon(copy, "sent")
    assert (inner["from"], inner["to"], str(inner.body)) == (f"{ALICE}/desk", f"{BOB}/laptop", "hello")
    assert [m.name for m in bob.xmlstream.take()] == ["message"]
    assert desk.xmlstream.take() == []


def test_received_messages_are_copied_to_resources_that_did_not_get_them(server, alice):
    desk, phone = alice
    bob = bind(server, f"{BOB}/laptop")
    chat(bob, f"{ALICE}/desk", "to the desk")
    assert [str(m.body) for m in desk.xmlstream.take()] == ["to the desk"]
    (copy,) = phone.xmlstream.take()
    assert str(carbon(copy, "received").body) == "to the desk"


def test_a_message_to_the_bare_jid_given_to_both_is_not_copied(server, alice):
    desk, phone = alice
    bob = bind(server, f"{BOB}/laptop")
    chat(bob, ALICE, "to both")
    assert [str(m.body) for m in desk.xmlstream.take()] == ["to both"]
    assert [str(m.body) for m in phone.xmlstream.take()] == ["to both"]


def test_disabled_and_private_messages_are_not_copied(server, alice):
    desk, phone = alice
    bind(server, f"{BOB}/laptop")
    chat(desk, f"{BOB}/laptop", "secret", f"<private xmlns='{NS_CARBONS}'/>")
    chat(desk, f"{BOB}/laptop", "secret", "<no-copy xmlns='urn:xmpp:hints'/>")
    send(desk, f"<message xmlns='jabber:client' type='groupchat' to='{BOB}'><body>x</body></message>")
    assert phone.xmlstream.take() == []
    enable(phone, "disable")
    chat(desk, f"{BOB}/laptop", "hello")
    assert phone.xmlstream.take() == []


def test_a_chat_with_a_visitor_is_copied_both_ways(server, alice):
    desk, phone = alice
    # The phone takes no chats (negative priority) but sees them.
    available(phone, priority=-1)
    phone.xmlstream.take()
    chat_record = server.chats.start(Visitor(name="Una", question="Where is my order?"), user="alice")
    guest = f"{chat_record.guest}@{DOMAIN}/visitor"
    desk.xmlstream.take()
    copies = phone.xmlstream.take()
    assert copies and all(carbon(c, "received")["from"] == guest for c in copies)

    chat(desk, guest, "On its way")
    (copy,) = phone.xmlstream.take()
    assert str(carbon(copy, "sent").body) == "On its way"

    server.chats.visitor_says(chat_record.token, "Thanks")
    assert [str(m.body) for m in desk.xmlstream.take() if m.body] == ["Thanks"]
    (copy,) = phone.xmlstream.take()
    assert str(carbon(copy, "received").body) == "Thanks"
