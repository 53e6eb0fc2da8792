"""
SMS chat through gateways, over real sockets: local fakes of Twilio and
Telnyx post signed webhooks to mcc and record the texts mcc sends; the
operator is a slixmpp client.
"""

import asyncio
import time

import treq

from mcc.routing.segments import segments
from tests.conftest import asyncio_test
from tests.sms_fakes import FakeTelnyx, FakeTwilio
from tests.test_chat_end_to_end import close_all, has_body, message_matching, operators, staff
from tests.xmpp_client import until

TEXTER = "+15551234567"
NUMBER = "+15557654321"


def gateways(server):
    return server.service.getServiceNamed("sms-gateways")


async def fakes():
    from twisted.internet import reactor

    return FakeTwilio().listen(reactor), FakeTelnyx().listen(reactor)


def twilio_gateway(server, fake, queue="support", **extra):
    service = gateways(server)
    service.providers["twilio"].base_url = fake.url
    return service.add(
        provider="twilio", number=NUMBER, account=fake.sid, secret=fake.token, queue=queue, **extra
    )


def hook(server, provider):
    return f"{server.config.base_url(server.http_port)}/gateways/sms/{provider}"


async def body(response):
    return await treq.content(response).asFuture(asyncio.get_running_loop())


def sms(sid, text, sender=TEXTER, **more):
    return {"MessageSid": sid, "From": sender, "To": NUMBER, "Body": text, "NumMedia": "0", **more}


@asyncio_test
async def test_a_chat_by_sms_through_twilio(server):
    twilio, telnyx = await fakes()
    (alice,) = await operators(server, "alice")
    staff(server, "support", "alice")
    gateway = twilio_gateway(server, twilio)
    try:
        response = await twilio.webhook(hook(server, "twilio"), sms("SM1", "Is the library open?"))
        assert response.code == 200
        assert response.headers.getRawHeaders("content-type")[0].startswith("text/xml")
        assert b"<Response/>" in await body(response)
        offer = await message_matching(alice, has_body("New chat for support"))
        assert "+1••••••4567" in offer["body"] and TEXTER not in offer["body"]
        guest = offer["from"].bare

        # Twilio retries a webhook it got no answer to: stored once.
        again = await twilio.webhook(hook(server, "twilio"), sms("SM1", "Is the library open?"))
        assert again.code == 200
        chat = server.store.chats.by_guest(guest.split("@")[0])
        assert chat.protocol == "sms"
        messages = [e for e in server.store.chats.events_after(chat.id, 0) if e.kind == "message"]
        assert [e.data["text"] for e in messages] == ["Is the library open?"]

        alice.send_message(mto=guest, mbody="Yes, until 9pm.", mtype="chat")
        await message_matching(alice, has_body(f"The texter's number is {TEXTER}."))
        await until(lambda: len(twilio.calls) == 1)
        call = twilio.calls[0]
        assert (call.method, call.path) == ("POST", f"/2010-04-01/Accounts/{twilio.sid}/Messages.json")
        assert call.authorization.startswith("Basic ")
        assert call.form == {"To": TEXTER, "From": NUMBER, "Body": "Yes, until 9pm."}

        await twilio.webhook(
            hook(server, "twilio"),
            sms("SM2", "Here is my card", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1"),
        )
        said = await message_matching(alice, has_body("Here is my card"))
        assert "File: https://api.twilio.com/media/ME1" in said["body"]

        long_reply = " ".join(["renewal"] * 62) + " ok!!"  # 500 characters
        assert len(long_reply) == 500
        alice.send_message(mto=guest, mbody=long_reply, mtype="chat")
        await message_matching(alice, has_body("Your reply goes out as 4 texts."))
        await until(lambda: len(twilio.calls) == 5)
        parts = [c.form["Body"] for c in twilio.calls[1:]]
        assert " ".join(parts) == long_reply
        assert all(len(p) <= 160 and segments(p) == 1 for p in parts)
        assert gateways(server).get(gateway.id).last_outbound_at is not None
    finally:
        await close_all(alice)
        await twilio.stop()
        await telnyx.stop()


@asyncio_test
async def test_bad_webhooks_are_refused_and_nothing_stored(server):
    twilio, telnyx = await fakes()
    staff(server, "support")
    gateway = twilio_gateway(server, twilio)
    try:
        url = hook(server, "twilio")
        assert (await twilio.webhook(url, sms("SM1", "hi"), signed=False)).code == 403
        assert (await twilio.webhook(url, sms("SM1", "hi"), token="not-the-token")).code == 403
        assert (await twilio.webhook(url, {**sms("SM1", "hi"), "To": "+15550000000"})).code == 404
        assert (await twilio.webhook(url, sms("SM1", "hi", sender="5551234"))).code == 400
        assert (await twilio.webhook(url, sms("SM1", "x" * 70000))).code in (400, 413)
        assert (await twilio.webhook(url, {**sms("SM1", "hi"), "To": "12"})).code == 400
        bad = await treq.post(url, data=b"{}", headers={"Content-Type": ["application/json"]}).asFuture(
            asyncio.get_running_loop()
        )
        assert bad.code == 400
        assert server.store.gateways.inbound_count(gateway.id) == 0
        assert server.store.chats.unfinished() == []
    finally:
        await twilio.stop()
        await telnyx.stop()


@asyncio_test
async def test_outage_is_retried_then_reported(server):
    twilio, telnyx = await fakes()
    (bob,) = await operators(server, "bob")
    staff(server, "support", "bob")
    gateway = twilio_gateway(server, twilio)
    gateways(server).retry_delays = (0.05, 0.05)
    try:
        await twilio.webhook(hook(server, "twilio"), sms("SM1", "Hello?"))
        guest = (await message_matching(bob, has_body("New chat for support")))["from"].bare
        twilio.answers = [500, 503]
        bob.send_message(mto=guest, mbody="First answer", mtype="chat")
        await until(lambda: len(twilio.calls) == 3)
        assert [c.form["Body"] for c in twilio.calls] == ["First answer"] * 3

        twilio.answers = [500, 500, 500]
        bob.send_message(mto=guest, mbody="Second answer", mtype="chat")
        await message_matching(bob, has_body("A text to the visitor could not be sent: Twilio answered 500"))
        assert len(twilio.calls) == 6
        assert "500" in gateways(server).get(gateway.id).last_error

        # Credentials the provider refuses: the gateway is failing.
        twilio.token = "rotated"
        bob.send_message(mto=guest, mbody="Third answer", mtype="chat")
        await message_matching(bob, has_body("Twilio answered 401"))
        assert gateways(server).get(gateway.id).failing
    finally:
        await close_all(bob)
        await twilio.stop()
        await telnyx.stop()


@asyncio_test
async def test_offline_reply_once_and_a_missed_chat(server):
    twilio, telnyx = await fakes()
    staff(server, "support")
    twilio_gateway(server, twilio, offline_reply="We are closed; we will text you back.")
    try:
        for n, text in enumerate(["Anyone there?", "Hello?", "STOP"]):
            response = await twilio.webhook(hook(server, "twilio"), sms(f"SM{n}", text))
            assert response.code == 200
        await until(lambda: len(twilio.calls) == 1)
        await asyncio.sleep(0.2)
        assert [c.form["Body"] for c in twilio.calls] == ["We are closed; we will text you back."]
        (chat,) = [c for c in server.store.chats.unfinished()] or [None] if False else [
            server.store.chats.by_id(server.store.gateways.contact(1, TEXTER).chat_id)
        ]
        assert chat.state == "missed"
        texts = [e.data["text"] for e in server.store.chats.events_after(chat.id, 0) if e.kind == "message"]
        assert texts == ["Anyone there?", "Hello?"]
        assert server.store.gateways.contact(1, TEXTER).stopped
        await twilio.webhook(hook(server, "twilio"), sms("SM9", "HELP"))
        await asyncio.sleep(0.2)
        assert len(twilio.calls) == 1  # STOP: no more texts, not even HELP's.
    finally:
        await twilio.stop()
        await telnyx.stop()


@asyncio_test
async def test_a_chat_by_sms_through_telnyx(server):
    twilio, telnyx = await fakes()
    (carol,) = await operators(server, "carol")
    staff(server, "support", "carol")
    service = gateways(server)
    service.providers["telnyx"].base_url = telnyx.url
    service.add(provider="telnyx", number=NUMBER, secret=telnyx.key, public_key=telnyx.public_key, queue="support")
    url = hook(server, "telnyx")
    try:
        stale = await telnyx.webhook(url, "ev-0", TEXTER, NUMBER, "old", timestamp=time.time() - 600)
        assert stale.code == 403
        assert (await telnyx.webhook(url, "ev-0", TEXTER, NUMBER, "old", signed=False)).code == 403
        response = await telnyx.webhook(url, "ev-1", TEXTER, NUMBER, "Cześć, a photo", media=["https://media.telnyx.com/1.jpg"])
        assert response.code == 200
        assert (await telnyx.webhook(url, "ev-1", TEXTER, NUMBER, "Cześć, a photo")).code == 200
        offer = await message_matching(carol, has_body("New chat for support"))
        guest = offer["from"].bare
        chat = server.store.chats.by_guest(guest.split("@")[0])
        texts = [e.data["text"] for e in server.store.chats.events_after(chat.id, 0) if e.kind == "message"]
        assert texts == ["Cześć, a photo\nFile: https://media.telnyx.com/1.jpg"]
        carol.send_message(mto=guest, mbody="Dzień dobry!", mtype="chat")
        await until(lambda: len(telnyx.calls) == 1)
        call = telnyx.calls[0]
        assert (call.method, call.path, call.authorization) == ("POST", "/v2/messages", f"Bearer {telnyx.key}")
        assert call.json == {"from": NUMBER, "to": TEXTER, "text": "Dzień dobry!"}
    finally:
        await close_all(carol)
        await twilio.stop()
        await telnyx.stop()
