"""
Debian's profanity (libstrophe) against mcc, as an operator would use it:
it logs in over STARTTLS trusting the self-signed certificate, enables
carbons (XEP-0280) and reads its bookmarks from private storage (XEP-0049)
without an error, then answers a visitor's chat, transfers it with
C{!transfer} and ends it with C{!end}, commands the visitor never sees.
"""

import asyncio

from twisted.words.protocols.jabber.jid import JID

from tests.conftest import asyncio_test
from tests.profanity import Profanity, prepare_home
from tests.test_chat_end_to_end import close_all, has_body, message_matching, operators, staff
from tests.tools import requires_tool
from tests.visitor_client import Visitor
from tests.xmpp_client import until

PROFANITY_JID = "alice@localhost/profanity"

# A loaded machine may take a while to start profanity and log it in.
LOGIN_TIMEOUT = 30
SCREEN_TIMEOUT = 20
POLL_TIMEOUT = 60


async def visitor_events_until(visitor, kind, text=None):
    return await asyncio.wait_for(visitor.events_until(kind, text), POLL_TIMEOUT)


async def logged_in(server, tmp_path):
    """
    Profanity logged in as alice, an operator of "reference", ready for chats.
    """
    server.add_user("alice", "wonderland", display_name="Alice")
    staff(server, "reference", "alice")
    prepare_home(tmp_path, "alice", "alice@localhost", "wonderland", "127.0.0.1", server.port)
    profanity = Profanity(tmp_path)
    await profanity.start("alice")
    await profanity.wait_for_screen(f"{PROFANITY_JID} logged in successfully", LOGIN_TIMEOUT)
    await until(lambda: server.chats.is_available(queue="reference"), LOGIN_TIMEOUT)
    return profanity


@requires_tool("profanity", "tmux")
@asyncio_test
async def test_profanity_logs_in_with_carbons_and_bookmarks(server, tmp_path):
    profanity = await logged_in(server, tmp_path)
    try:
        await profanity.wait_for_log("Message carbons enabled.", LOGIN_TIMEOUT)
        await profanity.wait_for_log(
            '<iq id="bookmark_init_request" type="result"', LOGIN_TIMEOUT
        )
        session = server.xmpp.sessions.get(JID(PROFANITY_JID))
        assert session is not None and not session.ended
        screen = await profanity.screen()
        assert "error" not in screen.lower(), screen
        assert "carbons" not in screen.lower(), screen
        assert "bookmark" not in screen.lower(), screen
        await profanity.quit()
        await until(lambda: not server.chats.is_available(queue="reference"))
    finally:
        await profanity.close()


@requires_tool("profanity", "tmux")
@asyncio_test
async def test_profanity_transfers_and_ends_a_chat_with_text_commands(server, tmp_path):
    [bob] = await operators(server, "bob")
    staff(server, "circulation", "bob")
    profanity = await logged_in(server, tmp_path)
    visitor = Visitor(server)
    try:
        code, body = await visitor.start(
            queue="reference", name="Vera Visitor", question="Is the atlas in?"
        )
        assert code == 201, body
        window = await profanity.window_of("Vera Visitor · reference", SCREEN_TIMEOUT)
        await profanity.type_line(f"/win {window}")
        await profanity.wait_for_screen("New chat for reference", SCREEN_TIMEOUT)
        await profanity.wait_for_screen("Is the atlas in?", SCREEN_TIMEOUT)

        await profanity.type_line("Alice here, let me look.")
        seen = await visitor_events_until(visitor, "message", "Alice here, let me look.")
        chat = server.chats.chat(visitor.token)
        assert (chat.state, chat.operator) == ("active", "alice")

        await profanity.type_line("!transfer circulation please check")
        await profanity.wait_for_screen("[mcc] Transferring this chat to", SCREEN_TIMEOUT)
        note = await message_matching(bob, has_body("transfers this chat"), SCREEN_TIMEOUT)
        assert note["body"].endswith("Note: please check")
        seen += await visitor_events_until(visitor, "transfer")
        assert seen[-1]["text"] == "You are being transferred to circulation."

        # Nobody at circulation answered: the chat is still alice's to end.
        await profanity.type_line("!end")
        seen += await visitor_events_until(visitor, "ended")
        assert visitor.state == "closed"
        said = [e["text"] for e in seen if e["kind"] == "message" and e["from"] == "operator"]
        assert said == ["Alice here, let me look."]
        assert not [e for e in seen if "!" in e.get("text", "")]

        chat = server.chats.chat(visitor.token)
        assert (chat.state, chat.operator) == ("closed", "alice")
        events = server.store.chats.events_after(chat.id, 0, include_internal=True)
        [offered] = [event.data for event in events if event.kind == "transfer_offered"]
        assert (offered["queue"], offered["note"]) == ("circulation", "please check")
        assert [event.data["by"] for event in events if event.kind == "ended"] == ["operator"]
        texts = [event.data.get("text") or "" for event in events]
        assert not [text for text in texts if text.startswith("!")]
        await profanity.quit()
    finally:
        await profanity.close()
        await close_all(bob)
