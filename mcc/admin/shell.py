# -*- test-case-name: tests.test_admin -*-
"""
The frame of the admin site under C{/admin/}: signing in and out, sessions,
the CSRF check and the page layout.  Each tab is a module of its own, served
under C{/admin/KEY} for a signed-in administrator; it renders and redirects
with the public helpers here, which is all it knows of the frame.
"""

import json
import math
import os
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect

from mcc.admin.pages import Pages
from mcc.admin.presence import PresenceFeed
from mcc.web import ClientAddress
from mcc.websession import (
    SECURITY_HEADERS,
    CookieSessions,
    PasswordCheck,
    SessionStore,
    Throttled,
    csrf_ok,
    form_text,
)

__all__ = ["SECURITY_HEADERS", "csrf_ok", "form_text", "form_list", "form_flag", "AdminShell"]

log = Logger()

COOKIE = b"mcc_admin"
COOKIE_PATH = b"/admin/"


@dataclass(frozen=True)
class Tab:
    """
    One tab of the admin site: its address under C{/admin/}, its label in
    the navigation, and C{(site, visit) -> object with resource()} serving
    it for one request.
    """

    key: str
    label: str
    serve: object


@dataclass
class Visit:
    """
    A request by a signed-in administrator, to the tab C{tab}.
    """

    session: object
    user: object
    tab: str = ""


class SignInFirst(Exception):
    """
    No signed-in session, or its account is gone or disabled.
    """


class NotAnAdmin(Exception):
    def __init__(self, user):
        Exception.__init__(self, user)
        self.user = user


class Forged(Exception):
    """
    A post without its session's CSRF token.
    """


def form_list(request, name):
    values = request.args.get(name.encode("ascii"), [])
    return [value.decode("utf-8", "replace") for value in values]


def form_flag(request, name):
    return form_text(request, name) in ("1", "on")


def user_path(username, action=""):
    return f"/admin/users/{quote(username, safe='')}{action}"


def call(function, *args):
    """
    Run C{function} here and now, as a Deferred: the thread runner of tests.
    """
    return defer.maybeDeferred(function, *args)


class AdminShell:
    """
    The admin site of one mcc; the HTTP port serves C{resource()} at
    C{/admin}, the prefix of every link and redirect here.

    @param random_bytes: C{n -> bytes}, the source of session ids and tokens.
    @param throttle: a L{LoginThrottle} for failed sign-ins, per address and
        per account.
    @param trusted_proxies: networks whose X-Forwarded-For names the
        address that sign-ins are throttled by.
    @param public_url: where browsers reach mcc, if configured; redirects
        lead there whatever Host a request names, and when it is
        C{https://} the session cookie is Secure even if a proxy ending TLS
        forwards plain HTTP to mcc.
    @param sections: tab key -> C{(site, visit) -> resource}, replacing the
        tab's own server from C{tabs}, as C{tap} does for tabs that need
        more than the site has.
    @param snippets_serving: C{(queue_id=, username=) -> names} of the code
        snippets whose service levels a deletion takes away, for its
        confirmation page.
    @param run_in_thread: C{(function, *args) -> Deferred}, where password
        checks (PBKDF2) run, off the reactor thread in production.
    """

    app = Klein()
    tabs = ()

    def __init__(
        self,
        domain,
        accounts,
        queues,
        availability,
        clock,
        throttle,
        session_lifetime,
        presence_wait,
        random_bytes=os.urandom,
        pages=None,
        sections=None,
        trusted_proxies=(),
        public_url="",
        snippets_serving=lambda queue_id=None, username=None: [],
        run_in_thread=call,
    ):
        self.domain = domain
        self.accounts = accounts
        self.queues = queues
        self.availability = availability
        self.clock = clock
        self.throttle = throttle
        self.sessions = SessionStore(clock, random_bytes, session_lifetime)
        self.public_url = public_url.rstrip("/")
        self.cookies = CookieSessions(self.sessions, COOKIE, COOKIE_PATH, self.public_url)
        self.presence = PresenceFeed(availability, clock, presence_wait)
        self.pages = pages or Pages()
        self.sections = {tab.key: tab.serve for tab in self.tabs}
        self.sections.update(sections or {})
        self.client_address = ClientAddress(trusted_proxies)
        self.snippets_serving = snippets_serving
        self.run_in_thread = run_in_thread
        self.check_password = PasswordCheck(
            accounts, throttle, self.client_address, run_in_thread, site="Admin"
        )

    def resource(self):
        return self.app.resource()

    # For the tabs

    def visit(self, request, tab="", activity=True):
        """
        The L{Visit} of a signed-in, enabled administrator, with the
        session's CSRF token when posting; else L{SignInFirst},
        L{NotAnAdmin} or L{Forged}, which the site answers.

        @param activity: whether the request keeps an idle session alive;
            background polls do not.
        """
        session = self.session(request, extend=activity)
        if session is None or session.username is None:
            raise SignInFirst()
        user = self.accounts.find(session.username)
        if user is None or user.disabled:
            self.sessions.discard(session)
            raise SignInFirst()
        if not user.is_admin:
            self.sessions.discard(session)
            raise NotAnAdmin(user)
        if request.method == b"POST" and not csrf_ok(request, session):
            raise Forged()
        return Visit(session, user, tab)

    def session(self, request, extend=True):
        return self.cookies.get(request, extend=extend)

    @staticmethod
    def headers(request, content_type=b"text/html; charset=utf-8", status=200):
        request.setResponseCode(status)
        request.setHeader(b"content-type", content_type)
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)

    def redirect(self, request, path):
        """
        See C{path} (under C{/admin/}) next: at the public URL when there
        is one, never at a host the request names.
        """
        self.headers(request, status=303)
        request.setHeader(b"location", (self.public_url + path).encode("utf-8"))
        return b""

    def done(self, request, visit, message, path):
        """
        A change made: say so on the next page, C{path}.
        """
        visit.session.flash = message
        return self.redirect(request, path)

    def bare(self, request, template, status=200, **context):
        """
        A page outside the site's navigation: sign-in and refusals.
        """
        self.headers(request, status=status)
        return self.pages.render(template, domain=self.domain, **context)

    def page(self, request, visit, template, status=200, **context):
        """
        A page of the visited tab, in the site's layout.
        """
        self.headers(request, status=status)
        return self.pages.render(
            template,
            domain=self.domain,
            me=visit.user,
            csrf=visit.session.csrf_token,
            flash=visit.session.pop_flash(),
            tabs=[(tab.key, tab.label) for tab in self.tabs],
            tab=visit.tab,
            user_path=user_path,
            presence_version=self.presence.version,
            **context,
        )

    def not_found(self, request, problem="no such page"):
        return self.bare(request, "not-found.html", status=404, problem=str(problem))

    # The answers to what visit() raises, and to unknown addresses

    @app.handle_errors(SignInFirst)
    def sign_in_first(self, request, failure):
        return self.redirect(request, "/admin/sign-in")

    @app.handle_errors(NotAnAdmin)
    def not_an_admin(self, request, failure):
        return self.bare(request, "not-admin.html", status=403, user=failure.value.user)

    @app.handle_errors(Forged)
    def forged(self, request, failure):
        return self.refused(request)

    def refused(self, request):
        return self.bare(request, "refused.html", status=403)

    @app.handle_errors(NotFound)
    def no_such_page(self, request, failure):
        return self.not_found(request)

    @app.handle_errors(RequestRedirect)
    def add_slash(self, request, failure):
        """
        C{/admin} to C{/admin/}: the router's own redirect would name the
        request's Host.
        """
        return self.redirect(request, urlsplit(failure.value.new_url).path)

    # Assets

    @app.route("/admin.css", methods=["GET"])
    def stylesheet(self, request):
        return self._asset(request, "admin.css")

    @app.route("/admin.js", methods=["GET"])
    def script(self, request):
        return self._asset(request, "admin.js")

    @app.route("/favicon.svg", methods=["GET"])
    def favicon(self, request):
        return self._asset(request, "favicon.svg")

    def _asset(self, request, name):
        body, content_type = self.pages.assets[name]
        self.headers(request, content_type)
        request.setHeader(b"cache-control", b"no-cache")
        return body

    # Signing in and out

    @app.route("/", methods=["GET"])
    def home(self, request):
        self.visit(request)
        return self.redirect(request, f"/admin/{self.tabs[0].key}")

    @app.route("/sign-in", methods=["GET"])
    def sign_in_form(self, request):
        session = self.session(request)
        if session is not None and session.username is not None:
            return self.redirect(request, f"/admin/{self.tabs[0].key}")
        if session is None:
            session = self._start_session(request)
        notice = "You have signed out." if request.args.get(b"out") else None
        return self._sign_in_page(request, session, notice=notice)

    def _sign_in_page(self, request, session, status=200, username="", error=None, notice=None):
        return self.bare(
            request,
            "sign-in.html",
            status=status,
            csrf=session.csrf_token,
            username=username,
            error=error,
            notice=notice,
        )

    @app.route("/sign-in", methods=["POST"])
    def sign_in(self, request):
        session = self.session(request)
        username = form_text(request, "username")
        if session is None:
            return self._sign_in_page(
                request,
                self._start_session(request),
                status=400,
                username=username,
                error="The sign-in page had expired. Please sign in again.",
            )
        if not csrf_ok(request, session):
            return self.refused(request)
        try:
            checked = self.check_password(
                request, username, form_text(request, "password", strip=False)
            )
        except Throttled:
            return self._sign_in_page(
                request,
                session,
                status=429,
                username=username,
                error=(
                    "Too many failed sign-ins from your address. "
                    f"Wait {_duration(self.throttle.window)}, then try again."
                ),
            )
        return checked.addCallback(self._checked, request, session, username)

    def _checked(self, user, request, session, username):
        if user is None:
            return self._sign_in_page(
                request, session, status=403, username=username, error="Wrong username or password."
            )
        if not user.is_admin:
            log.info(
                "Admin sign-in failed for {username!r} from {address}: {reason}",
                username=user.username, address=self.client_address(request), reason="not-an-admin",
            )
            return self.bare(request, "not-admin.html", status=403, user=user)
        # A new id once signed in: an id planted before sign-in stays useless.
        self.sessions.discard(session)
        self._start_session(request, user.username)
        log.info(
            "Admin sign-in succeeded for {username} from {address}",
            username=user.username, address=self.client_address(request),
        )
        return self.redirect(request, f"/admin/{self.tabs[0].key}")

    def _start_session(self, request, username=None):
        return self.cookies.start(request, username)

    @app.route("/sign-out", methods=["POST"])
    def sign_out(self, request):
        visit = self.visit(request)
        self.cookies.end(request, visit.session)
        return self.redirect(request, "/admin/sign-in?out=1")

    # Presence, which the pages of several tabs follow

    @app.route("/presence.json", methods=["GET"])
    def presence_poll(self, request):
        """
        Everyone's presence, once it changed after the version C{after}.
        """
        self.visit(request, activity=False)
        try:
            after = int(form_text(request, "after"))
        except ValueError:
            after = None
        return self.presence.wait(after).addCallback(self._presence_answer, request)

    def _presence_answer(self, version, request):
        self.headers(request, b"application/json")
        statuses = {
            user.username: self.availability.status(user.username) for user in self.accounts.all()
        }
        return json.dumps({"version": version, "statuses": statuses}).encode("utf-8")

    # The tabs

    @app.route("/<key>", branch=True, methods=["GET", "POST"])
    @app.route("/<key>/", endpoint="tab_index", methods=["GET", "POST"])
    def tab(self, request, key):
        """
        The tab C{key}; C{/admin/KEY/} is its first page too, since links
        with a query (C{/admin/activity/?from=...}) are written that way.
        """
        if key not in self.sections:
            raise NotFound()
        # A tab's JSON is what its pages poll in the background, which
        # keeps no idle session alive.
        visit = self.visit(request, key, activity=not request.path.endswith(b".json"))
        return self.sections[key](self, visit).resource()


def _duration(seconds):
    """
    C{seconds} as a person says it: the throttle's window is configurable.
    """
    minutes, rest = divmod(seconds, 60)
    if rest or not minutes:
        return _count(math.ceil(seconds), "second")
    return _count(int(minutes), "minute")


def _count(number, unit):
    return f"a {unit}" if number == 1 else f"{number} {unit}s"
