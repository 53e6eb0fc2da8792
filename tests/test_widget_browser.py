"""
The chat widget in headless Chromium, on a website of another origin: a
second loopback port serving pages that hold only the generated code, as a
customer's site would.  Operators are real XMPP clients (slixmpp).
"""

import os
import re
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import expect
from twisted.internet import endpoints
from twisted.web import resource, server

from mcc.routing.widgets import Level
from mcc.widget.code import chat_url, frame_code, generated_code
from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.test_admin_browser import check_page, sign_in_as_first_admin
from tests.test_chat_end_to_end import has_body, message_matching
from tests.tools import requires_tool
from tests.visitor_client import wait
from tests.xmpp_client import login

LIVE = 15000
"""
Milliseconds to wait for the widget to follow availability by itself.
"""
PAGE = (
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "<title>Shop</title>\n</head>\n<body>\n{code}\n</body>\n</html>\n"
)

WATCH_THE_LOG = """
window.logChanges = [];
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const root = attachShadow.call(this, init);
  new MutationObserver((records) => records.forEach((record) => {
    if (record.target.getAttribute && record.target.getAttribute("role") === "log") {
      logChanges.push(record.type === "childList" ? "added" : "aria-busy was " + record.oldValue);
    }
  })).observe(root, {
    subtree: true, childList: true, attributeFilter: ["aria-busy"], attributeOldValue: true,
  });
  return root;
};
"""
"""
Records in C{window.logChanges}, in order, what happens to the widget's chat
log: messages and notes added, and changes of its C{aria-busy}.
"""


@pytest.fixture
def shots(tmp_path):
    """
    Where screenshots go: C{$MCC_WIDGET_SHOTS} when set, to look at them.
    """
    directory = Path(os.environ.get("MCC_WIDGET_SHOTS", tmp_path))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Website(resource.Resource):
    """
    A customer's website: every path is a page holding only C{code}.
    """

    isLeaf = True

    def __init__(self, code):
        resource.Resource.__init__(self)
        self.code = code

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return PAGE.format(code=self.code).encode("utf-8")


@asynccontextmanager
async def website(code):
    """
    The base URL of a website on another port (so another origin) than mcc.
    """
    from twisted.internet import reactor

    endpoint = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    port = await wait(endpoint.listen(server.Site(Website(code))))
    try:
        yield f"http://127.0.0.1:{port.getHost().port}"
    finally:
        await wait(port.stopListening())


def rules(server):
    """
    The running mcc's widget rules, so that its pages hear of changes.
    """
    return server.service.getServiceNamed("widget-watch").widgets


def staff(server, queue, *names):
    created = server.store.queues.add(queue, "", now=0)
    for name in names:
        server.add_user(name, f"{name}-pw", display_name=f"{name.title()} Operator")
    server.store.queues.set_operators(created.id, list(names))
    return created


def snippet(server, widget_type, levels, **html):
    widgets = rules(server)
    created = widgets.create_snippet()
    return widgets.save_snippet(created.id, f"{widget_type} code", widget_type, html, levels)


def code_of(server, made):
    return generated_code(server.http_url, made, rules(server).first_skin(made))


@requires_tool("chromium")
@asyncio_test
async def test_offline_contingency_then_the_online_widget_without_a_reload(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"title": "Support chat"})
    made = snippet(
        server, "floating", [Level(skin.id, queue_id=support.id)],
        offline="<p>We are away. Call 555 0100.</p>",
    )
    async with chromium() as browser:
        admin = await browser.new_page()
        await sign_in_as_first_admin(admin, server)
        await admin.goto(f"{server.http_url}/admin/widgets/code/{made.id}")
        code = await admin.get_by_label("Code", exact=True).input_value()
        assert code == code_of(server, made)

        async with website(code) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(site + "/")
            await expect(page.get_by_text("We are away. Call 555 0100.")).to_be_visible()
            await expect(page.get_by_role("button", name="Chat with us")).to_have_count(0)
            await page.screenshot(path=str(shots / "1280-offline-contingency.png"))
            await page.evaluate("() => { window.stillThisPage = true; }")

            olive = await login(server, "olive@localhost/desk", "olive-pw")
            try:
                launcher = page.get_by_role("button", name="Chat with us")
                await expect(launcher).to_be_visible(timeout=LIVE)
                await expect(page.get_by_text("We are away.")).to_have_count(0)
                assert await page.evaluate("() => window.stillThisPage") is True
                await page.screenshot(path=str(shots / "1280-floating-online.png"))
            finally:
                await olive.close()
            await expect(page.get_by_text("We are away. Call 555 0100.")).to_be_visible(
                timeout=LIVE
            )


@requires_tool("chromium")
@asyncio_test
async def test_contingency_html_runs_no_script_on_the_website(server, shots):
    made = snippet(
        server, "floating", [],
        offline='<p>We are away.</p><img src="x:" onerror="window.attacked = true">'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" onload="window.attacked = true">',
    )
    async with chromium() as browser, website(code_of(server, made)) as site:
        page = await browser.new_page()
        await page.goto(site + "/")
        await expect(page.get_by_text("We are away.")).to_be_visible()
        await expect(page.locator("img")).to_have_count(2)
        await page.wait_for_timeout(500)
        assert await page.evaluate("() => window.attacked") is None
        assert await page.locator("img[onerror], img[onload]").count() == 0


@requires_tool("chromium")
@asyncio_test
async def test_visitor_chats_with_the_operator_through_a_page_navigation(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"title": "Support chat", "field_email": "optional"})
    made = snippet(server, "floating", [Level(skin.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.add_init_script(WATCH_THE_LOG)
            await page.goto(site + "/products")
            await page.get_by_role("button", name="Chat with us").click()
            await expect(page.get_by_label("Your name")).to_be_focused()
            await page.get_by_label("Your name").fill("Vera")
            await page.get_by_label("E-mail").fill("vera@example.org")
            await page.get_by_label("Your question").fill("Where is my parcel?")
            await page.get_by_role("button", name="Start chat").click()
            await expect(page.get_by_text("Waiting for an operator…")).to_be_visible()

            offer = await message_matching(olive, has_body("New chat for Support from Vera"))
            assert f"Page: {site}/products" in offer["body"]
            guest = offer["from"].bare
            olive.send_message(mto=guest, mbody="Hello Vera, Olive here.", mtype="chat")
            log = page.get_by_role("log")
            await expect(log).to_contain_text("Olive Operator joined the chat.")
            await expect(log).to_contain_text("Hello Vera, Olive here.")
            await expect(page.get_by_text("Chatting with Olive Operator")).to_be_visible()
            state = olive.make_message(mto=guest, mtype="chat")
            state["chat_state"] = "composing"
            state.send()
            await expect(page.get_by_text("Olive Operator is typing…")).to_be_visible()
            assert set(await page.evaluate("() => logChanges")) == {"added"}

            await page.goto(site + "/checkout")
            log = page.get_by_role("log")
            await expect(log).to_contain_text("Where is my parcel?")
            await expect(log).to_contain_text("Hello Vera, Olive here.")
            await expect(log).not_to_have_attribute("aria-busy", re.compile(".*"))
            replayed = await page.evaluate("() => logChanges")
            assert replayed[0] == "aria-busy was null" and replayed[-1] == "aria-busy was true"
            assert set(replayed[1:-1]) == {"added"}
            await expect(page.get_by_text("Chatting with Olive Operator")).to_be_visible()
            await page.screenshot(path=str(shots / "1280-floating-chat.png"))
            message = page.get_by_label("Message")
            await message.fill("Order 1234, please.")
            await message.press("Enter")
            reply = await message_matching(olive, has_body("Order 1234"))
            assert reply["body"] == "Order 1234, please."
            await expect(log).to_contain_text("Order 1234, please.")
            await expect(message).to_have_value("")
            # The visitor's own message shows once, in its place.
            olive.send_message(mto=guest, mbody="It is on its way.", mtype="chat")
            await expect(log).to_contain_text("It is on its way.")
            texts = await log.locator(".msg > span[dir=auto]").all_inner_texts()
            assert texts[-3:] == ["Hello Vera, Olive here.", "Order 1234, please.", "It is on its way."]
            assert texts.count("Order 1234, please.") == 1

            await page.get_by_role("button", name="End chat").click()
            await message_matching(olive, has_body("The visitor ended the chat."))
            await expect(log).to_contain_text("The chat has ended.")
            await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
            await page.goto(site + "/")
            await expect(page.get_by_role("log")).to_have_count(0)
            assert server.store.chats.by_guest(guest.split("@")[0]).state == "closed"
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_a_live_change_keeps_what_the_visitor_typed(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"title": "Support chat"})
    made = snippet(server, "floating", [Level(skin.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(site + "/")
            await page.get_by_role("button", name="Chat with us").click()
            await page.get_by_label("Your question").fill("Is it in stock?")
            await page.get_by_label("Your name").fill("Vera")
            rules(server).update_skin(
                skin.id, "Blue", dict(skin.settings, greeting="Hi! We answer within a minute.")
            )
            await expect(page.get_by_text("Hi! We answer within a minute.")).to_be_visible(
                timeout=LIVE
            )
            await expect(page.get_by_label("Your name")).to_have_value("Vera")
            await expect(page.get_by_label("Your name")).to_be_focused()
            await expect(page.get_by_label("Your question")).to_have_value("Is it in stock?")
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_rollover_shows_the_second_level_when_the_first_has_nobody(server, shots):
    first = staff(server, "Billing", "bob")
    second = staff(server, "Support", "carol")
    widgets = rules(server)
    billing = widgets.create_skin("Billing look", {"title": "Billing desk"})
    support = widgets.create_skin(
        "Support look", {"title": "Support desk", "colour_primary": "#0b6e4f"}
    )
    made = snippet(
        server, "embedded",
        [Level(billing.id, queue_id=first.id), Level(support.id, queue_id=second.id)],
    )
    carol = await login(server, "carol@localhost/desk", "carol-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(site + "/")
            heading = page.get_by_role("heading", name="Support desk")
            await expect(heading).to_be_visible()
            await expect(page.get_by_role("heading", name="Billing desk")).to_have_count(0)
            header = page.locator(".head")
            await expect(header).to_have_css("background-color", "rgb(11, 110, 79)")
            await page.screenshot(path=str(shots / "1280-embedded-rollover.png"))
            await page.get_by_label("Your question").fill("Can I change my plan?")
            await page.get_by_role("button", name="Start chat").click()
            offer = await message_matching(carol, has_body("New chat for Support"))
            assert "Question:\n> Can I change my plan?\n" in offer["body"]
    finally:
        await carol.close()


@requires_tool("chromium")
@asyncio_test
async def test_admin_edits_reach_a_new_visit_of_the_unchanged_page(server, shots):
    staff(server, "Billing", "bob")
    staff(server, "Support", "carol")
    bob = await login(server, "bob@localhost/desk", "bob-pw")
    carol = await login(server, "carol@localhost/desk", "carol-pw")
    try:
        async with chromium() as browser:
            admin = await browser.new_page(viewport={"width": 1280, "height": 900})
            await sign_in_as_first_admin(admin, server)
            await admin.get_by_role("link", name="Design Widgets").click()
            for name, title in (("Billing look", "Billing desk"), ("Support look", "Support desk")):
                await admin.get_by_role("link", name="New Widget").click()
                await admin.get_by_label("Widget name").fill(name)
                await admin.get_by_label("Title").fill(title)
                await admin.get_by_role("button", name="Save Skin").click()
                await expect(admin.get_by_role("status")).to_have_text(f"Saved the widget {name}.")

            await admin.get_by_role("link", name="Code", exact=True).click()
            await admin.get_by_role("button", name="Add code snippet").click()
            await expect(admin.get_by_label("Online", exact=True)).to_be_visible()
            await admin.get_by_role("radio", name="Direct chat URL").check()
            await expect(admin.get_by_label("Online", exact=True)).to_be_hidden()
            await admin.get_by_role("radio", name="Pop-up window").check()
            await expect(admin.get_by_label("Online", exact=True)).to_be_visible()
            await admin.get_by_role("radio", name="Embedded").check()
            await expect(admin.get_by_label("Online", exact=True)).to_be_hidden()
            for row, (queue, skin) in enumerate(
                (("Billing", "Billing look"), ("Support", "Support look")), start=1
            ):
                await admin.get_by_role("button", name="Add service level").click()
                await admin.get_by_label(f"Name, service level {row}").select_option(label=queue)
                await admin.get_by_label(f"Widget, service level {row}").select_option(label=skin)
            await admin.get_by_role("button", name="Add service level").click()
            await expect(admin.get_by_text("Not saved yet")).to_be_visible()
            await admin.get_by_role("button", name="Remove service level 3").click()
            await expect(admin.locator("tr[data-level]")).to_have_count(2)
            await admin.get_by_role("button", name="Save", exact=True).click()
            await expect(admin.get_by_role("status")).to_have_text("Saved the code snippet Snippet 1.")
            code = await admin.get_by_label("Code", exact=True).input_value()

            async with website(code) as site:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                await page.goto(site + "/")
                await expect(page.get_by_role("heading", name="Billing desk")).to_be_visible()

                await admin.get_by_role("button", name="Move service level 2 up").click()
                await expect(admin.get_by_label("Name, service level 1")).to_have_value(
                    f"queue:{server.store.queues.named('Support').id}"
                )
                await admin.get_by_role("button", name="Save", exact=True).click()
                await expect(admin.get_by_role("status")).to_have_text(
                    "Saved the code snippet Snippet 1."
                )
                await page.reload()
                await expect(page.get_by_role("heading", name="Support desk")).to_be_visible()

                await admin.get_by_role("link", name="Design Widgets").click()
                await admin.get_by_role("link", name="Support look").click()
                await admin.get_by_label("Title").fill("Support team")
                await admin.get_by_label("Header and button colour").fill("#0b6e4f")
                preview = admin.locator("[data-widget-preview] .head")
                await expect(preview).to_have_css("background-color", "rgb(11, 110, 79)")
                await expect(admin.locator("[data-widget-preview] h2")).to_have_text("Support team")
                await admin.get_by_role("button", name="Save Skin").click()
                await expect(admin.get_by_role("status")).to_have_text(
                    "Saved the widget Support look."
                )
                await page.reload()
                await expect(page.get_by_role("heading", name="Support team")).to_be_visible()
                await expect(page.locator(".head")).to_have_css(
                    "background-color", "rgb(11, 110, 79)"
                )
                await page.screenshot(path=str(shots / "1280-embedded-after-edits.png"))
    finally:
        await bob.close()
        await carol.close()


@requires_tool("chromium")
@asyncio_test
async def test_a_deleted_snippet_leaves_open_pages(server, shots):
    floating = snippet(server, "floating", [])
    embedded = snippet(server, "embedded", [], offline="<p>We are away.</p>")
    code = code_of(server, floating) + "\n" + code_of(server, embedded)
    async with chromium() as browser, website(code) as site:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(site + "/")
        await expect(page.get_by_text("chat is offline")).to_be_visible()
        await expect(page.get_by_text("We are away.")).to_be_visible()
        for made in (floating, embedded):
            rules(server).remove_snippet(made.id)
        await expect(page.get_by_text("chat is offline")).to_have_count(0, timeout=LIVE)
        await expect(page.get_by_text("We are away.")).to_have_count(0, timeout=LIVE)
        await expect(page.locator("[data-mcc-widget]")).to_have_count(0)


@requires_tool("chromium")
@asyncio_test
async def test_a_new_widget_type_reaches_open_pages(server, shots):
    skin = rules(server).create_skin("Blue", {"title": "Support chat"})
    levels = [Level(skin.id, queue_id=staff(server, "Support", "olive").id)]
    made = snippet(server, "embedded", levels)
    async with chromium() as browser, website(code_of(server, made)) as site:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(site + "/")
        await expect(page.get_by_role("heading", name="Support chat")).to_be_visible()
        rules(server).save_snippet(made.id, made.name, "floating", {}, levels)
        await expect(page.get_by_role("status")).to_have_text("chat is offline", timeout=LIVE)
        await expect(page.get_by_role("heading", name="Support chat")).to_have_count(0)
        await expect(page.locator('[data-mcc-widget="corner"]')).to_have_count(1)


@requires_tool("chromium")
@asyncio_test
async def test_with_javascript_off_the_no_javascript_contingency_shows(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {})
    made = snippet(
        server, "floating", [Level(skin.id, queue_id=support.id)],
        no_javascript="<p>Chat needs JavaScript: write to <a href='mailto:help@example.org'>help@example.org</a>.</p>",
    )
    async with chromium() as browser, website(code_of(server, made)) as site:
        context = await browser.new_context(java_script_enabled=False)
        page = await context.new_page()
        await page.goto(site + "/")
        frame = page.frame_locator('iframe[title="Chat with us"]')
        await expect(frame.get_by_text("Chat needs JavaScript")).to_be_visible()
        await expect(frame.get_by_role("link", name="help@example.org")).to_have_attribute(
            "href", "mailto:help@example.org"
        )
        await expect(page.get_by_role("button", name="Chat with us")).to_have_count(0)
        await page.screenshot(path=str(shots / "1280-no-javascript.png"))
        await context.close()


async def fits(locator, width):
    box = await locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box


@requires_tool("chromium")
@asyncio_test
async def test_each_widget_type_renders_and_works_on_a_phone(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"title": "Support chat", "field_name": "required"})
    level = [Level(skin.id, queue_id=support.id)]
    codes = {
        widget_type: code_of(server, snippet(server, widget_type, level))
        for widget_type in ("embedded", "floating", "popup")
    }
    direct = snippet(server, "direct", level)
    codes["direct"] = frame_code(server.http_url, direct, rules(server).first_skin(direct))
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser:
            for width in (1280, 390):
                page = await browser.new_page(viewport={"width": width, "height": 800})
                for widget_type, code in codes.items():
                    async with website(code) as site:
                        await page.goto(site + "/")
                        await shows(page, widget_type, width, shots)
                await page.goto(chat_url(server.http_url, direct))
                await expect(page.get_by_role("heading", name="Support chat")).to_be_visible()
                await fits(page.get_by_role("button", name="Start chat"), width)
                await page.screenshot(path=str(shots / f"{width}-direct-url.png"))
                await page.close()

            page = await browser.new_page(viewport={"width": 390, "height": 700})
            async with website(codes["floating"]) as site:
                await page.goto(site + "/")
                await page.get_by_role("button", name="Chat with us").click()
                panel = page.get_by_role("region", name="Support chat")
                await fits(panel, 390)
                await page.get_by_label("Your name").fill("Pat")
                await page.get_by_role("button", name="Start chat").click()
                offer = await message_matching(olive, has_body("New chat for Support from Pat"))
                olive.send_message(mto=offer["from"].bare, mbody="Hi Pat!", mtype="chat")
                await expect(page.get_by_role("log")).to_contain_text("Hi Pat!")
                await fits(page.get_by_role("button", name="Send"), 390)
                await page.screenshot(path=str(shots / "390-floating-chat.png"))
                await page.get_by_role("button", name="Minimise").click()
                await expect(page.get_by_role("button", name="Chat with us")).to_be_focused()
                olive.send_message(mto=offer["from"].bare, mbody="Still there?", mtype="chat")
                news = page.get_by_role("button", name="Chat with us (new message)", exact=True)
                await expect(news).to_be_visible()
                await news.click()
                await expect(page.get_by_role("log")).to_contain_text("Still there?")
                await page.get_by_role("button", name="Minimise").click()
                await expect(page.get_by_role("button", name="Chat with us", exact=True)).to_be_focused()
    finally:
        await olive.close()


async def shows(page, widget_type, width, shots):
    """
    Check that a page with the code of C{widget_type} shows its widget.
    """
    if widget_type == "embedded":
        await expect(page.get_by_role("heading", name="Support chat")).to_be_visible()
        await fits(page.get_by_role("region", name="Support chat"), width)
        await expect(page.get_by_label("Your name")).to_be_editable()
    elif widget_type == "floating":
        launcher = page.get_by_role("button", name="Chat with us")
        await fits(launcher, width)
        await launcher.click()
        await fits(page.get_by_role("region", name="Support chat"), width)
        await expect(page.get_by_label("Your name")).to_be_focused()
    elif widget_type == "popup":
        async with page.expect_popup() as opened:
            await page.get_by_role("button", name="Chat with us").click()
        window = await opened.value
        await expect(window.get_by_role("heading", name="Support chat")).to_be_visible()
        await expect(window.get_by_label("Your name")).to_be_editable()
        await window.close()
    else:
        frame = page.frame_locator('iframe[title="Support chat"]')
        await expect(frame.get_by_role("heading", name="Support chat")).to_be_visible()
        await expect(frame.get_by_label("Your name")).to_be_editable()
    await page.screenshot(path=str(shots / f"{width}-{widget_type}.png"))


@requires_tool("chromium")
@asyncio_test
async def test_floating_chat_pops_out_into_its_own_window(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"title": "Support chat"})
    made = snippet(server, "floating", [Level(skin.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(site + "/")
            await page.get_by_role("button", name="Chat with us").click()
            await page.get_by_label("Your question").fill("Do you ship abroad?")
            await page.get_by_role("button", name="Start chat").click()
            offer = await message_matching(olive, has_body("Do you ship abroad?"))
            async with page.expect_popup() as opened:
                await page.get_by_role("button", name="Open in a new window").click()
            window = await opened.value
            await expect(page.get_by_text("The chat continues in its own window.")).to_be_visible()
            await expect(window.get_by_role("log")).to_contain_text("Do you ship abroad?")
            assert "#" not in window.url
            olive.send_message(mto=offer["from"].bare, mbody="We do, to 30 countries.", mtype="chat")
            await expect(window.get_by_role("log")).to_contain_text("We do, to 30 countries.")
            await window.get_by_label("Message").fill("Great, thanks!")
            await window.get_by_role("button", name="Send").click()
            assert (await message_matching(olive, has_body("Great"))) is not None
            await window.screenshot(path=str(shots / "popped-out-chat.png"))
            await page.reload()
            await expect(page.get_by_role("log")).to_have_count(0)
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_the_widget_works_from_the_keyboard_with_a_visible_focus(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"field_name": "required", "field_question": "off"})
    made = snippet(server, "floating", [Level(skin.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(site + "/")
            launcher = page.get_by_role("button", name="Chat with us")
            await expect(launcher).to_be_visible()
            await page.keyboard.press("Tab")
            await expect(launcher).to_be_focused()
            assert await outline(launcher) == ["solid", "3px"]
            await page.keyboard.press("Enter")
            name = page.get_by_label("Your name")
            await expect(name).to_be_focused()
            assert await outline(name) == ["solid", "3px"]
            await page.keyboard.type("Kim")
            await page.keyboard.press("Tab")
            await expect(page.get_by_role("button", name="Start chat")).to_be_focused()
            await page.screenshot(path=str(shots / "1280-keyboard-focus.png"))
            await page.keyboard.press("Enter")
            await message_matching(olive, has_body("New chat for Support from Kim"))
            await expect(page.get_by_label("Message")).to_be_focused()
            await page.keyboard.type("Typed with keys")
            await page.keyboard.press("Enter")
            await message_matching(olive, has_body("Typed with keys"))
            await page.keyboard.press("Escape")
            await expect(launcher).to_be_focused()
    finally:
        await olive.close()


async def outline(locator):
    return await locator.evaluate(
        "e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]"
    )


@requires_tool("chromium")
@asyncio_test
async def test_design_widgets_pages_fit_desktop_and_phone_widths(server, shots):
    support = staff(server, "Support", "olive", "bob")
    sales = staff(server, "Sales", "carmen")
    widgets = rules(server)
    blue = widgets.create_skin("Blue", {"title": "Support chat", "field_email": "required"})
    green = widgets.create_skin("Green", {"title": "Sales chat", "colour_primary": "#0b6e4f"})
    made = snippet(
        server, "floating",
        [Level(blue.id, queue_id=support.id), Level(green.id, queue_id=sales.id)],
        offline="<p>We are away.</p>",
    )
    direct = snippet(server, "direct", [Level(blue.id, username="olive")])
    pages = {
        "widgets": "/admin/widgets",
        "widget-new": "/admin/widgets/new",
        "widget": f"/admin/widgets/{blue.id}",
        "code": "/admin/widgets/code",
        "snippet": f"/admin/widgets/code/{made.id}",
        "snippet-direct": f"/admin/widgets/code/{direct.id}",
    }
    async with chromium() as browser:
        for width in (1280, 390):
            page = await browser.new_page(viewport={"width": width, "height": 900})
            await sign_in_as_first_admin(page, server)
            for name, path in pages.items():
                await page.goto(server.http_url + path)
                if name.startswith("widget-") or name == "widget":
                    await expect(page.locator("[data-widget-preview] .panel")).to_be_visible()
                    await expect(page.get_by_text("The live preview needs JavaScript.")).to_be_hidden()
                await check_page(page, shots / f"{width}-admin-{name}.png", width)
            await page.goto(server.http_url + pages["widget"])
            await page.get_by_role("button", name="Chat", exact=True).click()
            await expect(page.locator("[data-widget-preview]").get_by_role("log")).to_contain_text(
                "Where is my order?"
            )
            await check_page(page, shots / f"{width}-admin-widget-chat-preview.png", width)
            await page.close()


@requires_tool("chromium")
@asyncio_test
async def test_the_online_contingency_opens_the_pop_up_window(server, shots):
    sales = staff(server, "Sales", "carmen")
    skin = rules(server).create_skin("Blue", {"title": "Sales chat"})
    made = snippet(
        server, "popup", [Level(skin.id, queue_id=sales.id)],
        offline="<p>Sales is closed until Monday.</p>",
        online='<p>Questions? <a href="#chat">Talk to sales</a></p>',
    )
    async with chromium() as browser, website(code_of(server, made)) as site:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(site + "/")
        await expect(page.get_by_text("Sales is closed until Monday.")).to_be_visible()
        carmen = await login(server, "carmen@localhost/desk", "carmen-pw")
        try:
            link = page.get_by_role("link", name="Talk to sales")
            await expect(link).to_be_visible(timeout=LIVE)
            await expect(page.get_by_text("Sales is closed")).to_have_count(0)
            async with page.expect_popup() as opened:
                await link.click()
            window = await opened.value
            await expect(window.get_by_role("heading", name="Sales chat")).to_be_visible()
            assert page.url == site + "/"
            await window.get_by_role("button", name="Start chat").click()
            offer = await message_matching(carmen, has_body("New chat for Sales"))
            assert f"Page: {site}/" in offer["body"]
        finally:
            await carmen.close()


@requires_tool("chromium")
@asyncio_test
async def test_a_message_whose_answer_is_lost_is_sent_again_and_stored_once(server, shots):
    support = staff(server, "Support", "olive")
    skin = rules(server).create_skin("Blue", {"title": "Support chat"})
    made = snippet(server, "embedded", [Level(skin.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    posted = []

    async def lose_the_first_answer(route):
        posted.append(route.request.post_data_json)
        if len(posted) == 1:
            # The message reaches mcc, its answer never reaches the widget.
            await route.fetch()
            await route.abort()
        else:
            await route.continue_()

    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.route("**/messages", lose_the_first_answer)
            await page.goto(site + "/")
            await page.get_by_role("button", name="Start chat").click()
            offer = await message_matching(olive, has_body("New chat for Support"))
            guest = offer["from"].bare
            message = page.get_by_label("Message")
            await message.fill("Is it \u202ereversed?")
            await message.press("Enter")
            await expect(message).to_have_value("")
            said = await message_matching(olive, has_body("reversed?"))
            assert said["body"] == "\u2068Is it \u202ereversed?\u2069"
            assert len(posted) == 2 and posted[0] == posted[1]
            assert re.fullmatch(r"[0-9a-f]{32}", posted[0]["id"])
            chat = server.store.chats.by_guest(guest.split("@")[0])
            events = server.store.chats.events_after(chat.id, 0)
            assert [e.data["text"] for e in events if e.kind == "message"] == ["Is it \u202ereversed?"]

            olive.send_message(mto=guest, mbody="\u202eNo, it is not.", mtype="chat")
            log = page.get_by_role("log")
            await expect(log).to_contain_text("No, it is not.")
            # What the visitor and the operator wrote stays in its own isolate.
            await expect(log.locator(".msg > span[dir=auto]")).to_have_count(2)
            await expect(log.locator(".msg .who > bdi")).to_have_count(2)
            await message.fill("Thanks")
            await message.press("Enter")
            await message_matching(olive, has_body("Thanks"))
            assert posted[2]["id"] != posted[0]["id"]
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_a_button_in_the_online_contingency_opens_the_chat(server, shots):
    sales = staff(server, "Sales", "carmen")
    skin = rules(server).create_skin("Blue", {"title": "Sales chat"})
    online = '<p>Questions? <button type="submit" class="talk">Talk to sales</button></p>'
    codes = {
        widget_type: code_of(
            server, snippet(server, widget_type, [Level(skin.id, queue_id=sales.id)], online=online)
        )
        for widget_type in ("floating", "popup")
    }
    carmen = await login(server, "carmen@localhost/desk", "carmen-pw")
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            async with website(codes["floating"]) as site:
                await page.goto(site + "/")
                button = page.get_by_role("button", name="Talk to sales")
                await expect(button).to_have_attribute("type", "button")
                await button.click()
                await expect(page.get_by_role("region", name="Sales chat")).to_be_visible()
                await expect(page.get_by_label("Your name")).to_be_focused()
            async with website(codes["popup"]) as site:
                await page.goto(site + "/")
                async with page.expect_popup() as opened:
                    await page.get_by_role("button", name="Talk to sales").click()
                window = await opened.value
                await expect(window.get_by_role("heading", name="Sales chat")).to_be_visible()
                assert page.url == site + "/"
    finally:
        await carmen.close()


@requires_tool("chromium")
@asyncio_test
async def test_after_a_chat_the_offline_state_shows_in_one_skin(server, shots):
    first = staff(server, "Billing", "bob")
    second = staff(server, "Support", "carol")
    widgets = rules(server)
    billing = widgets.create_skin("Billing look", {"title": "Billing desk"})
    support = widgets.create_skin(
        "Support look", {"title": "Support desk", "colour_primary": "#0b6e4f"}
    )
    made = snippet(
        server, "embedded",
        [Level(billing.id, queue_id=first.id), Level(support.id, queue_id=second.id)],
    )
    blue, green = "rgb(31, 86, 201)", "rgb(11, 110, 79)"
    carol = await login(server, "carol@localhost/desk", "carol-pw")
    bob = None
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(site + "/")
            header = page.locator(".head")
            log = page.get_by_role("log")
            await expect(page.get_by_role("heading", name="Support desk")).to_be_visible()
            await page.get_by_label("Your question").fill("Is my order late?")
            await page.get_by_role("button", name="Start chat").click()
            await message_matching(carol, has_body("New chat for Support"))

            # Billing, the first level, comes online: the chat keeps its skin.
            bob = await login(server, "bob@localhost/desk", "bob-pw")
            await page.wait_for_timeout(1500)
            await expect(page.get_by_role("heading", name="Support desk")).to_be_visible()
            await expect(header).to_have_css("background-color", green)

            # Once it is over, the transcript stays, in the skin now shown.
            await page.get_by_role("button", name="End chat").click()
            await expect(page.get_by_role("heading", name="Billing desk")).to_be_visible()
            await expect(header).to_have_css("background-color", blue)
            await expect(log).to_contain_text("Is my order late?")
            await expect(log).to_contain_text("The chat has ended.")
            await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
            await page.screenshot(path=str(shots / "1280-embedded-chat-ended.png"))

            await bob.close()
            await carol.close()
            await expect(page.get_by_text("chat is offline")).to_be_visible(timeout=LIVE)
            await expect(page.get_by_role("heading", name="Billing desk")).to_be_visible()
            await expect(page.get_by_role("heading", name="Support desk")).to_have_count(0)
            await expect(header).to_have_css("background-color", blue)
            await expect(page.get_by_role("button", name="Start a new chat")).to_have_count(0)
            await expect(page.get_by_role("button", name="Start chat")).to_have_count(0)
            await page.screenshot(path=str(shots / "1280-embedded-offline-after-chat.png"))
    finally:
        await carol.close()
        if bob is not None:
            await bob.close()


@requires_tool("chromium")
@asyncio_test
async def test_the_widget_states_the_size_limit_in_the_skin_s_words(server, shots):
    limit = server.config.max_message_size
    support = staff(server, "Support", "olive")
    widgets = rules(server)
    worded = widgets.create_skin(
        "Worded", {"title": "Support chat", "text_too_long": "At most {limit} characters, please."}
    )
    plain = widgets.create_skin("Plain", {"title": "Plain chat"})
    codes = []
    for skin in (worded, plain):
        created = widgets.create_snippet()
        made = widgets.save_snippet(
            created.id, skin.name, "embedded", {}, [Level(skin.id, queue_id=support.id)]
        )
        codes.append(code_of(server, made))
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            async with website(codes[0]) as site:
                await page.goto(site + "/")
                question = page.get_by_label("Your question")
                await expect(question).to_have_attribute("maxlength", str(limit))
                await expect(page.get_by_label("Your name")).to_have_attribute("maxlength", "200")
                await question.fill("x" * (limit + 1))
                await expect(question).to_have_value("x" * limit)
                # A page that knew a larger limit: the API's refusal names it.
                await question.evaluate("field => field.removeAttribute('maxlength')")
                await question.fill("x" * (limit + 1))
                await page.get_by_role("button", name="Start chat").click()
                await expect(page.get_by_role("alert")).to_have_text(
                    f"At most {limit} characters, please."
                )
                await question.fill("Short enough.")
                await page.get_by_role("button", name="Start chat").click()
                await message_matching(olive, has_body("Short enough."))
                message = page.get_by_label("Message")
                await expect(message).to_have_attribute("maxlength", str(limit))
                await message.evaluate("field => field.removeAttribute('maxlength')")
                await message.fill("y" * (limit + 1))
                await message.press("Enter")
                await expect(page.get_by_role("log")).to_contain_text(
                    f"At most {limit} characters, please."
                )
                await expect(message).to_have_value("y" * (limit + 1))
                await page.screenshot(path=str(shots / "1280-message-too-long.png"))
                await page.get_by_role("button", name="End chat").click()
            async with website(codes[1]) as site:
                await page.goto(site + "/")
                question = page.get_by_label("Your question")
                await question.evaluate("field => field.removeAttribute('maxlength')")
                await question.fill("z" * (limit + 1))
                await page.get_by_role("button", name="Start chat").click()
                await expect(page.get_by_role("alert")).to_have_text(
                    f"Please keep it to {limit} characters or fewer."
                )
    finally:
        await olive.close()
