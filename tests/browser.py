"""
Headless Chromium for the admin site tests: Debian's chromium, driven by
Playwright's async API on the event loop the tests share.  No browser is
ever downloaded; tests that use it are marked C{@requires_tool("chromium")}.
"""

from contextlib import asynccontextmanager

from playwright.async_api import async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGUMENTS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@asynccontextmanager
async def chromium():
    """
    A launched browser, closed (with the Playwright driver) on exit.
    """
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=ARGUMENTS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()
