"""
The widget's system notices in headless Chromium, on a website of another
origin: a chat nobody answers in time, a chat handed back to the queue when
its operator goes offline, and one the operator ends.  Chats ring briefly
and operators have little time to reconnect here, so that "missed" and
"transferred" come quickly.
"""

import pytest
from playwright.async_api import expect

from mcc.routing.widgets import Level
from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.conftest import test_config as make_config
from tests.test_chat_end_to_end import has_body, message_matching
from tests.test_widget_browser import code_of, rules, shots, snippet, staff, website  # noqa: F401
from tests.tools import requires_tool
from tests.xmpp_client import login

ANSWER_TIMEOUT = 2.0


@pytest.fixture
def server_config(tmp_path):
    return make_config(
        tmp_path / "data", answer_timeout=ANSWER_TIMEOUT, reconnect_timeout=ANSWER_TIMEOUT
    )


async def embedded_chat(browser, site):
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(site + "/")
    await page.get_by_label("Your name").fill("Vera")
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_text("Waiting for an operator…")).to_be_visible()
    return page


@requires_tool("chromium")
@asyncio_test
async def test_a_chat_nobody_answers_is_missed(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"title": "Support chat"})
    made = snippet(server, "embedded", [Level(skin.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await embedded_chat(browser, site)
            await message_matching(olive, has_body("New chat for Support from Vera"))
            log = page.get_by_role("log")
            await expect(log).to_contain_text(
                "Sorry, nobody could answer in time. Please try again later."
            )
            again = page.get_by_role("button", name="Start a new chat")
            await expect(again).to_be_visible()
            await expect(page.get_by_role("button", name="End chat")).to_be_hidden()
            await page.screenshot(path=str(shots / "1280-missed.png"))
            await again.click()
            await expect(page.get_by_role("button", name="Start chat")).to_be_visible()
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_transferred_back_to_the_queue_then_ended_by_the_operator(server, shots):
    support = staff(server, "Support", "olive", "bob")
    skin = rules(server).create_skin("Blue", {"title": "Support chat"})
    made = snippet(server, "embedded", [Level(skin.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    bob = await login(server, "bob@localhost/desk", "bob-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await embedded_chat(browser, site)
            offer = await message_matching(olive, has_body("New chat for Support from Vera"))
            guest = offer["from"].bare
            olive.send_message(mto=guest, mbody="Olive here.", mtype="chat")
            await expect(page.get_by_text("Chatting with Olive Operator")).to_be_visible()
            await olive.close()
            log = page.get_by_role("log")
            await expect(log).to_contain_text("Transferring you to another operator…")
            await expect(page.get_by_text("Waiting for an operator…")).to_be_visible()

            await message_matching(bob, has_body("New chat for Support from Vera"))
            bob.send_message(mto=guest, mbody="Bob here, I can help.", mtype="chat")
            await expect(log).to_contain_text("Bob Operator joined the chat.")
            await expect(page.get_by_text("Chatting with Bob Operator")).to_be_visible()
            bob.send_message(mto=guest, mbody="/end", mtype="chat")
            await expect(log).to_contain_text("The chat has ended.")
            await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
            await page.screenshot(path=str(shots / "1280-ended.png"))
    finally:
        await olive.close()
        await bob.close()
