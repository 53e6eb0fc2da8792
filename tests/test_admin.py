"""
Tests for L{mcc.admin.site}: the admin site's pages driven synchronously
with treq's StubTreq, on an in-memory store and a hand-driven clock.
"""

import itertools
import json
import re

import pytest
from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.web.resource import Resource

from mcc.admin import AdminSite
from mcc.admin.pages import sentence
from mcc.routing.accounts import AccountError, Accounts
from mcc.routing.availability import Availability
from mcc.routing.queues import Queues
from mcc.routing.widgets import Level, Widgets
from mcc.store import Store
from mcc.throttle import LoginThrottle

SITE = "http://mcc.example"
SESSION_TIMEOUT = 600.0
PRESENCE_WAIT = 25.0
FAILURES_ALLOWED = 3
FAILURE_WINDOW = 60.0


def done(deferred):
    """
    The result of a Deferred that has already fired.
    """
    results = []
    deferred.addBoth(results.append)
    assert results, "the request did not finish synchronously"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


class Page:
    def __init__(self, response):
        self.response = response
        self.code = response.code
        self.text = done(response.text("utf-8"))

    def header(self, name):
        values = self.response.headers.getRawHeaders(name)
        return None if values is None else values[0]

    @property
    def location(self):
        return self.header("location")

    @property
    def csrf(self):
        return re.search(r'name="csrf" value="([0-9a-f]+)"', self.text).group(1)


class Browser:
    """
    One client of an admin site over StubTreq, keeping its cookies.
    """

    def __init__(self, site, base=SITE, headers=None):
        root = Resource()
        root.putChild(b"admin", site.resource())
        self.stub = StubTreq(root)
        self.base = base
        self.headers = headers
        self.last = None

    def get(self, path):
        self.last = Page(
            done(self.stub.get(self.base + path, headers=self.headers, allow_redirects=False))
        )
        return self.last

    def post(self, path, data=(), csrf=True):
        """
        Post a form as the last page would, with its CSRF token unless
        C{csrf} is false (or a string: that token instead).
        """
        data = dict(data)
        if csrf is True:
            data["csrf"] = self.last.csrf
        elif csrf:
            data["csrf"] = csrf
        self.last = Page(
            done(
                self.stub.post(
                    self.base + path, data=data, headers=self.headers, allow_redirects=False
                )
            )
        )
        return self.last

    def sign_in(self, username, password):
        self.get("/admin/sign-in")
        return self.post("/admin/sign-in", {"username": username, "password": password})

    def follow(self):
        return self.get(self.last.location)


class World:
    def __init__(self, failure_window=FAILURE_WINDOW, **site_options):
        self.clock = Clock()
        self.store = Store.open(":memory:")
        self.accounts = Accounts(self.store, self.clock)
        self.queues = Queues(self.store, self.clock)
        self.availability = Availability()
        self.disabled = []
        self.accounts.on_sessions_ended.append(lambda username, reason: self.disabled.append(username))
        counter = itertools.count(1)
        keys = (f"key{n}" for n in itertools.count(1))
        self.widgets = Widgets(self.store, lambda **target: False, self.clock, lambda: next(keys))
        self.site = AdminSite(
            "example.org",
            self.accounts,
            self.queues,
            self.availability,
            self.clock,
            LoginThrottle(self.clock, FAILURES_ALLOWED, failure_window),
            SESSION_TIMEOUT,
            PRESENCE_WAIT,
            random_bytes=lambda n: next(counter).to_bytes(n, "big"),
            snippets_serving=self.widgets.snippets_serving,
            **site_options,
        )
        self.accounts.add("root", "root-pw", is_admin=True, display_name="Installer")
        self.accounts.add("olive", "olive-pw", display_name="Olive Operator")

    def browser(self, base=SITE, headers=None):
        return Browser(self.site, base, headers)

    def admin(self):
        browser = self.browser()
        assert browser.sign_in("root", "root-pw").location == "/admin/users"
        browser.follow()
        return browser

    def usernames(self):
        return [user.username for user in self.accounts.all()]


@pytest.fixture
def make_world():
    """
    C{**site_options -> World}, for tests that set the site up differently.
    """
    worlds = []

    def make(**site_options):
        worlds.append(World(**site_options))
        return worlds[-1]

    yield make
    for world in worlds:
        world.store.close()


@pytest.fixture
def world(make_world):
    return make_world()


# Signing in


def test_session_cookie_is_http_only_same_site_lax_and_scoped_to_the_admin_site(world):
    page = world.browser().get("/admin/sign-in")
    assert page.code == 200
    cookie = page.header("set-cookie")
    assert cookie.startswith("mcc_admin=")
    assert "; HttpOnly" in cookie
    assert "; SameSite=lax" in cookie
    assert "; Path=/admin/" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_over_tls(world):
    cookie = world.browser("https://mcc.example").get("/admin/sign-in").header("set-cookie")
    assert "; Secure" in cookie


def test_session_cookie_is_secure_when_browsers_reach_mcc_over_https(make_world):
    """
    A proxy that ends TLS forwards plain HTTP: the public URL tells.
    """
    world = make_world(public_url="https://chat.example.org")
    cookie = world.browser("http://mcc.internal").get("/admin/sign-in").header("set-cookie")
    assert "; Secure" in cookie


def test_admin_signs_in_with_the_xmpp_password_and_gets_a_new_session_id(world):
    browser = world.browser()
    before = browser.get("/admin/sign-in").header("set-cookie").split(";")[0]
    page = browser.post("/admin/sign-in", {"username": "root", "password": "root-pw"})
    assert page.code == 303
    assert page.location == "/admin/users"
    assert page.header("set-cookie").split(";")[0] != before
    users = browser.follow()
    assert users.code == 200
    assert "Olive Operator" in users.text
    assert "root@example.org" in users.text


def test_pages_need_a_session(world):
    browser = world.browser()
    paths = ("/admin/", "/admin/users", "/admin/queues", "/admin/users/olive", "/admin/reports")
    for path in paths:
        page = browser.get(path)
        assert (page.code, page.location) == (303, "/admin/sign-in"), path


def test_wrong_password_is_refused(world):
    page = world.browser().sign_in("root", "nope")
    assert page.code == 403
    assert "Wrong username or password." in page.text
    assert world.browser().get("/admin/users").location == "/admin/sign-in"


def test_operator_gets_the_not_an_administrator_page_and_nothing_else(world):
    browser = world.browser()
    page = browser.sign_in("olive", "olive-pw")
    assert page.code == 403
    assert "Not an administrator" in page.text
    assert "olive@example.org" in page.text
    assert "/admin/queues" not in page.text and "/admin/users" not in page.text
    for path in ("/admin/users", "/admin/queues", "/admin/presence.json"):
        assert browser.get(path).location == "/admin/sign-in"
    browser.get("/admin/sign-in")
    assert browser.post("/admin/users", {"username": "mallory", "password": "x"}).code == 303
    assert world.usernames() == ["olive", "root"]


def test_admin_who_loses_the_flag_sees_the_not_an_administrator_page(world):
    browser = world.admin()
    world.accounts.add("second", "pw", is_admin=True)
    world.accounts.update_profile("root", "Installer", "", is_admin=False)
    page = browser.get("/admin/users")
    assert page.code == 403
    assert "Not an administrator" in page.text
    assert browser.get("/admin/users").location == "/admin/sign-in"


def test_disabled_admin_is_signed_out(world):
    browser = world.admin()
    world.accounts.add("second", "pw", is_admin=True)
    world.accounts.set_disabled("root", True)
    assert browser.get("/admin/users").location == "/admin/sign-in"
    assert world.browser().sign_in("root", "root-pw").code == 403


def test_sign_out_ends_the_session(world):
    browser = world.admin()
    page = browser.post("/admin/sign-out")
    assert (page.code, page.location) == (303, "/admin/sign-in?out=1")
    assert "Max-Age=0" in page.header("set-cookie")
    assert "You have signed out." in browser.follow().text
    assert browser.get("/admin/users").location == "/admin/sign-in"


# CSRF


@pytest.mark.parametrize("token", [False, "0" * 64])
def test_post_without_the_session_csrf_token_is_refused_and_changes_nothing(world, token):
    browser = world.admin()
    browser.get("/admin/users/new")
    page = browser.post(
        "/admin/users", {"username": "mallory", "password": "pw", "is_admin": "1"}, csrf=token
    )
    assert page.code == 403
    assert "Form refused" in page.text
    assert world.usernames() == ["olive", "root"]
    page = browser.post("/admin/users/olive/disabled", {"disabled": "1"}, csrf=token)
    assert page.code == 403
    assert not world.accounts.get("olive").disabled
    assert world.disabled == []


def test_token_of_another_session_is_refused(world):
    other = world.admin()
    browser = world.admin()
    browser.get("/admin/queues/new")
    assert browser.post("/admin/queues", {"name": "Sales"}, csrf=other.last.csrf).code == 403
    assert world.queues.all() == []


def test_a_sign_in_page_whose_session_expired_asks_to_sign_in_again(world):
    browser = world.browser()
    browser.get("/admin/sign-in")
    world.clock.advance(world.site.sessions.lifetime)
    page = browser.post("/admin/sign-in", {"username": "root", "password": "root-pw"})
    assert page.code == 400
    assert "The sign-in page had expired. Please sign in again." in page.text
    assert 'value="root"' in page.text
    page = browser.post("/admin/sign-in", {"username": "root", "password": "root-pw"})
    assert page.location == "/admin/users"


def test_sign_in_without_the_csrf_token_is_refused(world):
    browser = world.browser()
    browser.get("/admin/sign-in")
    page = browser.post("/admin/sign-in", {"username": "root", "password": "root-pw"}, csrf=False)
    assert page.code == 403
    assert browser.get("/admin/users").location == "/admin/sign-in"


# Throttling and expiry


def test_failed_sign_ins_are_throttled_per_address(world):
    browser = world.browser()
    for _ in range(FAILURES_ALLOWED):
        assert browser.sign_in("root", "guess").code == 403
    page = browser.sign_in("root", "root-pw")
    assert page.code == 429
    assert "Too many failed sign-ins" in page.text
    assert "Wait a minute, then try again." in page.text
    world.clock.advance(FAILURE_WINDOW + 1)
    assert browser.sign_in("root", "root-pw").location == "/admin/users"


@pytest.mark.parametrize(
    "window, wait",
    [
        (300.0, "Wait 5 minutes"),
        (90.0, "Wait 90 seconds"),
        (1.5, "Wait 2 seconds"),
        (1.0, "Wait a second"),
    ],
)
def test_throttled_sign_in_says_how_long_to_wait(make_world, window, wait):
    browser = make_world(failure_window=window).browser()
    for _ in range(FAILURES_ALLOWED):
        browser.sign_in("root", "guess")
    page = browser.sign_in("root", "root-pw")
    assert page.code == 429
    assert f"{wait}, then try again." in page.text


def forwarded_for(address):
    return {"X-Forwarded-For": [address]}


def test_behind_a_trusted_proxy_sign_ins_are_throttled_per_forwarded_address(make_world):
    world = make_world(trusted_proxies=["127.0.0.0/8"])
    guesser = world.browser(headers=forwarded_for("203.0.113.1"))
    for _ in range(FAILURES_ALLOWED):
        assert guesser.sign_in("root", "guess").code == 403
    assert guesser.sign_in("root", "root-pw").code == 429
    admin = world.browser(headers=forwarded_for("203.0.113.2"))
    assert admin.sign_in("root", "root-pw").location == "/admin/users"


def test_forwarded_addresses_count_only_from_trusted_proxies(world):
    for attempt in range(FAILURES_ALLOWED):
        browser = world.browser(headers=forwarded_for(f"203.0.113.{attempt}"))
        assert browser.sign_in("root", "guess").code == 403
    browser = world.browser(headers=forwarded_for("203.0.113.99"))
    assert browser.sign_in("root", "root-pw").code == 429


def test_a_good_sign_in_does_not_wipe_the_failures_of_its_address(world):
    """
    Otherwise an operator could guess at an admin's password for ever,
    signing in as themselves between guesses.
    """
    guesser = world.browser()
    for _ in range(FAILURES_ALLOWED - 1):
        assert "Wrong username" in guesser.sign_in("root", "guess").text
        assert "Not an administrator" in guesser.sign_in("olive", "olive-pw").text
    assert guesser.sign_in("root", "guess").code == 403
    assert guesser.sign_in("root", "root-pw").code == 429


def test_session_expires_after_the_timeout_without_use(world):
    browser = world.admin()
    world.clock.advance(SESSION_TIMEOUT - 1)
    assert browser.get("/admin/queues").code == 200
    world.clock.advance(SESSION_TIMEOUT - 1)
    assert browser.get("/admin/users").code == 200
    world.clock.advance(SESSION_TIMEOUT)
    assert browser.get("/admin/users").location == "/admin/sign-in"


def test_presence_polling_does_not_keep_a_session_alive(world):
    browser = world.admin()
    world.clock.advance(SESSION_TIMEOUT - 1)
    assert browser.get("/admin/presence.json").code == 200
    world.clock.advance(1)
    assert browser.get("/admin/presence.json").location == "/admin/sign-in"
    assert browser.get("/admin/users").location == "/admin/sign-in"


# Users


def add_user_form(**overrides):
    form = {
        "username": "bob",
        "display_name": "Bob Builder",
        "email": "bob@example.org",
        "password": "bob-pw",
    }
    form.update(overrides)
    return form


def test_admin_adds_a_user(world):
    browser = world.admin()
    assert 'href="/admin/users/new"' in browser.last.text
    browser.get("/admin/users/new")
    page = browser.post("/admin/users", add_user_form(username="Bob", is_admin="1"))
    assert (page.code, page.location) == (303, "/admin/users/bob")
    bob = world.accounts.get("bob")
    assert (bob.display_name, bob.email, bob.is_admin) == ("Bob Builder", "bob@example.org", True)
    assert world.accounts.authenticate("bob", "bob-pw") == bob
    assert "Added bob@example.org." in browser.follow().text


@pytest.mark.parametrize(
    "username, message",
    [
        ("bob smith", "&#39;bob smith&#39; cannot be an XMPP username: no spaces"),
        ("bob@example.org", "&#39;bob@example.org&#39; cannot be an XMPP username"),
        ("a/b", "cannot be an XMPP username"),
        ("", "A username cannot be empty."),
    ],
)
def test_invalid_username_shows_a_clear_error_and_changes_nothing(world, username, message):
    browser = world.admin()
    browser.get("/admin/users/new")
    page = browser.post("/admin/users", add_user_form(username=username))
    assert page.code == 400
    assert 'role="alert"' in page.text
    assert message in page.text
    assert 'value="Bob Builder"' in page.text
    assert world.usernames() == ["olive", "root"]


def test_username_rule_ends_in_its_list_of_characters_without_a_full_stop(world):
    browser = world.admin()
    browser.get("/admin/users/new")
    page = browser.post("/admin/users", add_user_form(username="bob smith"))
    assert "none of &#34; &amp; &#39; / : &lt; &gt; @</p>" in page.text


@pytest.mark.parametrize(
    "message, text",
    [
        ("a queue needs a name", "A queue needs a name."),
        ("no user named 'ghost'", "No user named 'ghost'."),
        ("you cannot do that!", "You cannot do that!"),
        ("no spaces, and none of \" & ' / : < > @", "No spaces, and none of \" & ' / : < > @"),
        ("", ""),
    ],
)
def test_a_rules_message_as_a_sentence(message, text):
    assert sentence(message) == text


@pytest.mark.parametrize(
    "problem, invalid",
    [({"username": "bob smith"}, True), ({"username": "olive"}, True), ({"email": "nope"}, False)],
)
def test_username_field_is_marked_invalid_when_the_error_is_about_it(world, problem, invalid):
    browser = world.admin()
    browser.get("/admin/users/new")
    page = browser.post("/admin/users", add_user_form(**problem))
    field = re.search(r'<input id="username"[^>]*>', page.text).group(0)
    assert ('aria-invalid="true"' in field) == invalid
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    assert ("user-error" in described) == invalid
    assert 'id="user-error"' in page.text
    assert "username-hint" in described


@pytest.mark.parametrize("username", ["olive", "OLIVE"])
def test_duplicate_username_shows_a_clear_error_and_changes_nothing(world, username):
    browser = world.admin()
    browser.get("/admin/users/new")
    page = browser.post("/admin/users", add_user_form(username=username, password="new"))
    assert page.code == 400
    assert "A user named &#39;olive&#39; exists already." in page.text
    assert world.usernames() == ["olive", "root"]
    assert world.accounts.authenticate("olive", "olive-pw") is not None
    assert world.accounts.get("olive").display_name == "Olive Operator"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"password": ""}, "The password cannot be empty."),
        ({"email": "not-an-address"}, "is not an e-mail address"),
    ],
)
def test_other_invalid_fields_change_nothing(world, overrides, message):
    browser = world.admin()
    browser.get("/admin/users/new")
    page = browser.post("/admin/users", add_user_form(**overrides))
    assert page.code == 400
    assert message in page.text
    assert world.usernames() == ["olive", "root"]


def test_users_panel_shows_live_presence(world):
    world.availability.resource_available("olive", "desk")
    browser = world.admin()
    page = browser.get("/admin/users")
    badge = '<span class="presence presence-{1}" data-presence-of="{0}">{1}</span>'
    assert badge.format("olive", "available") in page.text
    assert badge.format("root", "offline") in page.text
    assert 'data-presence-version="1"' in page.text


def test_presence_poll_answers_when_presence_changes(world):
    browser = world.admin()
    waiting = browser.stub.get(SITE + "/admin/presence.json?after=0")
    results = []
    waiting.addBoth(results.append)
    assert results == []
    world.availability.resource_available("olive", "desk", show="away")
    browser.stub.flush()
    answer = json.loads(done(results[0].text()))
    assert answer == {"version": 1, "statuses": {"olive": "away", "root": "offline"}}


def test_presence_poll_answers_at_once_for_an_older_version(world):
    world.availability.resource_available("olive", "desk")
    browser = world.admin()
    answer = json.loads(browser.get("/admin/presence.json?after=0").text)
    assert answer == {"version": 1, "statuses": {"olive": "available", "root": "offline"}}
    assert json.loads(browser.get("/admin/presence.json").text)["version"] == 1


def test_presence_poll_answers_after_a_while_without_news(world):
    browser = world.admin()
    waiting = browser.stub.get(SITE + "/admin/presence.json?after=0")
    results = []
    waiting.addBoth(results.append)
    world.clock.advance(PRESENCE_WAIT - 1)
    assert results == []
    world.clock.advance(1)
    browser.stub.flush()
    assert json.loads(done(results[0].text())) == {
        "version": 0,
        "statuses": {"olive": "offline", "root": "offline"},
    }
    assert world.clock.getDelayedCalls() == []


def test_edit_profile(world):
    browser = world.admin()
    browser.get("/admin/users/olive")
    page = browser.post(
        "/admin/users/olive",
        {"display_name": "Olive O.", "email": "olive@example.org", "is_admin": "1"},
    )
    assert (page.code, page.location) == (303, "/admin/users/olive")
    olive = world.accounts.get("olive")
    assert (olive.display_name, olive.email, olive.is_admin) == (
        "Olive O.",
        "olive@example.org",
        True,
    )


def test_reset_password(world):
    browser = world.admin()
    browser.get("/admin/users/olive")
    assert browser.post("/admin/users/olive/password", {"password": ""}).code == 400
    assert world.accounts.authenticate("olive", "olive-pw") is not None
    assert browser.post("/admin/users/olive/password", {"password": "fresh"}).code == 303
    assert world.accounts.authenticate("olive", "olive-pw") is None
    assert world.accounts.authenticate("olive", "fresh") is not None


def test_a_password_no_xmpp_client_could_send_is_refused_clearly(world):
    browser = world.admin()
    page = browser.post("/admin/users", add_user_form(password="bell\x07"))
    assert page.code == 400
    assert "The password cannot be used with XMPP" in page.text
    page = browser.post("/admin/users/olive/password", {"password": "bell\x07"})
    assert page.code == 400
    assert "The password cannot be used with XMPP" in page.text
    assert world.accounts.authenticate("olive", "olive-pw") is not None
    assert "bob" not in world.usernames()


def test_reset_password_ends_the_users_xmpp_and_admin_sessions(world):
    world.accounts.add("second", "pw", is_admin=True)
    second = world.browser()
    second.sign_in("second", "pw")
    assert second.follow().code == 200
    browser = world.admin()
    browser.get("/admin/users/second")
    assert browser.post("/admin/users/second/password", {"password": "fresh"}).code == 303
    assert world.disabled == ["second"]
    assert second.get("/admin/users").location == "/admin/sign-in"
    assert browser.follow().code == 200


def test_resetting_ones_own_password_keeps_only_the_current_admin_session(world):
    elsewhere = world.admin()
    browser = world.admin()
    browser.get("/admin/users/root")
    assert browser.post("/admin/users/root/password", {"password": "fresh"}).code == 303
    assert world.disabled == ["root"]
    assert "Set a new password for root." in browser.follow().text
    assert elsewhere.get("/admin/users").location == "/admin/sign-in"


def test_disable_closes_sessions_and_enable_lets_back_in(world):
    browser = world.admin()
    browser.get("/admin/users/olive")
    assert browser.post("/admin/users/olive/disabled", {"disabled": "1"}).code == 303
    assert world.disabled == ["olive"]
    assert world.accounts.authenticate("olive", "olive-pw") is None
    page = browser.follow()
    assert "Disabled olive: their XMPP sessions are closed and new logins refused." in page.text
    assert "Enable account" in page.text
    assert browser.post("/admin/users/olive/disabled", {"disabled": "0"}).code == 303
    assert world.accounts.authenticate("olive", "olive-pw") is not None


def test_admin_cannot_lock_themselves_out(world):
    world.accounts.add("second", "pw", is_admin=True)
    browser = world.admin()
    browser.get("/admin/users/root")
    page = browser.post("/admin/users/root/disabled", {"disabled": "1"})
    assert page.code == 400
    assert "You cannot disable the account you are signed in with." in page.text
    page = browser.post("/admin/users/root", {"display_name": "Installer"})
    assert "You cannot take away your own admin flag." in page.text
    page = browser.post("/admin/users/root/delete")
    assert "You cannot delete the account you are signed in with." in page.text
    root = world.accounts.get("root")
    assert root.is_admin and not root.disabled


def test_another_admin_may_be_disabled_and_deleted(world):
    world.accounts.add("second", "pw", is_admin=True)
    browser = world.browser()
    browser.sign_in("second", "pw")
    browser.follow()
    assert browser.post("/admin/users/root/disabled", {"disabled": "1"}).code == 303
    assert world.accounts.get("root").disabled
    browser.follow()
    assert browser.post("/admin/users/root/delete").code == 303
    assert world.usernames() == ["olive", "second"]


def test_accounts_keep_an_enabled_administrator(world):
    for change in (
        lambda: world.accounts.set_disabled("ROOT", True),
        lambda: world.accounts.remove("root"),
        lambda: world.accounts.update_profile("root", "", "", is_admin=False),
    ):
        with pytest.raises(AccountError, match="root is the only enabled administrator"):
            change()
    root = world.accounts.get("root")
    assert root.is_admin and not root.disabled
    assert world.disabled == []


def test_delete_user_after_confirmation(world):
    queue = world.queues.create("Sales")
    world.queues.assign(queue.id, ["olive"])
    browser = world.admin()
    page = browser.get("/admin/users/olive/delete")
    assert page.code == 200
    assert "Delete olive?" in page.text
    assert "This cannot be undone." in page.text
    assert world.usernames() == ["olive", "root"]
    page = browser.post("/admin/users/olive/delete")
    assert (page.code, page.location) == (303, "/admin/users")
    assert world.usernames() == ["root"]
    assert world.disabled == ["olive"]
    assert world.queues.get(queue.id).operators == ()
    assert "Deleted olive." in browser.follow().text


def test_unknown_user_is_not_found(world):
    browser = world.admin()
    page = browser.get("/admin/users/nobody")
    assert page.code == 404
    assert "No user named &#39;nobody&#39;." in page.text


# Queues


def test_create_queue_then_assign_operators(world):
    world.accounts.add("bob", "pw", display_name="Bob")
    browser = world.admin()
    browser.get("/admin/queues")
    assert 'href="/admin/queues/new"' in browser.last.text
    browser.get("/admin/queues/new")
    page = browser.post("/admin/queues", {"name": " Sales ", "description": "Buyers"})
    queue = world.queues.all()[0]
    assert (queue.name, queue.description, queue.operators) == ("Sales", "Buyers", ())
    assert page.location == f"/admin/queues/{queue.id}"
    page = browser.follow()
    assert f'href="/admin/queues/{queue.id}/operators">Add/Remove Operators</a>' in page.text

    page = browser.get(f"/admin/queues/{queue.id}/operators")
    assert "<legend>Unassigned</legend>" in page.text
    assert "<legend>Assigned</legend>" in page.text
    page = browser.post(
        f"/admin/queues/{queue.id}/operators", {"move": "add", "add": ["olive", "bob"]}
    )
    assert page.code == 200
    assert world.queues.get(queue.id).operators == ()
    assigned = page.text.split("<legend>Assigned</legend>")[1]
    assert 'name="assigned" value="bob"' in assigned
    assert 'name="assigned" value="olive"' in assigned
    assert "Not saved yet" in page.text

    page = browser.post(
        f"/admin/queues/{queue.id}/operators",
        {"move": "remove", "assigned": ["olive", "bob"], "remove": ["bob"]},
    )
    columns = page.text.split("<legend>Unassigned</legend>")[1]
    unassigned, assigned = columns.split("<legend>Assigned</legend>")
    assert 'value="bob"' in unassigned and 'value="bob"' not in assigned
    assert world.queues.get(queue.id).operators == ()

    page = browser.post(f"/admin/queues/{queue.id}/operators", {"assigned": ["olive"]})
    assert page.location == f"/admin/queues/{queue.id}"
    assert world.queues.get(queue.id).operators == ("olive",)
    assert world.queues.operators_of("sales") == ["olive"]
    assert "Saved the operators of Sales." in browser.follow().text


def test_saving_replaces_the_assignment(world):
    world.accounts.add("bob", "pw")
    queue = world.queues.create("Sales")
    world.queues.assign(queue.id, ["olive", "bob"])
    browser = world.admin()
    browser.get(f"/admin/queues/{queue.id}/operators")
    browser.post(f"/admin/queues/{queue.id}/operators", {"assigned": ["bob"]})
    assert world.queues.get(queue.id).operators == ("bob",)
    browser.get(f"/admin/queues/{queue.id}/operators")
    browser.post(f"/admin/queues/{queue.id}/operators", {})
    assert world.queues.get(queue.id).operators == ()


def test_assigning_a_username_in_other_letter_case_saves_the_user(world):
    queue = world.queues.create("Sales")
    browser = world.admin()
    browser.get(f"/admin/queues/{queue.id}/operators")
    page = browser.post(f"/admin/queues/{queue.id}/operators", {"assigned": ["Olive"]})
    assert page.location == f"/admin/queues/{queue.id}"
    assert world.queues.get(queue.id).operators == ("olive",)


def test_assigning_an_unknown_user_changes_nothing(world):
    queue = world.queues.create("Sales")
    world.queues.assign(queue.id, ["olive"])
    browser = world.admin()
    browser.get(f"/admin/queues/{queue.id}/operators")
    page = browser.post(f"/admin/queues/{queue.id}/operators", {"assigned": ["root", "ghost"]})
    assert page.code == 400
    assert "Not saved: no user named &#39;ghost&#39;." in page.text
    assert world.queues.get(queue.id).operators == ("olive",)


@pytest.mark.parametrize(
    "name, message",
    [
        ("  ", "A queue needs a name."),
        ("SALES", "A queue named &#39;SALES&#39; exists already."),
        ("x" * 101, "A queue name has at most 100 characters."),
    ],
)
def test_invalid_queue_name_shows_a_clear_error_and_changes_nothing(world, name, message):
    world.queues.create("Sales")
    browser = world.admin()
    browser.get("/admin/queues/new")
    page = browser.post("/admin/queues", {"name": name, "description": "d"})
    assert page.code == 400
    assert message in page.text
    assert [queue.name for queue in world.queues.all()] == ["Sales"]


def test_rename_queue(world):
    sales = world.queues.create("Sales")
    world.queues.create("Support")
    browser = world.admin()
    browser.get(f"/admin/queues/{sales.id}")
    page = browser.post(f"/admin/queues/{sales.id}", {"name": "Support", "description": ""})
    assert page.code == 400
    assert "A queue named &#39;Support&#39; exists already." in page.text
    page = browser.post(f"/admin/queues/{sales.id}", {"name": "Presales", "description": "Before"})
    assert page.code == 303
    renamed = world.queues.get(sales.id)
    assert (renamed.name, renamed.description) == ("Presales", "Before")


def test_delete_confirmations_name_the_service_levels_that_go(world):
    sales = world.queues.create("Sales")
    skin = world.widgets.create_skin("Blue", {})
    for name, levels in (
        ("Shop", [Level(skin.id, queue_id=sales.id), Level(skin.id, username="olive")]),
        ("Help", [Level(skin.id, username="olive")]),
    ):
        made = world.widgets.create_snippet()
        world.widgets.save_snippet(made.id, name, "floating", {}, levels)
    browser = world.admin()
    page = browser.get(f"/admin/queues/{sales.id}/delete")
    assert "Its service levels go from the code snippet <strong>Shop</strong>: pages with that code" in page.text
    page = browser.get("/admin/users/olive/delete")
    assert "from the code snippets <strong>Help, Shop</strong>: pages with their code" in page.text
    page = browser.get("/admin/users/root/delete")
    assert "service levels go" not in page.text


def test_delete_queue_after_confirmation(world):
    queue = world.queues.create("Sales")
    world.queues.assign(queue.id, ["olive"])
    browser = world.admin()
    page = browser.get(f"/admin/queues/{queue.id}/delete")
    assert "Delete the queue Sales?" in page.text
    assert world.queues.all() != []
    page = browser.post(f"/admin/queues/{queue.id}/delete")
    assert page.location == "/admin/queues"
    assert world.queues.all() == []
    assert world.accounts.find("olive") is not None
    assert browser.get(f"/admin/queues/{queue.id}").code == 404


# Navigation, assets, headers


def test_navigation_shows_every_tab(world):
    page = world.admin().get("/admin/reports")
    assert page.code == 200
    tabs = re.findall(r'<li><a href="/admin/(\w+)"[^>]*>([^<]+)</a></li>', page.text)
    assert tabs == [
        ("users", "Users"),
        ("queues", "Queues"),
        ("widgets", "Design Widgets"),
        ("activity", "Activity"),
        ("reports", "Reports"),
        ("gateways", "Gateways"),
    ]
    assert '<a href="/admin/reports" aria-current="page">' in page.text


def test_every_field_has_a_label(world):
    queue = world.queues.create("Sales")
    browser = world.admin()
    for path in (
        "/admin/users/new",
        "/admin/users/olive",
        "/admin/queues/new",
        f"/admin/queues/{queue.id}",
        f"/admin/queues/{queue.id}/operators",
    ):
        text = browser.get(path).text
        fields = [
            match
            for match in re.finditer(r"<(?:input|textarea)\b[^>]*>", text)
            if 'type="hidden"' not in match.group(0)
        ]
        assert fields, path
        for match in fields:
            field_id = re.search(r'id="([^"]+)"', match.group(0))
            before = text[: match.start()]
            inside_label = before.rfind("<label") > before.rfind("</label>")
            assert inside_label or (
                field_id and f'<label for="{field_id.group(1)}"' in text
            ), (path, match.group(0))


def test_stylesheet_script_and_security_headers(world):
    browser = world.browser()
    css = browser.get("/admin/admin.css")
    assert css.code == 200
    assert css.header("content-type") == "text/css; charset=utf-8"
    assert ":focus-visible" in css.text
    assert browser.get("/admin/admin.js").header("content-type") == "text/javascript; charset=utf-8"
    page = browser.get("/admin/sign-in")
    assert "frame-ancestors 'none'" in page.header("content-security-policy")
    assert page.header("x-content-type-options") == "nosniff"
    assert page.header("cache-control") == "no-store"


# What a new user found


def test_redirects_lead_to_the_public_url_whatever_the_host(make_world):
    world = make_world(public_url="https://chat.example.org")
    browser = world.browser("http://evil.example")
    assert browser.get("/admin").location == "https://chat.example.org/admin/"
    assert browser.get("/admin/users").location == "https://chat.example.org/admin/sign-in"


def test_without_a_public_url_redirects_name_only_the_path(world):
    assert world.browser("http://evil.example").get("/admin").location == "/admin/"


def test_a_csrf_token_in_the_query_string_is_refused(world):
    browser = world.admin()
    token = browser.last.csrf
    page = browser.post(f"/admin/users?csrf={token}", {"username": "eve", "password": "pw"}, csrf=False)
    assert page.code == 403
    page = browser.post(
        f"/admin/users?csrf={token}", {"username": "eve", "password": "pw"}, csrf=token
    )
    assert page.code == 403
    assert "eve" not in world.usernames()


def test_a_csrf_token_in_a_header_is_accepted(world):
    browser = world.admin()
    browser.headers = {"X-CSRF-Token": browser.last.csrf}
    page = browser.post("/admin/users", {"username": "eve", "password": "pw"}, csrf=False)
    assert page.location == "/admin/users/eve"


def test_an_unknown_account_costs_a_password_check_off_the_reactor_thread(make_world):
    checks = []

    def run_in_thread(function, *args):
        checks.append(args)
        return defer.maybeDeferred(function, *args)

    world = make_world(run_in_thread=run_in_thread)
    assert world.browser().sign_in("root", "root-pw").location == "/admin/users"
    for username in ("nobody", "olive"):
        page = world.browser().sign_in(username, "guess")
        assert page.code == 403
        assert "Wrong username or password." in page.text
    world.accounts.set_disabled("olive", True)
    assert world.browser().sign_in("olive", "olive-pw").code == 403
    assert checks == [("root-pw",), ("guess",), ("guess",), ("olive-pw",)]


def test_unknown_admin_urls_get_the_not_found_page(world):
    browser = world.admin()
    for path in ("/admin/nonesuch", "/admin/users/olive/nonesuch", "/admin/queues/x", "/admin/reports/x"):
        page = browser.get(path)
        assert page.code == 404, path
        assert "<h1>Not found</h1>" in page.text, path
    assert world.browser().get("/admin/nonesuch").code == 404


def test_the_favicon_is_served_and_linked(world):
    page = world.browser().get("/admin/favicon.svg")
    assert page.header("content-type") == "image/svg+xml"
    assert page.text.startswith("<svg ")
    assert 'rel="icon" href="/admin/favicon.svg"' in world.browser().get("/admin/sign-in").text


def test_display_names_and_queue_texts_have_length_limits(world):
    browser = world.admin()
    browser.get("/admin/users/new")
    page = browser.post(
        "/admin/users", {"username": "eve", "password": "pw", "display_name": "E" * 101}
    )
    assert page.code == 400
    assert "A display name has at most 100 characters." in page.text
    browser.get("/admin/users/olive")
    page = browser.post("/admin/users/olive", {"display_name": "O" * 101})
    assert page.code == 400
    assert "A display name has at most 100 characters." in page.text
    assert world.accounts.get("olive").display_name == "Olive Operator"
    browser.get("/admin/queues/new")
    page = browser.post("/admin/queues", {"name": "Q" * 101})
    assert "A queue name has at most 100 characters." in page.text
    page = browser.post("/admin/queues", {"name": "Support", "description": "d" * 501}, csrf=page.csrf)
    assert page.code == 400
    assert "A queue description has at most 500 characters." in page.text
    assert world.queues.all() == []
