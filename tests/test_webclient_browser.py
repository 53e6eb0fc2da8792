"""
The web chat client in headless Chromium against a running mcc: an
operator answers from the browser while a colleague's slixmpp client rings
too, and a visitor chats through the widget on a website of another origin;
two operators in two browsers transfer a chat, tag it, send files both ways
and e-mail its transcript to a real SMTP server (Twisted's own) on loopback.
"""

import email
import email.policy
import os
from pathlib import Path

import treq
from playwright.async_api import expect
from twisted.internet.task import deferLater

from mcc.routing.widgets import Level
from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import has_body, message_matching
from tests.test_widget_browser import code_of, rules, snippet, staff, website
from tests.tools import requires_tool
from tests.test_webclient_operations import inbox, server_config  # noqa: F401 (fixtures)
from tests.visitor_client import Visitor, wait
from tests.xmpp_client import login

SCREENSHOT = os.environ.get("MCC_WEBCLIENT_SHOT")
"""
Where the screenshot of two chats and the visitor's details goes when set
(docs/webclient.png is one).
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
            await desk.screenshot(path=str(tmp_path / "two-chats.png"))

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


async def desk_of(browser, server, username):
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = await context.new_page()
    await sign_in(page, server, username, f"{username}-pw")
    await expect(page.get_by_text("No chats yet.")).to_be_visible()
    return page


async def visitor_events_until(visitor, kind):
    return (await visitor.events_until(kind))[-1]


@requires_tool("chromium")
@asyncio_test
async def test_two_operators_transfer_tag_send_files_and_email_the_transcript(server, inbox, tmp_path):
    from twisted.internet import reactor

    staff(server, "Support", "olive", "pat")
    server.store.canned.add("hours", "We are open from 9 to 5.", 0, owner="pat")
    async with chromium() as browser:
        olive = await desk_of(browser, server, "olive")
        pat = await desk_of(browser, server, "pat")

        vera = Visitor(server, headers={"user-agent": "VeraBrowser/2.0"})
        code, _ = await vera.start(
            queue="Support", name="Vera", email="vera@example.org", question="Can I renew my card?",
            page="https://library.example/renew", referrer="https://search.example/?q=renew",
        )
        assert code == 201
        for desk in (olive, pat):
            await expect(desk.get_by_role("tab", name="Vera")).to_be_visible()
            await expect(desk.get_by_role("tabpanel").get_by_role("log")).to_contain_text("Can I renew my card?")

        # The first reply takes it; the other web client lets go.
        pane = olive.get_by_role("tabpanel")
        await pane.get_by_label("Your reply").fill("Hello Vera, Olive here.")
        await pane.get_by_label("Your reply").press("Enter")
        await expect(pane.get_by_text("Your chat", exact=True)).to_be_visible()
        log = pat.get_by_role("tabpanel").get_by_role("log")
        await expect(log).to_contain_text("Olive Operator picked up this chat.")
        details = pane.get_by_role("complementary", name="Visitor details")
        await expect(details).to_contain_text("127.0.0.1")
        await expect(details).to_contain_text("https://search.example/?q=renew")
        await expect(details).to_contain_text("https://library.example/renew")
        await expect(details).to_contain_text("VeraBrowser/2.0")

        # Alt+T: the transfer dialog lists who is there; a note goes along.
        await pane.get_by_label("Your reply").press("Alt+t")
        dialog = pane.get_by_role("dialog", name="Transfer this chat")
        await expect(dialog).to_be_visible()
        await dialog.get_by_label("Pat Operator (operator)").check()
        await expect(dialog.get_by_label("Support (queue, 1 available)")).to_be_visible()
        await dialog.get_by_label("Note for whoever takes it").fill("Wants to renew a card")
        await dialog.get_by_role("button", name="Transfer").click()
        await expect(dialog).to_be_hidden()
        await expect(pane.locator(".pane-state")).to_contain_text("transfer to Pat Operator pending")

        theirs = pat.get_by_role("tabpanel")
        await expect(theirs.get_by_role("log")).to_contain_text("Note:")
        await expect(theirs.get_by_role("log")).to_contain_text("Wants to renew a card")
        await expect(theirs.locator(".pane-state")).to_contain_text("Transferred to you by Olive Operator")
        await theirs.get_by_role("button", name="Take").click()
        await expect(theirs.get_by_text("Your chat", exact=True)).to_be_visible()
        await expect(pane.get_by_role("log")).to_contain_text("Pat Operator took this chat over from you.")
        assert (await visitor_events_until(vera, "transfer"))["text"] == "You are being transferred to Pat Operator."

        # Tags, with Alt+G, shown on the chat.
        await theirs.get_by_label("Your reply").press("Alt+g")
        tags = theirs.get_by_role("dialog", name="Tags of this chat")
        await tags.get_by_label("Add tags, separated by commas").fill("renewals, cards")
        await tags.get_by_label("Add tags, separated by commas").press("Enter")
        tag_list = theirs.get_by_role("list", name="Tags")
        await expect(tag_list).to_contain_text("renewals")
        await expect(tag_list).to_contain_text("cards")
        await theirs.get_by_role("button", name="Remove tag cards").click()
        await expect(tag_list).not_to_contain_text("cards")

        # A canned message by its name.
        await theirs.get_by_label("Your reply").fill("/hours")
        await theirs.get_by_label("Your reply").press("Enter")
        await expect(theirs.get_by_role("log")).to_contain_text("We are open from 9 to 5.")
        await vera.events_until("message", "We are open from 9 to 5.")

        # A file from the operator (Alt+F), downloaded intact by the visitor.
        sent = bytes(range(256)) * 15
        async with pat.expect_file_chooser() as chooser:
            await theirs.get_by_label("Your reply").press("Alt+f")
        await (await chooser.value).set_files(
            {"name": "renewal form.pdf", "mimeType": "application/pdf", "buffer": sent}
        )
        await expect(theirs.get_by_role("link", name="renewal form.pdf")).to_be_visible()
        await expect(theirs.get_by_role("log")).to_contain_text("renewal form.pdf (3.8 kB)")
        event = await visitor_events_until(vera, "file")
        response = await wait(treq.get(f"{server.http_url}/api/chats/{vera.token}/files/{event['id']}"))
        assert await wait(response.content()) == sent

        # A file from the visitor, a download link with its name and size.
        scan = b"%PDF-1.4 the visitor's library card"
        response = await wait(treq.post(
            f"{server.http_url}/api/chats/{vera.token}/files", data=scan,
            headers={"x-file-name": "card.pdf", "content-type": "application/pdf"},
        ))
        assert response.code == 201
        link = theirs.get_by_role("link", name="card.pdf")
        await expect(link).to_be_visible()
        await expect(theirs.get_by_role("log")).to_contain_text(f"card.pdf ({len(scan)} bytes)")
        async with pat.expect_download() as downloading:
            await link.click()
        download = await downloading.value
        assert download.suggested_filename == "card.pdf"
        assert Path(await download.path()).read_bytes() == scan
        # Shown once, as the link: not again as the XMPP clients' notice.
        await expect(theirs.get_by_role("log")).not_to_contain_text("Download it within")
        # A reload keeps both files in their places, once each.
        await pat.reload()
        theirs = pat.get_by_role("tabpanel")
        await expect(theirs.get_by_role("link", name="card.pdf")).to_have_count(1)
        await expect(theirs.get_by_role("link", name="renewal form.pdf")).to_have_count(1)
        await expect(theirs.get_by_role("list", name="Tags")).to_contain_text("renewals")

        # The transcript by e-mail (Alt+E), to the visitor's address.
        await theirs.get_by_label("Your reply").press("Alt+e")
        mail = theirs.get_by_role("dialog", name="E-mail the transcript")
        await expect(mail.get_by_label("To")).to_have_value("vera@example.org")
        await mail.get_by_label("To").fill("vera@example")
        await mail.get_by_role("button", name="Send").click()
        await expect(mail.get_by_role("alert")).to_contain_text("is not an e-mail address")
        await mail.get_by_label("To").fill("vera@example.org")
        await mail.get_by_role("button", name="Send").click()
        await expect(theirs.get_by_role("log")).to_contain_text("The transcript was e-mailed to vera@example.org.")
        for _ in range(100):
            if inbox:
                break
            await wait(deferLater(reactor, 0.05))
        ((recipient, message),) = inbox
        assert recipient == "vera@example.org"
        text = email.message_from_bytes(message, policy=email.policy.default).get_body(("plain",)).get_content()
        for said in (
            "Vera: Can I renew my card?", "Olive Operator: Hello Vera, Olive here.",
            "Pat Operator: We are open from 9 to 5.", "Pat Operator: sent the file renewal form.pdf",
            "Vera: sent the file card.pdf",
        ):
            assert said in text, said

        # A second chat beside it, for the picture.
        walt = Visitor(server, headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"})
        await walt.start(
            queue="Support", name="Walt", email="walt@example.org", question="Do you have the new atlas?",
            page="https://library.example/catalogue", referrer="https://library.example/",
        )
        await expect(pat.get_by_role("tab", name="Walt")).to_be_visible()
        await pat.keyboard.press("Alt+2")
        second = pat.get_by_role("tabpanel")
        await second.get_by_label("Your reply").fill("Hello Walt, it came in yesterday.")
        await second.get_by_label("Your reply").press("Enter")
        await expect(second.get_by_text("Your chat", exact=True)).to_be_visible()
        await expect(second.get_by_role("complementary", name="Visitor details")).to_contain_text("127.0.0.1")
        await pat.keyboard.press("Alt+1")
        await expect(pat.get_by_role("tabpanel").get_by_role("log")).to_contain_text("card.pdf")
        shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "webclient.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        await pat.screenshot(path=str(shot))
