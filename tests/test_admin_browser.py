"""
The admin site in headless Chromium against a running mcc: what an
installer does first, with real XMPP clients (slixmpp) logging in beside.
"""

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.tools import requires_tool
from tests.xmpp_client import AuthFailed, login

WIDTHS = (1280, 390)
LIVE = 10000
"""
Milliseconds to wait for the page to follow presence by itself.
"""


@pytest.fixture
def shots(tmp_path):
    """
    Where screenshots go: C{$MCC_ADMIN_SHOTS} when set, to look at them.
    """
    directory = Path(os.environ.get("MCC_ADMIN_SHOTS", tmp_path))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def first_admin_password(server):
    return (server.config.data_dir / "first-admin.txt").read_text().strip()


async def sign_in(page, server, username, password):
    await page.goto(f"{server.http_url}/admin/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def sign_in_as_first_admin(page, server):
    await sign_in(page, server, "admin", first_admin_password(server))
    await expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()


@requires_tool("chromium")
@asyncio_test
async def test_first_admin_sets_up_an_operator_who_then_answers_over_xmpp(server):
    assert [user.username for user in server.store.users.all()] == ["admin"]
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await sign_in_as_first_admin(page, server)

        await page.get_by_role("link", name="Add user").click()
        await page.get_by_label("Username").fill("olive")
        await page.get_by_label("Display name").fill("Olive Operator")
        await page.get_by_label("E-mail").fill("olive@example.org")
        await page.get_by_label("Password").fill("typed in the page")
        await page.get_by_role("button", name="Add user").click()
        await expect(page.get_by_role("status")).to_have_text("Added olive@localhost.")

        await page.get_by_role("link", name="Queues", exact=True).click()
        await page.get_by_role("link", name="Add queue").click()
        await page.get_by_label("Name", exact=True).fill("Support")
        await page.get_by_label("Description").fill("Questions about orders")
        await page.get_by_role("button", name="Create queue").click()
        await expect(page.get_by_role("heading", name="Support")).to_be_visible()

        await page.get_by_role("link", name="Add/Remove Operators").click()
        unassigned = page.get_by_role("group", name="Unassigned")
        assigned = page.get_by_role("group", name="Assigned")
        await unassigned.get_by_label("Olive Operator").check()
        await page.get_by_role("button", name="Add", exact=True).click()
        await expect(assigned.get_by_label("Olive Operator")).to_be_visible()
        await expect(unassigned.get_by_label("Olive Operator")).to_have_count(0)
        assert server.store.queues.named("Support").operators == ()
        await page.get_by_role("button", name="Save", exact=True).click()
        await expect(page.get_by_role("status")).to_have_text("Saved the operators of Support.")
        assert server.store.queues.named("Support").operators == ("olive",)

        await page.get_by_role("link", name="Users", exact=True).click()
        badge = page.locator('[data-presence-of="olive"]')
        await expect(badge).to_have_text("offline")
        olive = await login(server, "olive@localhost/desk", "typed in the page")
        try:
            await expect(badge).to_have_text("available", timeout=LIVE)
            olive.send_presence(pshow="away")
            await expect(badge).to_have_text("away", timeout=LIVE)
        finally:
            await olive.close()
        await expect(badge).to_have_text("offline", timeout=LIVE)


@requires_tool("chromium")
@asyncio_test
async def test_disabling_an_account_closes_its_xmpp_session_and_refuses_the_next_login(server):
    server.add_user("olive", "olive-pw", display_name="Olive Operator")
    olive = await login(server, "olive@localhost/desk", "olive-pw")
    try:
        async with chromium() as browser:
            page = await browser.new_page()
            await sign_in_as_first_admin(page, server)
            await page.get_by_role("link", name="Olive Operator").click()
            await page.get_by_role("button", name="Disable account").click()
            await expect(page.get_by_role("status")).to_have_text(
                "Disabled olive: their XMPP sessions are closed and new logins refused."
            )
            await asyncio.wait_for(olive.ended.wait(), 10)
            assert server.xmpp.sessions.sessions("olive@localhost") == []
            with pytest.raises(AuthFailed):
                await login(server, "olive@localhost/again", "olive-pw")
            await expect(page.locator('[data-presence-of="olive"]')).to_have_text("offline")
            await expect(page.get_by_role("button", name="Enable account")).to_be_visible()
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_operator_signing_in_sees_only_the_not_an_administrator_page(server, shots):
    server.add_user("olive", "olive-pw")
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in(page, server, "olive", "olive-pw")
        await expect(page.get_by_role("heading", name="Not an administrator")).to_be_visible()
        assert await page.get_by_role("navigation").count() == 0
        await page.screenshot(path=str(shots / "1280-not-admin.png"))
        await page.goto(f"{server.http_url}/admin/users")
        await expect(page.get_by_role("heading", name="Sign in to the admin site")).to_be_visible()


FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  // An outline drawn inside the element sits on its own background,
  // otherwise on the first painted background around it.
  let ground = parseFloat(style.outlineOffset) < 0 ? element : element.parentElement;
  while (ground && getComputedStyle(ground).backgroundColor === "rgba(0, 0, 0, 0)") {
    ground = ground.parentElement;
  }
  return {
    name: element.getAttribute("aria-label") || element.textContent.trim(),
    style: style.outlineStyle,
    width: style.outlineWidth,
    colour: style.outlineColor,
    ground: ground ? getComputedStyle(ground).backgroundColor : "rgb(255, 255, 255)",
  };
}"""
"""
What the focused element's outline looks like, and the colour behind it.
"""


@requires_tool("chromium")
@asyncio_test
async def test_keyboard_reaches_the_plus_button_with_a_visible_focus(server, shots):
    async with chromium() as browser:
        page = await browser.new_page()
        await sign_in_as_first_admin(page, server)
        reached = []
        for _ in range(15):
            await page.keyboard.press("Tab")
            focused = await page.evaluate(FOCUS_RING)
            reached.append(focused["name"])
            assert (focused["style"], focused["width"]) == ("solid", "3px"), focused
            assert focused["colour"] != focused["ground"], focused
            if focused["name"] == "Add user":
                break
        assert reached[0] == "Skip to content"
        assert reached[-1] == "Add user"
        tabs = {"Users", "Queues", "Design Widgets", "Activity", "Reports", "Gateways"}
        assert tabs <= set(reached)
        await page.screenshot(path=str(shots / "1280-focus.png"))
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Add a user")).to_be_visible()


def fill_the_site(server):
    for name, display in (("olive", "Olive Operator"), ("bob", "Bob Builder"), ("carmen", "")):
        server.add_user(name, "pw", display_name=display, email=f"{name}@example.org")
    queues = server.store.queues
    support = queues.add("Support", "Questions about orders and deliveries", now=0)
    queues.add("Sales", "", now=0)
    queues.set_operators(support.id, ["olive", "bob"])
    return support


@requires_tool("chromium")
@asyncio_test
async def test_pages_fit_desktop_and_phone_widths(server, shots):
    support = fill_the_site(server)
    olive = await login(server, "olive@localhost/desk", "pw")
    pages = {
        "users": "/admin/users",
        "user-new": "/admin/users/new",
        "user-edit": "/admin/users/olive",
        "user-delete": "/admin/users/bob/delete",
        "queues": "/admin/queues",
        "queue": f"/admin/queues/{support.id}",
        "queue-operators": f"/admin/queues/{support.id}/operators",
        "reports": "/admin/reports",
    }
    try:
        async with chromium() as browser:
            for width in WIDTHS:
                page = await browser.new_page(viewport={"width": width, "height": 900})
                await page.goto(f"{server.http_url}/admin/sign-in")
                await check_page(page, shots / f"{width}-sign-in.png", width)
                await sign_in_as_first_admin(page, server)
                for name, path in pages.items():
                    await page.goto(server.http_url + path)
                    await check_page(page, shots / f"{width}-{name}.png", width)
                await page.goto(server.http_url + "/admin/users/new")
                await page.get_by_label("Username").fill("no spaces please")
                await page.get_by_label("Password").fill("pw")
                await page.get_by_role("button", name="Add user").click()
                alert = page.get_by_role("alert")
                await expect(alert).to_contain_text("cannot be an XMPP username")
                assert len(server.store.users.all()) == 4
                await check_page(page, shots / f"{width}-user-error.png", width)
                await page.close()
    finally:
        await olive.close()


@requires_tool("chromium")
@asyncio_test
async def test_on_a_phone_the_form_and_its_error_come_before_the_list(server):
    fill_the_site(server)
    for name in ("dora", "ed", "fay", "gus", "hal"):
        server.add_user(name, "pw")
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await sign_in_as_first_admin(page, server)
        await page.goto(server.http_url + "/admin/users/new")
        await page.get_by_label("Username").fill("no spaces please")
        await page.get_by_label("Password").fill("pw")
        await page.get_by_role("button", name="Add user").click()
        alert = page.get_by_role("alert")
        await expect(alert).to_be_in_viewport()
        users = await page.get_by_role("region", name="Users").bounding_box()
        assert (await alert.bounding_box())["y"] < users["y"]


@requires_tool("chromium")
@asyncio_test
async def test_move_buttons_point_the_way_the_columns_are_laid_out(server):
    support = fill_the_site(server)
    async with chromium() as browser:
        for width, add, remove in ((1280, "Add →", "← Remove"), (390, "Add ↓", "↑ Remove")):
            page = await browser.new_page(viewport={"width": width, "height": 900})
            await sign_in_as_first_admin(page, server)
            await page.goto(f"{server.http_url}/admin/queues/{support.id}/operators")
            for name, shown in (("Add", add), ("Remove", remove)):
                text = await page.get_by_role("button", name=name, exact=True).inner_text()
                assert " ".join(text.split()) == shown, width
            await page.close()


async def check_page(page, path, width):
    overflow = await page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= width, f"{path.name}: {overflow} px wide"
    await page.screenshot(path=str(path), full_page=True)


@requires_tool("chromium")
@asyncio_test
async def test_long_unbroken_names_wrap_instead_of_widening_the_page(server, shots):
    support = fill_the_site(server)
    server.add_user("longname", "pw", display_name="W" * 100, email="x" * 60 + "@example.org")
    server.store.queues.update(support.id, "Q" * 100, "D" * 500)
    pages = ("/admin/users", "/admin/users/longname", "/admin/queues", f"/admin/queues/{support.id}")
    async with chromium() as browser:
        for width in WIDTHS:
            page = await browser.new_page(viewport={"width": width, "height": 900})
            await sign_in_as_first_admin(page, server)
            for number, path in enumerate(pages):
                await page.goto(server.http_url + path)
                await check_page(page, shots / f"{width}-long-{number}.png", width)
            await page.close()
