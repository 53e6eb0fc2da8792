"""
An SMS chat in the web client, in headless Chromium: the reply box says
how many texts the reply will cost before it is sent.
"""

from playwright.async_api import expect

from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.sms_fakes import FakeTwilio
from tests.test_sms_gateways import hook, sms, twilio_gateway
from tests.test_webclient_browser import sign_in
from tests.test_widget_browser import staff
from tests.tools import requires_tool
from tests.xmpp_client import until


@requires_tool("chromium")
@asyncio_test
async def test_the_reply_box_counts_texts_before_sending(server):
    from twisted.internet import reactor

    staff(server, "support", "olive")
    twilio = FakeTwilio().listen(reactor)
    try:
        twilio_gateway(server, twilio)
        async with chromium() as browser:
            desk = await browser.new_page(viewport={"width": 1280, "height": 800})
            await sign_in(desk, server, "olive", "olive-pw")
            await desk.get_by_label("Status").select_option("available")
            await twilio.webhook(hook(server, "twilio"), sms("SM1", "Is it open?"))
            pane = desk.get_by_role("tabpanel")
            await expect(pane.get_by_role("log")).to_contain_text("Is it open?")
            reply = pane.get_by_label("Your reply")
            cost = pane.locator("[data-sms-cost]")
            await reply.fill("Yes")
            await expect(cost).to_have_text("Sent as 1 text")
            long_reply = " ".join(["renewal"] * 62) + " ok!!"
            await reply.fill(long_reply)
            await expect(cost).to_have_text("Sent as 4 texts")
            await reply.press("Enter")
            await expect(cost).to_have_text("")
            await until(lambda: len(twilio.calls) == 4)
    finally:
        await twilio.stop()
