"""
A text mcc was sending when it stopped: neither Twilio nor Telnyx takes an
idempotency key, so it is not sent again after the restart (it could arrive
twice); it is marked uncertain and the operator is told.
"""

import asyncio

from mcc.store.gateways import QUEUED, SENDING, SENT, UNCERTAIN
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import close_all, has_body, message_matching, operators, staff
from tests.test_sms_gateways import fakes, gateways, hook, sms, twilio_gateway
from tests.xmpp_client import until


@asyncio_test
async def test_a_text_caught_mid_send_is_not_sent_again_but_reported(server):
    twilio, telnyx = await fakes()
    (alice,) = await operators(server, "alice")
    staff(server, "support", "alice")
    gateway = twilio_gateway(server, twilio)
    service = gateways(server)
    try:
        await twilio.webhook(hook(server, "twilio"), sms("SM1", "Are you open?"))
        guest = (await message_matching(alice, has_body("New chat for support")))["from"].bare
        twilio.held = []
        alice.send_message(mto=guest, mbody="Until nine", mtype="chat")
        alice.send_message(mto=guest, mbody="Tonight too", mtype="chat")
        await until(lambda: len(twilio.calls) == 1)
        first, second = server.store.gateways.texts(gateway.id)
        assert (first.status, first.attempt, second.status) == (SENDING, 1, QUEUED)

        # mcc stops before Twilio answers, then starts again.
        service.stopService()
        service.startService()
        notice = await message_matching(alice, has_body("This text may not have been sent"))
        assert "'Until nine'" in notice["body"]
        await until(lambda: len(twilio.calls) == 2)
        assert [c.form["Body"] for c in twilio.calls] == ["Until nine", "Tonight too"]
        first = server.store.gateways.text(first.id)
        assert first.status == UNCERTAIN
        assert "may not have been sent" in first.reason
        assert "may not have been sent" in service.get(gateway.id).last_error
        chat = server.store.chats.by_id(first.chat_id)
        events = [e.data for e in server.store.chats.events_after(chat.id, 0, include_internal=True) if e.kind == "sms"]
        assert [e["status"] for e in events] == [UNCERTAIN]

        # Twilio's late answer to the first attempt changes nothing.
        twilio.held.pop(0).callback(None)
        twilio.held.pop(0).callback(None)
        await until(lambda: server.store.gateways.text(second.id).status == SENT)
        await asyncio.sleep(0.1)
        assert server.store.gateways.text(first.id).status == UNCERTAIN
        assert len(twilio.calls) == 2
    finally:
        await close_all(alice)
        await twilio.stop()
        await telnyx.stop()
