"""
The widget tells operators what the visitor received and saw, in headless
Chromium: receipts follow its polls, displayed markers only come while its
panel shows, and an operator typing before taking the chat shows in the
skin's words.
"""

import asyncio

import pytest
from playwright.async_api import expect

from mcc.routing.widgets import Level
from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import has_body, message_matching
from tests.test_guest_contact import NS_MARKERS, NS_RECEIPTS, acknowledging, ask_back, every_message, next_matching
from tests.test_widget_browser import code_of, rules, snippet, staff, website
from tests.tools import requires_tool
from tests.xmpp_client import login


@requires_tool("chromium")
@asyncio_test
async def test_receipts_and_markers_follow_what_the_widget_shows(server):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"text_looking": "Someone is reading your question"})
    made = snippet(server, "floating", [Level(skin.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    arriving = every_message(olive)
    wanted = ((NS_RECEIPTS, "request"), (NS_MARKERS, "markable"))
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(site + "/")
            await page.get_by_role("button", name="Chat with us").click()
            await page.get_by_label("Your name").fill("Vera")
            await page.get_by_role("button", name="Start chat").click()
            guest = (await message_matching(olive, has_body("New chat")))["from"].bare

            state = olive.make_message(mto=guest, mtype="chat")
            state["chat_state"] = "composing"
            state.send()
            await expect(page.get_by_text("Someone is reading your question")).to_be_visible()

            first = ask_back(olive, guest, "Hello Vera", *wanted)
            await expect(page.get_by_role("log")).to_contain_text("Hello Vera")
            await expect(page.get_by_text("Someone is reading your question")).to_have_count(0)
            await next_matching(arriving, acknowledging(NS_RECEIPTS, "received", first))
            await next_matching(arriving, acknowledging(NS_MARKERS, "displayed", first))

            await page.get_by_role("button", name="Minimise").click()
            hidden = ask_back(olive, guest, "Still there?", *wanted)
            await expect(page.get_by_role("button", name="Chat with us (new message)")).to_be_visible()
            await next_matching(arriving, acknowledging(NS_RECEIPTS, "received", hidden))
            with pytest.raises(asyncio.TimeoutError):
                await next_matching(arriving, acknowledging(NS_MARKERS, "displayed", hidden), timeout=1)
            await page.get_by_role("button", name="Chat with us").click()
            await next_matching(arriving, acknowledging(NS_MARKERS, "displayed", hidden))
    finally:
        await olive.close()
