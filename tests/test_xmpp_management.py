"""
Tests for L{mcc.xmpp.management} and L{mcc.xmpp.clientstate}: stream
management's acknowledgements on the server's clock, detached sessions,
their resumption and expiry, and presence held back from inactive clients.
"""

import pytest
from twisted.words.protocols.jabber import xmlstream
from wokkel.generic import parseXml

from mcc.routing.chats import Unavailable, Visitor
from mcc.xmpp.management import NS_SM, REQUEST_AFTER, REQUEST_INTERVAL, RESUME_TIMEOUT
from tests.memory_xmpp import RecordingStream, available, bind, make_server, send

START = 1_700_000_000
ALICE = "alice@example.org/phone"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob"])
    server.clock.advance(START)
    yield server
    server.stopService()
    server.store.close()


def nonza(session, xml):
    session.element_received(parseXml(xml))


def enable(session, resume=True):
    attribute = " resume='true'" if resume else ""
    nonza(session, f"<enable xmlns='{NS_SM}'{attribute}/>")
    return session.xmlstream.take()[-1]


def online(server, full):
    session = bind(server, full)
    available(session)
    session.xmlstream.take()
    return session


def chat(to, body):
    return f"<message xmlns='jabber:client' to='{to}' type='chat'><body>{body}</body></message>"


def drop(session):
    """
    The connection of C{session} ends without a stream error: it dropped.
    """
    session.xmlstream.dispatch(None, xmlstream.STREAM_END_EVENT)


def resume(server, previd, h, user="alice"):
    xs = RecordingStream(server.clock)
    element = parseXml(f"<resume xmlns='{NS_SM}' previd='{previd}' h='{h}'/>")
    return server.resume(xs, user, element), xs


def bodies(stanzas):
    return [str(s.body) for s in stanzas if s.name == "message" and s.body is not None]


def test_enable_answers_with_a_resumption_id_and_the_timeout(server):
    alice = online(server, ALICE)
    enabled = enable(alice)
    assert (enabled.uri, enabled.name) == (NS_SM, "enabled")
    assert enabled["resume"] == "true"
    assert enabled["max"] == str(int(RESUME_TIMEOUT))
    assert enabled["id"]


def test_enable_twice_fails(server):
    alice = online(server, ALICE)
    enable(alice)
    again = enable(alice)
    assert again.name == "failed"
    assert again.firstChildElement().name == "unexpected-request"


def test_ack_request_before_enable_fails(server):
    alice = online(server, ALICE)
    nonza(alice, f"<r xmlns='{NS_SM}'/>")
    assert alice.xmlstream.take()[-1].name == "failed"


def test_server_counts_stanzas_it_processed(server):
    alice = online(server, ALICE)
    enable(alice)
    bob = online(server, "bob@example.org/desk")
    for n in range(3):
        alice.element_received(parseXml(chat("bob@example.org", f"m{n}")))
    nonza(alice, f"<r xmlns='{NS_SM}'/>")
    answer = alice.xmlstream.take()[-1]
    assert (answer.name, answer["h"]) == ("a", "3")
    assert bodies(bob.xmlstream.take()) == ["m0", "m1", "m2"]


def test_server_asks_for_an_ack_after_so_many_stanzas(server):
    alice = online(server, ALICE)
    enable(alice)
    bob = online(server, "bob@example.org/desk")
    for n in range(REQUEST_AFTER):
        send(bob, chat(ALICE, f"m{n}"))
    sent = alice.xmlstream.take()
    assert [s.name for s in sent] == ["message"] * REQUEST_AFTER + ["r"]


def test_server_asks_for_an_ack_after_a_while(server):
    alice = online(server, ALICE)
    enable(alice)
    bob = online(server, "bob@example.org/desk")
    send(bob, chat(ALICE, "hello"))
    assert [s.name for s in alice.xmlstream.take()] == ["message"]
    server.clock.advance(REQUEST_INTERVAL - 1)
    assert alice.xmlstream.take() == []
    server.clock.advance(1)
    assert [s.name for s in alice.xmlstream.take()] == ["r"]


def test_no_request_once_everything_is_acked(server):
    alice = online(server, ALICE)
    enable(alice)
    bob = online(server, "bob@example.org/desk")
    send(bob, chat(ALICE, "hello"))
    nonza(alice, f"<a xmlns='{NS_SM}' h='1'/>")
    alice.xmlstream.take()
    server.clock.advance(REQUEST_INTERVAL)
    assert alice.xmlstream.take() == []


def test_ack_of_more_than_was_sent_closes_the_stream(server):
    alice = online(server, ALICE)
    enable(alice)
    nonza(alice, f"<a xmlns='{NS_SM}' h='7'/>")
    assert alice.xmlstream.closed_with == "undefined-condition"


def test_dropped_session_detaches_keeps_what_is_sent_and_resumes(server):
    alice = online(server, ALICE)
    previd = enable(alice)["id"]
    bob = online(server, "bob@example.org/desk")
    send(bob, chat(ALICE, "one"))
    send(bob, chat(ALICE, "two"))
    nonza(alice, f"<a xmlns='{NS_SM}' h='1'/>")
    alice.element_received(parseXml(chat("bob@example.org", "from alice")))
    drop(alice)
    assert alice.xmlstream is None and not alice.ended
    assert server.sessions.get(alice.jid) is alice
    assert server.availability.status("alice") == "away"
    send(bob, chat(ALICE, "three"))
    bob.xmlstream.take()
    session, xs = resume(server, previd, 1)
    assert session is alice
    sent = xs.take()
    assert (sent[0].name, sent[0]["previd"], sent[0]["h"]) == ("resumed", previd, "1")
    assert bodies(sent) == ["two", "three"]
    assert server.availability.status("alice") == "available"
    # Bob never saw alice leave.
    assert [s for s in bob.xmlstream.take() if s.name == "presence"] == []
    # The resumed stream carries the session on.
    send(bob, chat(ALICE, "four"))
    assert bodies(xs.take()) == ["four"]


def test_resume_acknowledges_what_the_client_had(server):
    alice = online(server, ALICE)
    previd = enable(alice)["id"]
    bob = online(server, "bob@example.org/desk")
    send(bob, chat(ALICE, "one"))
    send(bob, chat(ALICE, "two"))
    drop(alice)
    _, xs = resume(server, previd, 2)
    assert bodies(xs.take()) == []


def test_detached_session_is_offered_no_chats(server):
    alice = online(server, ALICE)
    enable(alice)
    server.chats.start(Visitor(name="Vi"), user="alice")
    drop(alice)
    with pytest.raises(Unavailable):
        server.chats.start(Visitor(name="Vi"), user="alice")


def test_resume_unknown_or_another_accounts_session_fails(server):
    alice = online(server, ALICE)
    previd = enable(alice)["id"]
    drop(alice)
    session, xs = resume(server, "nonesuch", 0)
    assert session is None
    assert xs.take()[0].firstChildElement().name == "item-not-found"
    session, xs = resume(server, previd, 0, user="bob")
    assert session is None
    assert xs.take()[0].firstChildElement().name == "item-not-found"


def test_clean_close_ends_the_session(server):
    alice = online(server, ALICE)
    previd = enable(alice)["id"]
    alice.xmlstream.closed_by_peer = True
    drop(alice)
    assert alice.ended
    assert server.sessions.get(alice.jid) is None
    session, _ = resume(server, previd, 0)
    assert session is None


def test_session_without_resumption_ends_when_dropped(server):
    alice = online(server, ALICE)
    enable(alice, resume=False)
    drop(alice)
    assert alice.ended


def test_expiry_ends_the_session_and_keeps_unacked_messages_offline(server):
    alice = online(server, ALICE)
    previd = enable(alice)["id"]
    bob = online(server, "bob@example.org/desk")
    send(bob, chat(ALICE, "acked"))
    nonza(alice, f"<a xmlns='{NS_SM}' h='1'/>")
    send(bob, chat(ALICE, "unacked"))
    drop(alice)
    send(bob, chat(ALICE, "while detached"))
    bob.xmlstream.take()
    server.clock.advance(RESUME_TIMEOUT - 1)
    assert not alice.ended
    server.clock.advance(1)
    assert alice.ended
    assert server.sessions.get(alice.jid) is None
    assert server.availability.status("alice") == "offline"
    assert resume(server, previd, 0)[0] is None
    again = bind(server, "alice@example.org/desk")
    available(again)
    assert bodies(again.xmlstream.take()) == ["unacked", "while detached"]


def test_resume_after_a_new_bind_of_the_same_resource_fails(server):
    alice = online(server, ALICE)
    previd = enable(alice)["id"]
    drop(alice)
    online(server, ALICE)
    assert alice.ended
    assert resume(server, previd, 0)[0] is None


def test_resume_while_the_old_stream_seems_alive_closes_it(server):
    alice = online(server, ALICE)
    previd = enable(alice)["id"]
    old = alice.xmlstream
    session, xs = resume(server, previd, 0)
    assert session is alice and alice.xmlstream is xs
    assert old.closed_with == "conflict"
    old.dispatch(None, xmlstream.STREAM_END_EVENT)
    assert not alice.ended


def test_inactive_client_gets_presence_later_and_only_the_latest(server):
    alice = online(server, ALICE)
    nonza(alice, "<inactive xmlns='urn:xmpp:csi:0'/>")
    bob = online(server, "bob@example.org/desk")
    send(bob, f"<presence xmlns='jabber:client' to='{ALICE}'><show>away</show></presence>")
    send(bob, f"<presence xmlns='jabber:client' to='{ALICE}'><show>dnd</show></presence>")
    send(bob, chat(ALICE, "urgent"))
    sent = alice.xmlstream.take()
    # The message comes at once, after its sender's latest presence.
    assert [s.name for s in sent] == ["presence", "message"]
    assert str(sent[0].show) == "dnd"
    send(bob, f"<presence xmlns='jabber:client' to='{ALICE}'><show>xa</show></presence>")
    send(bob, f"<presence xmlns='jabber:client' to='{ALICE}'><show>chat</show></presence>")
    assert alice.xmlstream.take() == []
    nonza(alice, "<active xmlns='urn:xmpp:csi:0'/>")
    sent = alice.xmlstream.take()
    assert [str(s.show) for s in sent] == ["chat"]
