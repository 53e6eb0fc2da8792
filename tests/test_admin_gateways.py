"""
The admin site's Gateways tab driven with StubTreq: adding, editing,
disabling and deleting SMS gateways, and the errors bad settings get.
"""

import pytest

from mcc.admin.gateways import gateways_tab
from mcc.routing.gateways import SMSGateways
from tests.test_admin import World

PUBLIC = "https://chat.example.org"
TOKEN = "twilio-auth-token-1234"
SID = "AC" + "0" * 32


@pytest.fixture
def world():
    holder = {}
    made = World(sections={"gateways": gateways_tab(_Late(holder), lambda: PUBLIC)})
    holder["gateways"] = SMSGateways(made.store, None, made.clock, {})
    made.gateways = holder["gateways"]
    made.queues.create("Support")
    yield made
    made.store.close()


class _Late:
    """
    The gateways' rules, made once the world's store exists.
    """

    def __init__(self, holder):
        self.holder = holder

    def __getattr__(self, name):
        return getattr(self.holder["gateways"], name)


def twilio_form(**changes):
    form = {
        "provider": "twilio", "number": "+15557654321", "account": SID, "secret": TOKEN,
        "public_key": "", "target": "queue:Support", "offline_reply": "We are closed.",
    }
    form.update(changes)
    return form


def add(browser, **changes):
    browser.get("/admin/gateways/new")
    return browser.post("/admin/gateways", twilio_form(**changes))


def test_the_tab_lists_no_gateways_then_the_one_added(world):
    browser = world.admin()
    page = browser.get("/admin/gateways")
    assert page.code == 200 and "No gateways yet." in page.text
    page = add(browser)
    assert page.code == 303
    (gateway,) = world.gateways.all()
    assert page.location == f"/admin/gateways/{gateway.id}"
    assert (gateway.number, gateway.account, gateway.secret, gateway.queue) == (
        "+15557654321", SID, TOKEN, "Support"
    )
    page = browser.follow()
    assert "Added the SMS gateway +15557654321." in page.text
    assert f"<code data-webhook>{PUBLIC}/gateways/sms/twilio</code>" in page.text
    assert "\u2022\u2022\u2022\u20221234" in page.text
    assert TOKEN not in page.text
    assert "Twilio · Support" in browser.get("/admin/gateways").text


def test_bad_settings_are_refused_with_the_field_marked_and_nothing_stored(world):
    browser = world.admin()
    for changes, message, field in [
        ({"number": "5557654321"}, "The phone number is in E.164 form", "number"),
        ({"number": "+1 555 CALL"}, "The phone number is in E.164 form", "number"),
        ({"target": ""}, "Choose the queue or the user this gateway rings", "target"),
        ({"target": "queue:Nope"}, "No queue is named", "target"),
        ({"secret": ""}, "Give the auth token", "secret"),
        ({"account": ""}, "Give the Twilio account SID", "account"),
        ({"provider": "telnyx", "public_key": "short"}, "The Telnyx public key is 32 bytes", "public_key"),
    ]:
        page = add(browser, **changes)
        assert page.code == 400, changes
        assert message in page.text, changes
        assert f'id="{field}" name="{field}" aria-invalid="true" aria-describedby="gateway-error"' in page.text
        assert 'role="alert" id="gateway-error"' in page.text
        assert TOKEN not in page.text  # The secret is not sent back.
    assert world.gateways.all() == []


def test_a_second_gateway_with_the_same_number_is_refused(world):
    browser = world.admin()
    add(browser)
    page = add(browser)
    assert page.code == 400
    assert "A gateway has the number +15557654321 already" in page.text
    assert len(world.gateways.all()) == 1


def test_editing_with_blank_credentials_keeps_the_stored_ones(world):
    browser = world.admin()
    add(browser)
    (gateway,) = world.gateways.all()
    page = browser.get(f"/admin/gateways/{gateway.id}")
    assert "(blank keeps \u2022\u2022\u2022\u20221234)" in page.text
    page = browser.post(
        f"/admin/gateways/{gateway.id}", twilio_form(secret="", offline_reply="Back at nine.", number="+15550001111")
    )
    assert page.code == 303
    edited = world.gateways.get(gateway.id)
    assert (edited.secret, edited.offline_reply, edited.number) == (TOKEN, "Back at nine.", "+15550001111")
    browser.follow()
    browser.post(f"/admin/gateways/{gateway.id}", twilio_form(secret="new-token-9876"))
    assert world.gateways.get(gateway.id).secret == "new-token-9876"
    browser.follow()
    page = browser.post(f"/admin/gateways/{gateway.id}", twilio_form(number="12"))
    assert page.code == 400 and "The phone number is in E.164 form" in page.text
    assert world.gateways.get(gateway.id).number == "+15557654321"


def test_disable_enable_and_delete_after_confirmation(world):
    browser = world.admin()
    add(browser)
    (gateway,) = world.gateways.all()
    browser.get(f"/admin/gateways/{gateway.id}")
    page = browser.post(f"/admin/gateways/{gateway.id}/disable")
    assert page.code == 303 and world.gateways.get(gateway.id).disabled
    page = browser.follow()
    assert "Disabled the gateway: its webhooks get 404." in page.text
    assert "Enable gateway" in page.text
    browser.post(f"/admin/gateways/{gateway.id}/disable", {"enable": "1"})
    assert not world.gateways.get(gateway.id).disabled

    page = browser.get(f"/admin/gateways/{gateway.id}/delete")
    assert "Delete the gateway +15557654321?" in page.text
    assert world.gateways.all() != []
    page = browser.post(f"/admin/gateways/{gateway.id}/delete")
    assert page.location == "/admin/gateways"
    assert world.gateways.all() == []
    assert browser.get(f"/admin/gateways/{gateway.id}").code == 404


def test_posts_need_the_csrf_token(world):
    browser = world.admin()
    browser.get("/admin/gateways/new")
    page = browser.post("/admin/gateways", twilio_form(), csrf=False)
    assert page.code == 403
    assert world.gateways.all() == []


def test_every_field_has_a_label(world):
    browser = world.admin()
    add(browser)
    (gateway,) = world.gateways.all()
    for path in ("/admin/gateways/new", f"/admin/gateways/{gateway.id}"):
        text = browser.get(path).text
        for name in ("provider", "number", "account", "secret", "public_key", "target", "offline_reply"):
            assert f'<label for="{name}">' in text, (path, name)
