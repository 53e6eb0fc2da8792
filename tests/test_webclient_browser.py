"""
The web chat client in headless Chromium against a running mcc: an
operator answers from the browser while a colleague's slixmpp client rings
too, and a visitor chats through the widget on a website of another origin.
"""

import os
from pathlib import Path

from playwright.async_api import expect

from mcc.routing.widgets import Level
from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import has_body, message_matching
from tests.test_widget_browser import code_of, rules, snippet, staff, website
from tests.tools import requires_tool
from tests.visitor_client import Visitor
from tests.xmpp_client import login

SCREENSHOT = os.environ.get("MCC_WEBCLIENT_SHOT")
"""
Where the screenshot of two chats goes when set (docs/webclient.png is one).
"""


async def sign_in(page, server, username, password):
    await page.goto(f"{server.http_url}/client/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_label("Status")).to_be_visible()


@requires_tool("chromium")
@asyncio_test
async def test_the_web_client_answers_first_beside_an_xmpp_operator(server, tmp_path):
    support = staff(server, "Support", "olive", "xavier")
    skin = rules(server).create_skin("Blue", {"title": "Support chat"})
    made = snippet(server, "floating", [Level(skin.id, queue_id=support.id)])
    xavier = await login(server, "xavier@localhost/desk", "xavier-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            desk = await browser.new_page(viewport={"width": 1280, "height": 800})
            await sign_in(desk, server, "olive", "olive-pw")
            await desk.get_by_label("Status").select_option("available")
            await expect(desk.get_by_text("No chats yet.")).to_be_visible()
            assert server.chats.availability.is_available("olive")

            visitor = await browser.new_page(viewport={"width": 1280, "height": 800})
            await visitor.goto(site + "/products")
            await visitor.get_by_role("button", name="Chat with us").click()
            await visitor.get_by_label("Your name").fill("Vera")
            await visitor.get_by_label("Your question").fill("Where is my parcel?")
            await visitor.get_by_role("button", name="Start chat").click()

            await message_matching(xavier, has_body("New chat for Support from Vera"))
            tab = desk.get_by_role("tab", name="Vera")
            await expect(tab).to_be_visible()
            pane = desk.get_by_role("tabpanel")
            await expect(pane.get_by_role("log")).to_contain_text("Where is my parcel?")
            details = pane.get_by_role("complementary", name="Visitor details")
            await expect(details).to_contain_text(f"{site}/products")
            await expect(details).to_contain_text("Support")

            reply = pane.get_by_label("Your reply")
            await reply.fill("Hello Vera, Olive here.")
            await reply.press("Enter")
            await expect(pane.get_by_role("log")).to_contain_text("Hello Vera, Olive here.")
            await expect(pane.get_by_text("Your chat")).to_be_visible()
            told = await message_matching(xavier, has_body("picked up this chat"))
            assert "Olive Operator picked up this chat." in told["body"]

            log = visitor.get_by_role("log")
            await expect(log).to_contain_text("Hello Vera, Olive here.")
            await pane.get_by_label("Your reply").press_sequentially("One moment")
            await expect(visitor.get_by_text("Olive Operator is typing…")).to_be_visible()
            await pane.get_by_label("Your reply").fill("")
            await visitor.get_by_label("Message", exact=False).last.press_sequentially("Thanks")
            await expect(pane.get_by_text("Vera is typing…")).to_be_visible()
            await visitor.get_by_label("Message", exact=False).last.fill("Thanks!")
            await visitor.keyboard.press("Enter")
            await expect(pane.get_by_role("log")).to_contain_text("Thanks!")

            await desk.reload()
            pane = desk.get_by_role("tabpanel")
            await expect(pane.get_by_role("log")).to_contain_text("Thanks!")
            texts = await pane.get_by_role("log").locator("li").all_inner_texts()
            assert [t.splitlines()[-1] for t in texts] == [
                "Where is my parcel?", "Hello Vera, Olive here.", "Thanks!",
            ]

            # A second chat, while the first is in front: it counts unread.
            second = Visitor(server)
            code, _ = await second.start(queue="Support", name="Walt", question="Do you ship abroad?")
            assert code == 201
            walt = desk.get_by_role("tab", name="Walt")
            await expect(walt).to_contain_text("1")
            await expect(desk).to_have_title("(1) Chats · Web chat client · localhost")
            await second.say("Hello?")
            await expect(walt).to_contain_text("2")
            await desk.keyboard.press("Alt+2")
            await expect(desk.get_by_role("tabpanel").get_by_role("log")).to_contain_text("Hello?")
            await expect(desk).to_have_title("Chats · Web chat client · localhost")
            reply = desk.get_by_role("tabpanel").get_by_label("Your reply")
            await reply.fill("Yes, we do.")
            await reply.press("Enter")
            await expect(desk.get_by_role("tabpanel").get_by_role("log")).to_contain_text("Yes, we do.")
            shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "webclient.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            await desk.screenshot(path=str(shot))

            phone = await browser.new_page(viewport={"width": 390, "height": 844})
            await sign_in(phone, server, "olive", "olive-pw")
            await expect(phone.get_by_role("tab", name="Vera")).to_be_visible()
            await expect(phone.get_by_role("tab", name="Walt")).to_be_visible()
            width = await phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390
            await phone.get_by_role("tab", name="Vera").click()
            await expect(phone.get_by_role("tabpanel").get_by_label("Your reply")).to_be_visible()
    finally:
        await xavier.close()
