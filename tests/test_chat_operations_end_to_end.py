"""
A transfer over real sockets: XMPP operators (slixmpp), a visitor on the
HTTP API, and L{ChatOperations} called directly, as an adapter would.
"""

from twisted.internet import reactor

from mcc.routing.operations import ChatOperations
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import close_all, has_body, message_matching, operators, staff
from tests.visitor_client import Visitor


@asyncio_test
async def test_alice_transfers_a_chat_to_bobs_queue_and_bob_takes_it(server):
    alice, bob = await operators(server, "alice", "bob")
    staff(server, "Support", "alice")
    staff(server, "Reference", "bob")
    operations = ChatOperations(server.store, server.chats, reactor)
    visitor = Visitor(server)
    try:
        code, body = await visitor.start(queue="Support", name="Vera", question="Do you have this book?")
        assert code == 201, body
        offer = await message_matching(alice, has_body("New chat for Support"))
        guest = offer["from"].bare
        alice.send_message(mto=guest, mbody="Let me look.", mtype="chat")
        await visitor.events_until("message", "Let me look.")
        chat = server.chats.chat(visitor.token)

        targets = operations.transfer_targets(chat.id, "alice")
        assert ("queue", "Reference") in [(t.kind, t.name) for t in targets]
        operations.transfer(chat.id, "alice", queue="Reference", note="Needs the catalogue")

        offered = await message_matching(bob, has_body("New chat for Support"))
        assert offered["from"].bare == guest
        assert (await message_matching(bob, has_body("Let me look.")))["body"] == "[Alice] Let me look."
        note = await message_matching(bob, has_body("transfers this chat"))
        assert note["body"] == (
            "[mcc] Alice transfers this chat to Reference; reply to take it.\n"
            "Note: Needs the catalogue"
        )
        events = await visitor.events_until("transfer")
        assert events[-1]["text"] == "You are being transferred to Reference."

        bob.send_message(mto=guest, mbody="Bob from Reference here.", mtype="chat")
        await message_matching(alice, has_body("Bob took this chat over from you."))
        events = await visitor.events_until("message", "Bob from Reference here.")
        assert [e["kind"] for e in events][-2:] == ["picked_up", "message"]
        taken = server.chats.chat(visitor.token)
        assert (taken.operator, taken.queue) == ("bob", "Reference")

        await visitor.say("Thank you!")
        assert (await message_matching(bob, has_body("Thank you!")))["body"] == "Thank you!"
    finally:
        await close_all(alice, bob)
