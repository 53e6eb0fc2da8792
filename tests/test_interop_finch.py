"""
libpurple, the XMPP code of Pidgin, through Debian's finch against mcc.

libpurple is strict where other clients are lenient: it disconnects when
the legacy session request fails, drops IQ replies whose C{from} differs
from the request's C{to} (its keepalive ping then times out), and ignores
roster pushes from anyone but the account itself.  This test logs finch in,
waits for its keepalive ping, and then checks that it is still the same
bound session, that roster pushes are applied, and that messages flow both
ways.
"""

from twisted.words.protocols.jabber.jid import JID

from tests.conftest import asyncio_test
from tests.finch import Finch, prepare_home
from tests.tools import requires_tool
from tests.xmpp_client import login, until

FINCH_JID = "alice@localhost/finch"
NS_PING = "urn:xmpp:ping"

# finch checks every 30 s whether it has heard nothing for 30 s, so its
# first ping comes 30 to 60 s after the last data it received.
PING_TIMEOUT = 65


class SessionTap:
    """
    Keeps what one bound session receives from its client and what the
    server sends it, while still handing everything on.
    """

    def __init__(self, session):
        self.received = []
        self.sent = []
        stream = session.xmlstream
        handle, send = stream.element_handler, session.send

        def received(element):
            self.received.append(element)
            handle(element)

        def sent(element):
            self.sent.append(element)
            send(element)

        stream.element_handler = received
        session.send = sent

    def replies_to(self, iq):
        """
        The server's replies to an IQ request from the client.
        """
        return [stanza for stanza in self.sent if is_reply(stanza, iq)]

    def acknowledged(self, iq):
        """
        Whether the client answered the server's IQ request with a result.
        """
        return any(
            is_reply(stanza, iq) and stanza["type"] == "result" for stanza in self.received
        )


def is_reply(stanza, iq):
    return (
        stanza.name == "iq"
        and stanza.getAttribute("type") in ("result", "error")
        and stanza.getAttribute("id") == iq["id"]
    )


def is_ping(stanza):
    return (
        stanza.name == "iq"
        and stanza.getAttribute("type") == "get"
        and any(child.uri == NS_PING for child in stanza.elements())
    )


async def subscribe_both_ways(server):
    alice = await login(server, "alice@localhost/setup", "wonderland")
    bob = await login(server, "bob@localhost/desk", "builder")
    bob.send_presence_subscription(pto="alice@localhost")
    await until(lambda: alice.client_roster["bob@localhost"]["subscription"] == "both")
    await until(lambda: bob.client_roster["alice@localhost"]["subscription"] == "both")
    await alice.close()
    return bob


@requires_tool("finch", "tmux")
@asyncio_test
async def test_finch_stays_connected_past_its_ping_and_chats(server, tmp_path):
    server.add_user("alice", "wonderland")
    server.add_user("bob", "builder")
    bob = await subscribe_both_ways(server)
    prepare_home(tmp_path, FINCH_JID, "wonderland", "127.0.0.1", server.port, server.certificate)
    finch = Finch(tmp_path)
    try:
        await finch.start()
        await bob.presence_from(FINCH_JID, timeout=15)
        session = server.xmpp.sessions.get(JID(FINCH_JID))
        tap = SessionTap(session)

        # Stay quiet towards finch until its keepalive ping; the server
        # answers with no 'from', as the ping had no 'to'.
        await until(lambda: any(map(is_ping, tap.received)), PING_TIMEOUT)
        ping = next(filter(is_ping, tap.received))
        assert ping.getAttribute("to") is None
        await until(lambda: tap.replies_to(ping))
        [reply] = tap.replies_to(ping)
        assert reply["type"] == "result"
        assert reply.getAttribute("from") is None
        assert server.xmpp.sessions.get(JID(FINCH_JID)) is session
        assert not session.ended

        bob.send_message(mto="alice@localhost", mbody="hello alice from bob", mtype="chat")
        await finch.wait_for_screen("hello alice from bob")
        await finch.focus_next_window()
        await finch.type_line("hi bob from finch")
        message = await bob.next_message()
        assert message["body"] == "hi bob from finch"
        assert message["from"].full == FINCH_JID

        # libpurple acknowledges only the roster pushes it accepts: those
        # with no 'from' or its own account's.
        alice = await login(server, "alice@localhost/setup", "wonderland", presence=False)
        try:
            await alice.update_roster("bob@localhost", name="Builder")
        finally:
            await alice.close()
        [push] = [stanza for stanza in tap.sent if stanza.name == "iq" and stanza["type"] == "set"]
        assert push.getAttribute("from") is None
        await until(lambda: tap.acknowledged(push))
        assert server.xmpp.sessions.get(JID(FINCH_JID)) is session

        await finch.quit()
        await bob.presence_from(FINCH_JID, "unavailable")
    finally:
        await finch.close()
        await bob.close()
