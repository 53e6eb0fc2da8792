"""
The Reports tab in headless Chromium against a running mcc, whose reports
run in the reactor's thread pool: every chart drawn, a bar and a cell
followed to the Activity list, every CSV downloaded.
"""

import csv
import io
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import expect

from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.test_admin_browser import check_page, shots, sign_in_as_first_admin  # noqa: F401
from tests.test_reports import known_history
from tests.tools import requires_tool

RANGE = "from=2025-01-01&to=2025-12-31&tz=UTC"
CHARTS = ("hour", "heatmap", "month", "protocol", "queue", "operator")
HEADERS = {
    "chats per hour": "hour,chats,monday",
    "chats per month": "month,chats",
    "chats per protocol": "protocol,chats",
    "chats per queue": "queue,chats,answered,missed,abandoned,wait_median",
    "chats per operator": "operator,n,mean,median,min,max,",
}


def query_of(url):
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)


@requires_tool("chromium")
@asyncio_test
async def test_reports_draw_every_chart_lead_to_activity_and_download_csv(server, shots):
    known_history(server.store)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        await sign_in_as_first_admin(page, server)
        await page.get_by_role("link", name="Reports", exact=True).click()
        await expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
        reports = f"{server.http_url}/admin/reports/?{RANGE}"
        await page.goto(reports)
        for chart in CHARTS:
            svg = page.locator(f"svg#chart-{chart}")
            await expect(svg).to_be_visible()
            box = await svg.bounding_box()
            assert box["width"] > 300 and box["height"] > 150, chart
            drawn = await svg.locator("rect[data-value]:not([data-value='0'])").count()
            assert drawn > 0, chart
        await page.screenshot(path=str(shots / "1280-reports.png"), full_page=True)

        await page.locator('#chart-hour a[aria-label="09:00, 2 chats"]').click()
        await page.wait_for_url("**/admin/activity/**")
        path, query = query_of(page.url)
        assert path == "/admin/activity/"
        assert query == {"from": ["2025-01-01"], "to": ["2025-12-31"], "tz": ["UTC"], "hour": ["9"]}
        await page.go_back()
        await page.locator('#chart-heatmap a[aria-label="Tuesday 14:00, 2 chats"]').click()
        await page.wait_for_url("**/admin/activity/**")
        assert query_of(page.url)[1]["weekday"] == ["1"]
        assert query_of(page.url)[1]["hour"] == ["14"]
        await page.go_back()

        for title, header in HEADERS.items():
            async with page.expect_download() as started:
                await page.get_by_role("link", name=f"Download CSV of {title}").click()
            download = await started.value
            assert download.suggested_filename.endswith("_2025-01-01_2025-12-31.csv")
            text = (await download.path()).read_text("utf-8")
            assert text.startswith(header), title
            assert len(list(csv.reader(io.StringIO(text)))) > 1, title
        await page.close()

        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await sign_in_as_first_admin(phone, server)
        await phone.goto(reports)
        await expect(phone.locator("svg#chart-heatmap")).to_be_visible()
        await check_page(phone, shots / "390-reports.png", 390)
