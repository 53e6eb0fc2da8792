"""
The Gateways tab in headless Chromium, on a phone-sized screen: an
administrator adds a Twilio gateway for a queue, sees its webhook URL and
masked credentials, edits it, disables it and deletes it; bad settings
are named in the form.
"""

from playwright.async_api import expect

from tests.browser import chromium
from tests.conftest import asyncio_test
from tests.test_admin_browser import check_page, shots, sign_in_as_first_admin  # noqa: F401
from tests.test_chat_end_to_end import staff
from tests.test_sms_gateways import hook
from tests.tools import requires_tool

TOKEN = "twilio-auth-token-1234"
SID = "AC" + "0" * 32


async def fill_twilio(page, number, token=TOKEN):
    await page.get_by_label("Phone number").fill(number)
    await page.get_by_label("Twilio account SID").fill(SID)
    await page.get_by_label("Twilio auth token or Telnyx API key").fill(token)


@requires_tool("chromium")
@asyncio_test
async def test_an_admin_adds_edits_disables_and_deletes_a_twilio_gateway(server, shots):  # noqa: F811
    staff(server, "support")
    width = 390
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 844})
        await sign_in_as_first_admin(page, server)
        await page.get_by_role("link", name="Gateways", exact=True).click()
        await expect(page.get_by_text("No gateways yet.")).to_be_visible()
        await page.get_by_role("link", name="Add SMS gateway").click()
        await check_page(page, shots / "gateway-new.png", width)

        # Bad settings: each error says what is wrong, at the field.
        await fill_twilio(page, "555 765 4321")
        await page.get_by_label("Rings").select_option(label="Queue support")
        await page.get_by_role("button", name="Add gateway").click()
        alert = page.get_by_role("alert")
        await expect(alert).to_have_text("The phone number is in E.164 form: +, country code, number.")
        await expect(alert).to_be_in_viewport()
        await expect(page.get_by_label("Phone number")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label("Phone number")).to_have_accessible_description(
            "The phone number is in E.164 form: +, country code, number."
        )
        await expect(page.get_by_label("Twilio auth token or Telnyx API key")).to_have_value("")
        await check_page(page, shots / "gateway-error.png", width)

        await fill_twilio(page, "+15557654321")
        await page.get_by_label("Rings").select_option(label="Choose a queue or a user")
        await page.get_by_role("button", name="Add gateway").click()
        await expect(alert).to_have_text("Choose the queue or the user this gateway rings.")
        await expect(page.get_by_label("Rings")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label("Phone number")).to_have_value("+15557654321")
        assert server.store.gateways.all() == []

        await fill_twilio(page, "+15557654321")
        await page.get_by_label("Rings").select_option(label="Queue support")
        await page.get_by_label("Offline reply").fill("We are closed; we will text you back.")
        await page.get_by_role("button", name="Add gateway").click()
        await expect(page.get_by_role("status")).to_have_text("Added the SMS gateway +15557654321.")
        await expect(page.get_by_role("heading", name="+15557654321")).to_be_visible()
        await expect(page.locator("[data-webhook]")).to_have_text(hook(server, "twilio"))
        activity = page.locator("[data-activity]")
        await expect(activity).to_contain_text(f"SID {SID}, ••••1234")
        assert TOKEN not in await page.content()
        await expect(page.get_by_label("Twilio auth token or Telnyx API key (blank keeps ••••1234)")).to_have_value("")
        await check_page(page, shots / "gateway-show.png", width)
        (gateway,) = server.store.gateways.all()
        assert (gateway.provider, gateway.queue, gateway.secret) == ("twilio", "support", TOKEN)

        # Edited with the token left blank: the stored one stays.
        await page.get_by_label("Offline reply").fill("Back at nine.")
        await page.get_by_role("button", name="Save gateway").click()
        await expect(page.get_by_role("status")).to_have_text("Saved the gateway.")
        edited = server.store.gateways.get(gateway.id)
        assert (edited.offline_reply, edited.secret, edited.account) == ("Back at nine.", TOKEN, SID)
        await expect(page.get_by_label("Offline reply")).to_have_value("Back at nine.")

        await page.get_by_role("button", name="Disable gateway").click()
        await expect(page.get_by_role("status")).to_have_text("Disabled the gateway: its webhooks get 404.")
        await expect(page.get_by_role("button", name="Enable gateway")).to_be_visible()
        await expect(page.get_by_role("link", name="+15557654321")).to_contain_text("disabled")
        assert server.store.gateways.get(gateway.id).disabled

        await page.get_by_role("link", name="Delete gateway…").click()
        await expect(page.get_by_role("heading", name="Delete the gateway +15557654321?")).to_be_visible()
        await check_page(page, shots / "gateway-delete.png", width)
        assert server.store.gateways.all() != []
        await page.get_by_role("button", name="Delete gateway").click()
        await expect(page.get_by_role("status")).to_have_text("Deleted the gateway +15557654321.")
        await expect(page.get_by_text("No gateways yet.")).to_be_visible()
        assert server.store.gateways.all() == []
