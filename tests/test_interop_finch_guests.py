"""
finch (libpurple) names a chat's guest from the roster push: the buddy list
shows the visitor's name in the group "Chats" while the chat rings, and
libpurple accepts the push that removes it when the chat ends.
"""

from twisted.words.protocols.jabber.jid import JID

from tests.conftest import asyncio_test
from tests.finch import Finch, prepare_home
from tests.test_interop_finch import SessionTap
from tests.tools import requires_tool
from tests.visitor_client import Visitor
from tests.xmpp_client import until

FINCH_JID = "alice@localhost/finch"


def roster_pushes(tap, removed):
    return [
        stanza for stanza in tap.sent
        if stanza.name == "iq" and stanza["type"] == "set"
        and (stanza.query.item.getAttribute("subscription") == "remove") == removed
    ]


@requires_tool("finch", "tmux")
@asyncio_test
async def test_finch_shows_the_guest_by_name_and_lets_it_go(server, tmp_path):
    server.add_user("alice", "wonderland", display_name="Alice")
    queue = server.store.queues.add("reference", "", now=0)
    server.store.queues.set_operators(queue.id, ["alice"])
    prepare_home(tmp_path, FINCH_JID, "wonderland", "127.0.0.1", server.port, server.certificate)
    finch = Finch(tmp_path)
    try:
        await finch.start()
        await until(lambda: server.chats.is_available(queue="reference"), 15)
        session = server.xmpp.sessions.get(JID(FINCH_JID))
        await until(lambda: session.roster_requested)
        tap = SessionTap(session)

        visitor = Visitor(server)
        code, _ = await visitor.start(queue="reference", name="Vera Visitor")
        assert code == 201
        await finch.wait_for_screen("Chats")
        await finch.wait_for_screen("Vera Visitor")
        [push] = roster_pushes(tap, removed=False)
        await until(lambda: tap.acknowledged(push))

        await visitor.end()
        await until(lambda: roster_pushes(tap, removed=True))
        [removal] = roster_pushes(tap, removed=True)
        await until(lambda: tap.acknowledged(removal))
        assert server.xmpp.sessions.get(JID(FINCH_JID)) is session
    finally:
        await finch.close()
