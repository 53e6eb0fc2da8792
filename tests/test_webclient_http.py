"""
The web chat client's sign-in and JSON API over real sockets, against a
running mcc, with a cookie jar per browser.
"""

import json
import re
from http.cookiejar import CookieJar

import treq
import treq.client

from tests.conftest import asyncio_test
from tests.test_widget_browser import staff
from tests.visitor_client import Visitor, wait


class Browser:
    def __init__(self, server):
        self.url = server.http_url + "/client"
        from twisted.internet import reactor
        from twisted.web.client import Agent

        self.cookies = CookieJar()
        self.http = treq.client.HTTPClient(Agent(reactor), cookiejar=self.cookies)
        self.csrf = None

    async def request(self, method, path, **kwargs):
        response = await wait(
            self.http.request(method, self.url + path, allow_redirects=False, **kwargs)
        )
        return response, await wait(response.content())

    async def sign_in(self, username, password):
        _, page = await self.request("GET", "/sign-in")
        csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', page).group(1).decode()
        response, _ = await self.request(
            "POST", "/sign-in", data={"csrf": csrf, "username": username, "password": password}
        )
        if response.code == 303:
            _, page = await self.request("GET", "/")
            self.csrf = re.search(rb'data-csrf="([0-9a-f]+)"', page).group(1).decode()
        return response

    async def api(self, method, path, body=None, csrf=True):
        headers = {"x-csrf-token": self.csrf} if csrf and self.csrf else {}
        response, content = await self.request(method, "/api/" + path, json=body, headers=headers)
        return response.code, json.loads(content)


@asyncio_test
async def test_any_operator_signs_in_and_wrong_passwords_are_refused(server):
    staff(server, "Support", "olive")
    browser = Browser(server)
    assert (await browser.sign_in("olive", "wrong")).code == 403
    response = await browser.sign_in("olive", "olive-pw")
    assert response.code == 303
    assert response.headers.getRawHeaders("location") == ["/client/"]
    cookie = next(c for c in browser.cookies if c.name == "mcc_client")
    assert cookie.path == "/client/"
    assert cookie.has_nonstandard_attr("HttpOnly")


@asyncio_test
async def test_the_api_needs_a_session_and_its_csrf_token(server):
    staff(server, "Support", "olive")
    stranger = Browser(server)
    code, answer = await stranger.api("POST", "open")
    assert (code, answer["error"]) == (401, "signed-out")
    browser = Browser(server)
    await browser.sign_in("olive", "olive-pw")
    code, answer = await browser.api("POST", "open", csrf=False)
    assert (code, answer["error"]) == (403, "forged")
    assert not server.chats.availability.is_available("olive")


@asyncio_test
async def test_open_rings_answer_and_resume_through_the_api(server):
    staff(server, "Support", "olive")
    browser = Browser(server)
    await browser.sign_in("olive", "olive-pw")
    code, opened = await browser.api("POST", "open")
    assert code == 200 and opened["chats"] == [] and opened["status"] == "available"
    assert server.chats.availability.status("olive") == "available"

    visitor = Visitor(server)
    code, _ = await visitor.start(queue="Support", name="Vera", question="Hi?")
    assert code == 201
    code, polled = await browser.api("GET", f"events?client={opened['client']}&after={opened['cursor']}")
    assert [e["kind"] for e in polled["events"]] == ["offer"]
    chat_id = polled["events"][0]["chat"]
    # Only on the web client: the XMPP side keeps nothing for later.
    assert server.store.offline.count("olive") == 0
    assert polled["events"][0]["transcript"][0]["text"] == "Hi?"

    code, answer = await browser.api("POST", f"chats/{chat_id}/messages", {"text": "Hello"})
    assert code == 200 and answer["chat"]["state"] == "active"
    code, polled = await browser.api("GET", f"events?client={opened['client']}&after={polled['cursor']}")
    assert [e["kind"] for e in polled["events"]] == ["taken", "message"]
    assert [e["kind"] for e in await visitor.events_until("message", "Hello")][-1] == "message"

    code, answer = await browser.api("POST", f"chats/{chat_id + 1}/messages", {"text": "x"})
    assert (code, answer["error"]) == (404, "unknown-chat")
    code, answer = await browser.api("POST", f"chats/{chat_id}/messages", {"text": " "})
    assert (code, answer["error"]) == (400, "invalid-field")
    code, answer = await browser.api("POST", "status", {"status": "busy"})
    assert code == 400

    code, again = await browser.api("POST", "open")
    assert again["cursor"] == polled["cursor"]
    assert [m["text"] for m in again["chats"][0]["transcript"]] == ["Hi?", "Hello"]
    code, _ = await browser.api("POST", "status", {"status": "offline"})
    assert server.chats.availability.status("olive") == "offline"
    code, answer = await browser.api("POST", f"chats/{chat_id}/end", {})
    assert code == 200, answer
    assert answer["chat"]["state"] == "closed"


@asyncio_test
async def test_signing_out_takes_the_operator_away(server):
    staff(server, "Support", "olive")
    browser = Browser(server)
    await browser.sign_in("olive", "olive-pw")
    await browser.api("POST", "open")
    assert server.chats.availability.is_available("olive")
    response, _ = await browser.request("POST", "/sign-out", data={"csrf": browser.csrf})
    assert response.code == 303
    assert server.chats.availability.status("olive") == "offline"
    code, _ = await browser.api("POST", "open")
    assert code == 401


@asyncio_test
async def test_a_disabled_account_is_signed_out_and_no_longer_present(server):
    staff(server, "Support", "olive")
    browser = Browser(server)
    await browser.sign_in("olive", "olive-pw")
    await browser.api("POST", "open")
    assert server.chats.availability.is_available("olive")
    server.xmpp.accounts.set_disabled("olive", True)
    assert server.chats.availability.status("olive") == "offline"
    code, answer = await browser.api("POST", "open")
    assert (code, answer["error"]) == (401, "signed-out")


@asyncio_test
async def test_without_smtp_the_transcript_says_email_is_not_set_up(server):
    staff(server, "Support", "olive")
    browser = Browser(server)
    await browser.sign_in("olive", "olive-pw")
    code, opened = await browser.api("POST", "open")
    visitor = Visitor(server)
    await visitor.start(queue="Support", name="Vera", email="vera@example.org", question="Hi?")
    code, polled = await browser.api("GET", f"events?client={opened['client']}&after={opened['cursor']}")
    chat_id = polled["events"][0]["chat"]
    await browser.api("POST", f"chats/{chat_id}/messages", {"text": "Hello"})
    code, answer = await browser.api("POST", f"chats/{chat_id}/transcript", {})
    assert (code, answer) == (
        503, {"error": "mail-not-configured", "message": "E-mail is not set up on this server"},
    )
    code, answer = await browser.api("POST", f"chats/{chat_id}/nonsense", {})
    assert (code, answer["error"]) == (404, "not-found")


@asyncio_test
async def test_an_sms_reply_is_counted_in_texts_before_it_is_sent(server):
    from tests.sms_fakes import FakeTwilio
    from tests.test_sms_gateways import hook, sms, twilio_gateway

    from twisted.internet import reactor

    staff(server, "support", "olive")
    twilio = FakeTwilio().listen(reactor)
    try:
        gateway = twilio_gateway(server, twilio)
        browser = Browser(server)
        await browser.sign_in("olive", "olive-pw")
        code, opened = await browser.api("POST", "open")
        await twilio.webhook(hook(server, "twilio"), sms("SM1", "Hello?"))
        code, polled = await browser.api("GET", f"events?client={opened['client']}&after={opened['cursor']}")
        (offer,) = polled["events"]
        assert offer["details"]["protocol"] == "sms"
        path = f"chats/{offer['chat']}/segments"
        for text, texts in [
            ("", 0), ("Yes", 1), ("a" * 160, 1), ("a" * 159 + "€", 2), ("ł" * 70, 1), ("ł" * 71, 2),
            (" ".join(["renewal"] * 62) + " ok!!", 4),
        ]:
            assert await browser.api("POST", path, {"text": text}) == (200, {"texts": texts}), text
        # A gateway whose provider concatenates costs segments, not parts.
        gateways = server.service.getServiceNamed("sms-gateways")
        gateways.update(
            gateway.id, provider="twilio", number=gateway.number, account=gateway.account,
            queue="support", concatenate=True,
        )
        assert await browser.api("POST", path, {"text": "a" * 307}) == (200, {"texts": 3})
        code, answer = await browser.api("POST", path, {"text": 5})
        assert (code, answer["error"]) == (400, "invalid-field")
        assert server.store.gateways.texts(gateway.id) == []

        visitor = Visitor(server)
        await visitor.start(queue="support", name="Vera", question="Hi?")
        code, polled = await browser.api("GET", f"events?client={opened['client']}&after={polled['cursor']}")
        web_chat = polled["events"][-1]["chat"]
        code, answer = await browser.api("POST", f"chats/{web_chat}/segments", {"text": "Hi"})
        assert (code, answer["error"]) == (400, "not-sms")
    finally:
        await twilio.stop()
