"""
What mobile clients need, over real sockets with slixmpp's plugins: stream
management (XEP-0198) through a dropped connection and its resumption,
client state indication (XEP-0352), and HTTP upload (XEP-0363).
"""

import asyncio

import pytest

from tests.conftest import asyncio_test, test_config
from tests.test_chat_end_to_end import has_body, message_matching
from tests.visitor_client import Visitor
from tests.xmpp_client import TIMEOUT, login, until

RESUME_TIMEOUT = 30.0
SM = ("xep_0198",)


@pytest.fixture
def server_config(tmp_path):
    return test_config(tmp_path / "data", reconnect_timeout=5.0)


async def operator(server, name, plugins=SM, resource="phone"):
    server.add_user(name, f"{name}-pw", display_name=name.title())
    client = await login(server, f"{name}@localhost/{resource}", f"{name}-pw", plugins=plugins)
    if "xep_0198" in plugins:
        await until(lambda: client["xep_0198"].sm_id is not None)
    return client


def event(client, name):
    happened = asyncio.get_running_loop().create_future()
    client.add_event_handler(name, lambda data: happened.done() or happened.set_result(data))
    return happened


def server_session(server, full):
    from twisted.words.protocols.jabber import jid

    return server.xmpp.sessions.get(jid.JID(full))


def status(server, name):
    return server.xmpp.resumption.availability.status(name)


async def cut(server, client, full):
    """
    Drop C{client}'s connection without a word, as a phone losing its
    network does, and wait until the server has noticed.
    """
    gone = event(client, "disconnected")
    client.transport.abort()
    await asyncio.wait_for(gone, TIMEOUT)
    await until(lambda: server_session(server, full).xmlstream is None)


async def resume(server, client):
    resumed = event(client, "session_resumed")
    client.connect("127.0.0.1", server.port)
    await asyncio.wait_for(resumed, TIMEOUT)


@asyncio_test
async def test_dropped_connection_resumes_and_gets_what_came_meanwhile(server):
    alice = await operator(server, "alice")
    server.add_user("bob", "bob-pw")
    bob = await login(server, "bob@localhost/desk", "bob-pw")
    try:
        await cut(server, alice, "alice@localhost/phone")
        assert status(server, "alice") == "away"
        for n in range(3):
            bob.send_message(mto="alice@localhost/phone", mbody=f"while away {n}", mtype="chat")
        await until(lambda: len(server_session(server, "alice@localhost/phone").management.unacked()) >= 3)
        await resume(server, alice)
        got = [str((await alice.next_message())["body"]) for _ in range(3)]
        assert got == [f"while away {n}" for n in range(3)]
        assert status(server, "alice") == "available"
        # The same session, under the same full JID.
        alice.send_message(mto="bob@localhost/desk", mbody="back", mtype="chat")
        assert (await bob.next_message())["from"].full == "alice@localhost/phone"
    finally:
        await alice.close()
        await bob.close()


@asyncio_test
async def test_resumption_of_an_unknown_session_fails(server):
    alice = await operator(server, "alice")
    try:
        alice["xep_0198"].sm_id = "nonesuch"
        alice.transport.abort()
        failed = event(alice, "sm_failed")
        alice.connect("127.0.0.1", server.port)
        stanza = await asyncio.wait_for(failed, TIMEOUT)
        assert stanza.xml.find("{urn:ietf:params:xml:ns:xmpp-stanzas}item-not-found") is not None
    finally:
        await alice.close()


def bodies_of(client):
    """
    The bodies of every message C{client} gets from now on, as a list.
    """
    bodies = []
    client.add_event_handler(
        "message", lambda m: bodies.append(str(m["body"]).strip("\u2068\u2069"))
    )
    return bodies


@asyncio_test
async def test_cut_during_a_chat_loses_and_repeats_nothing(server):
    alice = await operator(server, "alice")
    heard = bodies_of(alice)
    visitor = Visitor(server)
    try:
        code, body = await visitor.start(user="alice", name="Vera", question="Hello?")
        assert code == 201, body
        offer = await message_matching(alice, has_body("New chat for alice"))
        guest = offer["from"].bare
        alice.send_message(mto=guest, mbody="a0", mtype="chat")
        await visitor.events_until("message", "a0")
        for n in range(1, 4):
            await visitor.say(f"v{n}")
            alice.send_message(mto=guest, mbody=f"a{n}", mtype="chat")
        # Cut at once: some of those may still be on their way either side.
        await cut(server, alice, "alice@localhost/phone")
        for n in range(4, 7):
            await visitor.say(f"v{n}")
        await resume(server, alice)
        for n in range(7, 9):
            await visitor.say(f"v{n}")
            alice.send_message(mto=guest, mbody=f"a{n}", mtype="chat")
        await visitor.events_until("message", "a8")
        await until(lambda: "v8" in heard)
        chat = server.chats.by_guest(guest.split("@")[0])
        said = [e.data for e in server.store.chats.events_after(chat.id, 0) if e.kind == "message"]
        assert [d["text"] for d in said if d["from"] == "operator"] == [
            f"a{n}" for n in (0, 1, 2, 3, 7, 8)
        ]
        assert [b for b in heard if b.startswith("v")] == [f"v{n}" for n in range(1, 9)]
    finally:
        await alice.close()


@asyncio_test
async def test_inactive_client_gets_the_latest_presence_when_active_again(server):
    alice = await operator(server, "alice", plugins=("xep_0352",))
    server.add_user("bob", "bob-pw")
    bob = await login(server, "bob@localhost/desk", "bob-pw")
    try:
        alice["xep_0352"].send_inactive()
        await until(lambda: server_session(server, "alice@localhost/phone").inactive)
        for show in ("away", "xa", "dnd"):
            bob.send_presence(pto="alice@localhost/phone", pshow=show)
        bob.send_message(mto="alice@localhost/phone", mbody="ping", mtype="chat")
        assert str((await alice.next_message())["body"]) == "ping"
        # Only the latest presence came, just before the message.
        got = [p["show"] for p in list(alice.presences._queue) if p["from"].bare == "bob@localhost"]
        assert got == ["dnd"]
        while not alice.presences.empty():
            alice.presences.get_nowait()
        bob.send_presence(pto="alice@localhost/phone", pshow="xa")
        bob.send_presence(pto="alice@localhost/phone", pshow="chat")
        await until(lambda: len(server_session(server, "alice@localhost/phone")._held) == 1)
        assert alice.presences.empty()
        alice["xep_0352"].send_active()
        presence = await asyncio.wait_for(alice.presences.get(), TIMEOUT)
        assert (presence["from"].full, presence["show"]) == ("bob@localhost/desk", "chat")
        await asyncio.sleep(0.2)
        assert alice.presences.empty()
    finally:
        await alice.close()
        await bob.close()
