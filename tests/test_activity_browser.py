"""
The Activity tab in headless Chromium against a running mcc: an
administrator finds yesterday's chat in the calendar by its queue, reads its
transcript and downloads the CSV file of those chats.
"""

import csv
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from mcc.routing.history import CSV_COLUMNS
from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.conftest import test_config as make_config
from tests.test_admin_browser import shots, sign_in_as_first_admin  # noqa: F401 (a fixture)
from tests.tools import requires_tool

ZONE = ZoneInfo("Europe/Paris")
LIVE = 5000
"""
Milliseconds within which the live pages follow a change by themselves.
"""


@pytest.fixture
def server_config(tmp_path):
    return make_config(tmp_path / "data", time_zone="Europe/Paris")


def add_chat(server, number, started, queue, visitor_name, messages=()):
    chat = server.store.chats.create(
        token=f"browser-token-{number}",
        guest=f"guest-browser-{number}",
        queue=queue,
        state="closed",
        created_at=started,
        picked_up_at=started + 20,
        closed_at=started + 300,
        operator="olive",
        operator_name="Olive Operator",
        visitor_name=visitor_name,
        visitor_email=f"visitor{number}@example.org",
        ip="203.0.113.9",
        referrer="https://shop.example/orders",
        page="https://shop.example/help",
    )
    for offset, (kind, data) in enumerate(messages):
        server.store.chats.add_event(chat.id, kind, data, started + 20 + offset)
    return chat


@requires_tool("chromium")
@asyncio_test
async def test_admin_finds_yesterdays_chat_by_queue_reads_it_and_downloads_the_csv(server, tmp_path):
    server.store.queues.add("Sales", "", now=0)
    server.store.queues.add("Support", "", now=0)
    today = datetime.now(ZONE).date()
    yesterday = today - timedelta(days=1)

    def moment(day, hour):
        return datetime.combine(day, time(hour), tzinfo=ZONE).timestamp()

    wanted = add_chat(
        server,
        1,
        moment(yesterday, 10),
        "Sales",
        "Vera Visitor",
        [
            ("picked_up", {"operator": "Olive Operator"}),
            ("message", {"from": "visitor", "name": "Vera Visitor", "text": "Where is my parcel?"}),
            ("message", {"from": "operator", "name": "Olive Operator", "text": "It left today."}),
            (
                "transferred",
                {"from_queue": "Sales", "to_queue": "Support", "from_operator": "olive", "to_operator": "sue"},
            ),
        ],
    )
    server.store.tags.add_to_chat(wanted.id, "Parcel", "parcel", "olive", 1)
    server.store.tags.add_to_chat(wanted.id, "Late", "late", "olive", 2)
    add_chat(server, 2, moment(yesterday, 11), "Support", "Sue Support")
    add_chat(server, 3, moment(yesterday, 12), "Sales", "=HYPERLINK(\"http://evil\")")
    add_chat(server, 4, moment(today, 0) + 60, "Sales", "Tom Today")

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        await sign_in_as_first_admin(page, server)
        await page.get_by_role("link", name="Activity", exact=True).click()
        await expect(page.get_by_role("heading", name=today.strftime("%B %Y"), exact=True)).to_be_visible()
        if yesterday.month != today.month:
            await page.get_by_role("link", name="Previous month").click()
        label = f"{yesterday.strftime('%A')} {yesterday.day} {yesterday.strftime('%B %Y')}: 3 chats"
        await page.get_by_role("link", name=label).click()
        await expect(page.get_by_label("From")).to_have_value(yesterday.isoformat())

        await page.get_by_label("Sales").check()
        await page.get_by_role("button", name="Show chats").click()
        chats = page.locator("table.chats tbody tr")
        await expect(chats).to_have_count(2)
        await expect(page.get_by_text("Sue Support")).to_have_count(0)

        await page.get_by_role("link", name=re.compile(f"^{yesterday.isoformat()} 10:00 CES?T$")).click()
        await expect(page.get_by_role("heading", name=re.compile("^Chat with Vera Visitor"))).to_be_visible()
        transcript = page.locator("ol.transcript")
        await expect(transcript).to_contain_text("Vera Visitor: Where is my parcel?")
        await expect(transcript).to_contain_text("Olive Operator: It left today.")
        await expect(transcript).to_contain_text("Olive Operator picked up the chat.")
        await expect(transcript).to_contain_text("Transferred from olive to the queue Support, where sue took it.")
        await expect(page.get_by_text("Parcel, Late")).to_be_visible()
        await expect(page.get_by_text("Times in Europe/Paris.")).to_be_visible()

        await page.go_back()
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name="Download CSV", exact=True).click()
        download = await downloading.value
        saved = tmp_path / "chats.csv"
        await download.save_as(saved)

    with saved.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    records = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert [record["id"] for record in records] == [str(wanted.id), "3"]
    assert {record["queue"] for record in records} == {"Sales"}
    assert records[0]["started"].startswith(f"{yesterday.isoformat()}T10:00:00+0")
    assert (records[0]["messages_visitor"], records[0]["messages_operator"]) == ("1", "1")
    assert (records[0]["transferred_to"], records[0]["tags"]) == ("Support", "Parcel; Late")
    assert (records[0]["referrer"], records[0]["page"]) == ("https://shop.example/orders", "https://shop.example/help")
    assert (records[1]["transferred_to"], records[1]["tags"]) == ("", "")
    assert records[1]["visitor_name"] == "'=HYPERLINK(\"http://evil\")"


@requires_tool("chromium")
@asyncio_test
async def test_activity_pages_fit_desktop_and_phone_widths(server, shots):
    from tests.test_admin_browser import WIDTHS, check_page

    server.store.queues.add("Sales", "", now=0)
    today = datetime.now(ZONE).date()
    server.store.chats.create(
        token="waiting-token", guest="guest-waiting", queue="Sales", state="waiting",
        created_at=datetime.now(ZONE).timestamp() - 90, visitor_name="W" * 80,
    )
    chat = add_chat(
        server,
        1,
        datetime.combine(today, time(0, 5), tzinfo=ZONE).timestamp(),
        "Sales",
        "V" * 80,
        [("message", {"from": "visitor", "name": "V" * 80, "text": "x" * 300})],
    )
    pages = {
        "activity": "/admin/activity",
        "activity-chat": f"/admin/activity/chats/{chat.id}",
        "activity-privacy": "/admin/activity/privacy",
        "activity-live": "/admin/activity/live",
        "activity-delete": f"/admin/activity/bulk?action=delete&from={today.isoformat()}",
    }
    async with chromium() as browser:
        for width in WIDTHS:
            page = await browser.new_page(viewport={"width": width, "height": 900})
            await sign_in_as_first_admin(page, server)
            for name, path in pages.items():
                await page.goto(server.http_url + path)
                await check_page(page, shots / f"{width}-{name}.png", width)
            await page.close()


@requires_tool("chromium")
@asyncio_test
async def test_admin_watches_a_chat_appear_and_be_taken_live(server):
    from tests.test_chat_end_to_end import has_body, message_matching, operators, staff
    from tests.visitor_client import Visitor

    (olive,) = await operators(server, "olive")
    staff(server, "Sales", "olive")
    visitor = Visitor(server)
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await sign_in_as_first_admin(page, server)
            await page.get_by_role("link", name="Activity", exact=True).click()
            await page.get_by_role("link", name="Live monitor").click()
            sales = page.get_by_role("region", name="Sales")
            await expect(sales.get_by_text("0 waiting, 0 active")).to_be_visible()
            await expect(sales.get_by_role("list", name="Operators online in Sales")).to_contain_text(
                "Olive 0 chats"
            )

            code, body = await visitor.start(queue="Sales", name="Vera", question="Is it shipped?")
            assert code == 201, body
            row = sales.locator("tr", has_text="Vera")
            await expect(row).to_contain_text("waiting", timeout=LIVE)
            await expect(sales.get_by_text("1 waiting, 0 active")).to_be_visible()

            offer = await message_matching(olive, has_body("New chat for Sales"))
            olive.send_message(mto=offer["from"].bare, mbody="Olive here, let me look.", mtype="chat")
            await expect(row).to_contain_text("talking", timeout=LIVE)
            await expect(row).to_contain_text("Olive")
            await expect(sales.get_by_text("0 waiting, 1 active")).to_be_visible()
            await expect(sales.get_by_role("list", name="Operators online in Sales")).to_contain_text(
                "Olive 1 chat"
            )

            await row.get_by_role("link", name="Vera", exact=True).click()
            transcript = page.locator("ol.transcript")
            await expect(transcript).to_contain_text("Olive here, let me look.")
            await visitor.say("Thank you!")
            await expect(transcript).to_contain_text("Vera: Thank you!", timeout=LIVE)
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_admin_watches_a_transfer_live_and_moves_a_waiting_chat_to_another_queue(server):
    from twisted.internet import reactor

    from mcc.routing.operations import ChatOperations
    from tests.test_chat_end_to_end import has_body, message_matching, operators, staff
    from tests.visitor_client import Visitor

    olive, peter = await operators(server, "olive", "peter")
    staff(server, "Sales", "olive")
    staff(server, "Support", "peter")
    operations = ChatOperations(server.store, server.chats, reactor)
    vera, walt = Visitor(server), Visitor(server)
    try:
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await sign_in_as_first_admin(page, server)
            await page.goto(server.http_url + "/admin/activity/live")
            sales = page.get_by_role("region", name="Sales")
            support = page.get_by_role("region", name="Support")
            await expect(sales.get_by_text("0 waiting, 0 active")).to_be_visible()

            code, body = await vera.start(queue="Sales", name="Vera", question="Is it shipped?")
            assert code == 201, body
            await expect(sales.locator("tr", has_text="Vera")).to_contain_text("waiting", timeout=LIVE)
            offer = await message_matching(olive, has_body("New chat for Sales"))
            olive.send_message(mto=offer["from"].bare, mbody="Olive here.", mtype="chat")
            await expect(sales.locator("tr", has_text="Vera")).to_contain_text("talking", timeout=LIVE)

            chat = server.chats.chat(vera.token)
            operations.transfer(chat.id, "olive", queue="Support", note="A billing question")
            ringing = await message_matching(peter, has_body("transfers this chat to Support"))
            peter.send_message(mto=ringing["from"].bare, mbody="Peter from Support.", mtype="chat")
            row = support.locator("tr", has_text="Vera")
            await expect(row).to_contain_text("talking", timeout=LIVE)
            await expect(row).to_contain_text("Peter")
            await expect(sales.locator("tr", has_text="Vera")).to_have_count(0)

            code, body = await walt.start(queue="Sales", name="Walt", question="Do you ship abroad?")
            assert code == 201, body
            await message_matching(olive, has_body("New chat for Sales"))
            waiting = sales.locator("tr", has_text="Walt")
            await expect(waiting).to_contain_text("waiting", timeout=LIVE)
            await waiting.get_by_role("link", name="Transfer or end the chat with Walt").click()
            await page.get_by_label("Transfer to").select_option(label="Queue Support (1 available)")
            await page.get_by_label("Note for who takes it").fill("Abroad: Support knows")
            await page.get_by_role("button", name="Transfer").click()
            await expect(page.get_by_role("status")).to_contain_text("Transferring chat")
            rings = await message_matching(peter, has_body("New chat for Support"))
            assert "Walt" in rings["body"]
            note = await message_matching(peter, has_body("Note from An administrator"))
            assert "Abroad: Support knows" in note["body"]
            await expect(support.locator("tr", has_text="Walt")).to_contain_text("waiting", timeout=LIVE)
            moved = server.chats.chat(walt.token)
            assert (moved.queue, moved.state) == ("Support", "waiting")
    finally:
        await olive.close()
        await peter.close()
