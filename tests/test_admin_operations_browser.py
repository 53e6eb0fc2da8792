"""
The Queues tab's canned messages and its Tags in use sub-page in headless
Chromium: driven from the keyboard and by their labels, at desktop and
phone widths.
"""

import pytest
from playwright.async_api import expect

from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.test_admin_browser import check_page, shots, sign_in_as_first_admin  # noqa: F401 (fixture)
from tests.tools import requires_tool

WIDTHS = (1280, 390)


def tagged_chats(server, tags_per_chat):
    store = server.store
    for number, names in enumerate(tags_per_chat, 1):
        chat = store.chats.create(
            token=f"t{number}", guest=f"g{number}", protocol="web", state="closed", created_at=0,
        )
        for name in names:
            store.tags.add_to_chat(chat.id, name, name.casefold(), "olive", 0)


@requires_tool("chromium")
@asyncio_test
@pytest.mark.parametrize("width", WIDTHS)
async def test_admin_keeps_a_queue_s_canned_messages(server, shots, width):
    queue = server.store.queues.add("Support", "", now=0)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 900})
        await sign_in_as_first_admin(page, server)
        await page.goto(f"{server.http_url}/admin/queues/{queue.id}")
        await expect(page.get_by_role("heading", name="Canned messages")).to_be_visible()
        form = page.get_by_role("form", name="Add a canned message")
        await form.get_by_label("Short name").fill("hours")
        await form.get_by_label("Text").fill("We are open 9 to 5.")
        await form.get_by_role("button", name="Add canned message").click()
        await expect(page.get_by_role("status")).to_have_text(
            "Added the canned message hours to Support."
        )
        await expect(page.get_by_text("We are open 9 to 5.")).to_be_visible()

        form = page.get_by_role("form", name="Add a canned message")
        await form.get_by_label("Short name").fill("HOURS")
        await form.get_by_label("Text").fill("Again")
        await form.get_by_label("Text").press("Tab")
        await page.keyboard.press("Enter")
        alert = page.get_by_role("alert")
        await expect(alert).to_have_text(
            "A canned message named 'hours' exists already there."
        )
        await expect(form.get_by_label("Short name")).to_have_accessible_description(
            "What operators type to insert it: 1 to 32 letters a-z, digits, - or _, such as hours. "
            "A canned message named 'hours' exists already there."
        )
        await check_page(page, shots / f"{width}-canned-error.png", width)

        await page.get_by_role("link", name="Edit hours").click()
        await page.get_by_label("Text").fill("We are open 8 to 6.")
        await page.get_by_role("button", name="Save canned message").click()
        await expect(page.get_by_text("We are open 8 to 6.")).to_be_visible()
        await page.get_by_role("link", name="Delete hours").click()
        await expect(page.get_by_role("heading", name="Delete the canned message hours?")).to_be_visible()
        await page.get_by_role("button", name="Delete hours").click()
        await expect(page.get_by_role("status")).to_have_text("Deleted the canned message hours.")
        await expect(page.get_by_text("No canned messages yet.")).to_be_visible()


@requires_tool("chromium")
@asyncio_test
@pytest.mark.parametrize("width", WIDTHS)
async def test_admin_renames_merges_and_deletes_tags_in_use(server, shots, width):
    tagged_chats(server, [["renewal", "fines"], ["renewals"], ["renewals", "lost card"]])
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 900})
        await sign_in_as_first_admin(page, server)
        await page.goto(f"{server.http_url}/admin/queues")
        await page.get_by_role("link", name="Tags in use").click()
        table = page.get_by_role("table")
        await expect(table.get_by_role("row")).to_have_count(5)
        await expect(page.get_by_role("row", name="renewals 2")).to_be_visible()
        await check_page(page, shots / f"{width}-tags.png", width)

        await page.get_by_label("New name for lost card").fill("Lost library card")
        await page.get_by_label("New name for lost card").press("Enter")
        await expect(page.get_by_role("status")).to_have_text(
            "Renamed the tag lost card to Lost library card."
        )

        await page.get_by_label("Merge renewal into").select_option("renewals")
        await page.get_by_role("row", name="renewal 1").get_by_role("button", name="Merge").click()
        await expect(page.get_by_role("status")).to_have_text(
            "Merged the tag renewal into renewals, now on 3 chats."
        )

        await page.get_by_role("link", name="Delete the tag renewals").click()
        await expect(page.get_by_text("3 chats will lose it")).to_be_visible()
        await check_page(page, shots / f"{width}-tag-delete.png", width)
        await page.get_by_role("button", name="Delete renewals").click()
        await expect(page.get_by_role("status")).to_have_text(
            "Deleted the tag renewals; 3 chats lost it."
        )
        names = [tag.name for tag in server.store.tags.all()]
        assert names == ["fines", "Lost library card"]
