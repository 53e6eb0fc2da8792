"""
Files and transfers in the chat widget, in headless Chromium on a website of
another origin, with operators as real XMPP clients (slixmpp): a file each
way downloads intact, a file over the limit never leaves the page, and a
transfer is announced in the skin's words.
"""

import asyncio
import io
import re
import secrets

import pytest
from playwright.async_api import expect

from mcc.credentials import ensure_server_secret
from mcc.routing.files import ChatFiles
from mcc.routing.operations import ChatOperations
from mcc.routing.widgets import Level
from mcc.tap import FILES_SECRET_FILE
from tests.browser import chromium
from tests import conftest
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import has_body, message_matching
from tests.test_widget_browser import code_of, rules, shots, snippet, staff, website  # noqa: F401
from tests.tools import requires_tool
from tests.xmpp_client import login

LIMIT = 40 * 1000


@pytest.fixture
def server_config(tmp_path):
    return conftest.test_config(tmp_path / "data", max_file_size=LIMIT)


def operator_files(server):
    """
    The running server's files, as the operators' side sends them.
    """
    from twisted.internet import reactor

    return ChatFiles(
        server.store, server.chats, server.config.data_dir / "files", reactor,
        lambda: secrets.token_urlsafe(24),
        ensure_server_secret(server.config.data_dir / FILES_SECRET_FILE), LIMIT,
    )


def widget_with_files(server, support=None, **texts):
    support = support or staff(server, "Support", "olive", "bob")
    skin = rules(server).create_skin(
        "Files", dict({"title": "Support chat", "visitor_files": "on"}, **texts)
    )
    widgets = rules(server)
    created = widgets.create_snippet()
    return widgets.save_snippet(
        created.id, "Files code", "embedded", {}, [Level(skin.id, queue_id=support.id)]
    )


async def chatting(page, site, olive):
    """
    A chat under way between the visitor on C{page} and Olive; its guest JID.
    """
    await page.goto(site + "/")
    await page.get_by_label("Your question").fill("Can you send the form?")
    await page.get_by_role("button", name="Start chat").click()
    offer = await message_matching(olive, has_body("New chat for Support"))
    guest = offer["from"].bare
    olive.send_message(mto=guest, mbody="Here it comes.", mtype="chat")
    await expect(page.get_by_role("log")).to_contain_text("Here it comes.")
    return guest


@requires_tool("chromium")
@asyncio_test
async def test_a_file_goes_each_way_and_downloads_intact(server, shots, tmp_path):
    made = widget_with_files(server)
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            # Listening from the start: Chromium intercepts file choosers
            # once Playwright has asked it to, which takes a moment.
            choosers = asyncio.Queue()
            page.on("filechooser", choosers.put_nowait)
            guest = await chatting(page, site, olive)
            chat = server.store.chats.by_guest(guest.split("@")[0])
            log = page.get_by_role("log")

            form = bytes(range(256)) * 60
            operator_files(server).send(chat.id, "Form 7.pdf", io.BytesIO(form), operator="olive")
            link = log.get_by_role("link", name="Form 7.pdf (15.4 kB)")
            await expect(link).to_be_visible()
            async with page.expect_download() as downloading:
                await link.click()
            download = await downloading.value
            assert download.suggested_filename == "Form 7.pdf"
            assert (await download.path()).read_bytes() == form

            sent = tmp_path / "filled in.txt"
            sent.write_bytes("Name: Vera\nCard: 1234 ✓\n".encode() * 100)
            button = page.get_by_role("button", name="Send a file")
            await button.focus()
            await expect(button).to_be_focused()
            await page.keyboard.press("Enter")
            chooser = await asyncio.wait_for(choosers.get(), 10)
            await chooser.set_files(str(sent))
            notice = await message_matching(olive, has_body("The visitor sent a file"))
            assert "The visitor sent a file: filled in.txt (2.6 kB)." in notice["body"]
            url = re.search(r"(http://\S+/api/files/\S+)", notice["body"]).group(1)
            response = await page.request.get(url)
            assert response.status == 200
            assert await response.body() == sent.read_bytes()
            mine = log.get_by_role("link", name="filled in.txt (2.6 kB)")
            await expect(mine).to_be_visible()
            async with page.expect_download() as downloading:
                await mine.click()
            assert (await (await downloading.value).path()).read_bytes() == sent.read_bytes()
            await page.screenshot(path=str(shots / "1280-files.png"))
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_a_file_over_the_limit_is_refused_before_any_upload(server, shots, tmp_path):
    made = widget_with_files(server, text_file_too_large="Too big: at most {limit}.")
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page(viewport={"width": 390, "height": 800})
            guest = await chatting(page, site, olive)
            uploads = []
            page.on("request", lambda request: "/files" in request.url and uploads.append(request))
            large = tmp_path / "scan.pdf"
            large.write_bytes(b"x" * (LIMIT + 1))
            async with page.expect_file_chooser() as choosing:
                await page.get_by_role("button", name="Send a file").click()
            await (await choosing.value).set_files(str(large))
            await expect(page.get_by_role("alert")).to_have_text("Too big: at most 40.0 kB.")
            await expect(page.get_by_role("button", name="Send a file")).to_have_accessible_description(
                "Too big: at most 40.0 kB."
            )
            await page.screenshot(path=str(shots / "390-file-too-large.png"))

            odd = tmp_path / "page.html"
            odd.write_text("<p>hi</p>")
            async with page.expect_file_chooser() as choosing:
                await page.get_by_role("button", name="Send a file").click()
            await (await choosing.value).set_files(str(odd))
            await expect(page.get_by_role("alert")).to_have_text("Files of this type cannot be sent.")
            assert [request.method for request in uploads if request.method == "POST"] == ["POST"]
            assert all("scan.pdf" not in (r.headers.get("x-file-name") or "") for r in uploads)
            chat = server.store.chats.by_guest(guest.split("@")[0])
            assert server.store.files.of_chat(chat.id) == []
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_no_file_button_unless_the_skin_allows_it_and_an_operator_is_there(server):
    support = staff(server, "Support", "olive")
    plain = rules(server).create_skin("Plain", {"title": "Support chat"})
    without = snippet(server, "embedded", [Level(plain.id, queue_id=support.id)])
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser:
            page = await browser.new_page()
            async with website(code_of(server, without)) as site:
                await chatting(page, site, olive)
                await expect(page.get_by_role("button", name="Send a file")).to_have_count(0)
                await page.get_by_role("button", name="End chat").click()
            page = await browser.new_page()
            async with website(code_of(server, widget_with_files(server, support))) as site:
                await page.goto(site + "/")
                await page.get_by_label("Your question").fill("Hello?")
                await page.get_by_role("button", name="Start chat").click()
                await expect(page.get_by_text("Waiting for an operator…")).to_be_visible()
                await expect(page.get_by_role("button", name="Send a file")).to_be_hidden()
                offer = await message_matching(olive, has_body("Hello?"))
                olive.send_message(mto=offer["from"].bare, mbody="Hi.", mtype="chat")
                await expect(page.get_by_role("button", name="Send a file")).to_be_visible()
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_the_visitor_sees_a_transfer_in_the_skin_s_words(server):
    from twisted.internet import reactor

    made = widget_with_files(server, text_transfer="Now passing you to {name}.")
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    bob = await login(server, "bob@localhost/desk", "bob-pw")
    try:
        async with chromium() as browser, website(code_of(server, made)) as site:
            page = await browser.new_page()
            guest = await chatting(page, site, olive)
            chat = server.store.chats.by_guest(guest.split("@")[0])
            ChatOperations(server.store, server.chats, reactor).transfer(
                chat.id, "olive", user="bob", note="Wants the form"
            )
            log = page.get_by_role("log")
            await expect(log).to_contain_text("Now passing you to Bob Operator.")
            ring = await message_matching(bob, has_body("Wants the form"))
            bob.send_message(mto=ring["from"].bare, mbody="Bob here.", mtype="chat")
            await expect(log).to_contain_text("Bob Operator joined the chat.")
            await expect(page.get_by_text("Chatting with Bob Operator")).to_be_visible()
    finally:
        await olive.close()
        await bob.close()
