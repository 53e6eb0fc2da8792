# -*- test-case-name: tests.test_admin -*-
"""
The admin site under C{/admin/}: administrators manage accounts and queues
here.  It is never used for chat.  Pages are rendered on the server and work
without JavaScript; the script only refreshes presence and moves operators
between columns without a round trip.
"""

import functools
import hmac
import json
import math
import os
from dataclasses import dataclass
from urllib.parse import quote

from klein import Klein

from mcc.admin.pages import Pages
from mcc.admin.presence import PresenceFeed
from mcc.admin.sessions import SessionStore
from mcc.routing.accounts import AccountError
from mcc.routing.queues import QueueError
from mcc.routing.errors import (
    DuplicateQueue,
    DuplicateUser,
    PasswordError,
    UnknownQueue,
    UnknownUser,
    UsernameError,
)
from mcc.web import ClientAddress

"""
Seconds a presence poll waits for news before answering anyway.
"""

COOKIE = b"mcc_admin"
COOKIE_PATH = b"/admin/"

REFUSED = (UsernameError, DuplicateUser, PasswordError, AccountError, QueueError, DuplicateQueue)
"""
What the rules raise for a change they refuse: shown to the admin, nothing
changed.
"""

USERNAME_REFUSED = (UsernameError, DuplicateUser)
"""
What the rules raise when a new user's username is the problem, so that the
form marks that field.
"""

TABS = (
    ("users", "Users"),
    ("queues", "Queues"),
    ("widgets", "Design Widgets"),
    ("activity", "Activity"),
    ("reports", "Reports"),
    ("gateways", "Gateways"),
)

PLACEHOLDERS = {
    "widgets": "Design chat widgets that match your website, and get the code to embed them.",
    "activity": "Monitor current chats, step into them, and look back at previous ones.",
    "reports": "Chats per hour, month, protocol, queue and operator.",
    "gateways": "Add-ons such as SMS chat and IM identities.",
}

SECURITY_HEADERS = {
    b"cache-control": b"no-store",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"content-security-policy": (
        b"default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


@dataclass
class Visit:
    """
    A request by a signed-in administrator.
    """

    session: object
    user: object


def _guard(handler, activity):
    @functools.wraps(handler)
    def page(self, request, **kwargs):
        session = self._session(request, extend=activity)
        if session is None or session.username is None:
            return self._redirect(request, "/admin/sign-in")
        user = self.accounts.find(session.username)
        if user is None or user.disabled:
            self.sessions.discard(session)
            return self._redirect(request, "/admin/sign-in")
        if not user.is_admin:
            self.sessions.discard(session)
            return self._not_admin(request, user)
        if request.method == b"POST" and not _csrf_ok(request, session):
            return self._refused(request)
        return handler(self, request, Visit(session, user), **kwargs)

    return page


def admin_only(handler):
    """
    Let through only a signed-in, enabled administrator, and only with the
    session's CSRF token when posting; the handler gets a L{Visit}.
    """
    return _guard(handler, activity=True)


def admin_poll(handler):
    """
    Like L{admin_only}, for background requests that must not keep an idle
    session alive.
    """
    return _guard(handler, activity=False)


def _csrf_ok(request, session):
    sent = request.args.get(b"csrf", [b""])[0]
    return hmac.compare_digest(sent, session.csrf_token.encode("ascii"))


def form_text(request, name, strip=True):
    value = request.args.get(name.encode("ascii"), [b""])[0].decode("utf-8", "replace")
    return value.strip() if strip else value


def form_list(request, name):
    values = request.args.get(name.encode("ascii"), [])
    return [value.decode("utf-8", "replace") for value in values]


def form_flag(request, name):
    return form_text(request, name) in ("1", "on")


def user_path(username, action=""):
    return f"/admin/users/{quote(username, safe='')}{action}"


class AdminSite:
    """
    The admin site of one mcc; the HTTP port serves C{resource()} at
    C{/admin}, the prefix of every link and redirect here.

    @param random_bytes: C{n -> bytes}, the source of session ids and tokens.
    @param throttle: a L{Throttle} for failed sign-ins, per address.
    @param trusted_proxies: networks whose X-Forwarded-For names the
        address that sign-ins are throttled by.
    @param public_url: where browsers reach mcc; when it is C{https://}
        the session cookie is Secure even if a proxy ending TLS forwards
        plain HTTP to mcc.
    @param sections: tab key -> C{(site, visit) -> resource}: tabs served by
        their own modules under C{/admin/KEY}, for signed-in administrators;
        a tab without one shows its placeholder.
    @param snippets_serving: C{(queue_id=, username=) -> names} of the code
        snippets whose service levels a deletion takes away, for its
        confirmation page.
    """

    app = Klein()

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
    ):
        self.domain = domain
        self.accounts = accounts
        self.queues = queues
        self.availability = availability
        self.clock = clock
        self.throttle = throttle
        self.sessions = SessionStore(clock, random_bytes, session_lifetime)
        self.presence = PresenceFeed(availability, clock, presence_wait)
        self.pages = pages or Pages()
        self.sections = sections or {}
        self.client_address = ClientAddress(trusted_proxies)
        self.public_url = public_url
        self.snippets_serving = snippets_serving

    def resource(self):
        return self.app.resource()

    # Plumbing

    def _session(self, request, extend=True):
        cookie = request.getCookie(COOKIE)
        if not cookie:
            return None
        return self.sessions.get(cookie.decode("ascii", "replace"), extend=extend)

    def _start_session(self, request, username=None):
        session = self.sessions.create(username)
        self._set_cookie(request, session.id.encode("ascii"))
        return session

    def _set_cookie(self, request, value, **attributes):
        request.addCookie(
            COOKIE,
            value,
            path=COOKIE_PATH,
            httpOnly=True,
            sameSite="lax",
            secure=self._over_https(request),
            **attributes,
        )

    def _over_https(self, request):
        return request.isSecure() or self.public_url.startswith("https://")

    @staticmethod
    def _headers(request, content_type=b"text/html; charset=utf-8", status=200):
        request.setResponseCode(status)
        request.setHeader(b"content-type", content_type)
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)

    def _redirect(self, request, path):
        self._headers(request, status=303)
        request.setHeader(b"location", path.encode("utf-8"))
        return b""

    def _bare(self, request, template, status=200, **context):
        """
        A page outside the site's navigation: sign-in and refusals.
        """
        self._headers(request, status=status)
        return self.pages.render(template, domain=self.domain, **context)

    def _page(self, request, visit, template, tab, status=200, **context):
        self._headers(request, status=status)
        return self.pages.render(
            template,
            domain=self.domain,
            me=visit.user,
            csrf=visit.session.csrf_token,
            flash=visit.session.pop_flash(),
            tabs=TABS,
            tab=tab,
            user_path=user_path,
            presence_version=self.presence.version,
            **context,
        )

    def _not_admin(self, request, user):
        return self._bare(request, "not-admin.html", status=403, user=user)

    def _refused(self, request):
        return self._bare(request, "refused.html", status=403)

    @app.handle_errors(UnknownUser, UnknownQueue)
    def not_found(self, request, failure):
        return self._bare(request, "not-found.html", status=404, problem=str(failure.value))

    @app.route("/admin.css", methods=["GET"])
    def stylesheet(self, request):
        return self._asset(request, "admin.css")

    @app.route("/admin.js", methods=["GET"])
    def script(self, request):
        return self._asset(request, "admin.js")

    def _asset(self, request, name):
        body, content_type = self.pages.assets[name]
        self._headers(request, content_type)
        request.setHeader(b"cache-control", b"no-cache")
        return body

    # Signing in and out

    @app.route("/", methods=["GET"])
    @admin_only
    def home(self, request, visit):
        return self._redirect(request, "/admin/users")

    @app.route("/sign-in", methods=["GET"])
    def sign_in_form(self, request):
        session = self._session(request)
        if session is not None and session.username is not None:
            return self._redirect(request, "/admin/users")
        if session is None:
            session = self._start_session(request)
        notice = "You have signed out." if request.args.get(b"out") else None
        return self._sign_in_page(request, session, notice=notice)

    def _sign_in_page(self, request, session, status=200, username="", error=None, notice=None):
        return self._bare(
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
        session = self._session(request)
        username = form_text(request, "username")
        if session is None:
            return self._sign_in_page(
                request,
                self._start_session(request),
                status=400,
                username=username,
                error="The sign-in page had expired. Please sign in again.",
            )
        if not _csrf_ok(request, session):
            return self._refused(request)
        address = self.client_address(request)
        if self.throttle.blocked(address):
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
        user = self.accounts.authenticate(username, form_text(request, "password", strip=False))
        if user is None:
            self.throttle.record(address)
            return self._sign_in_page(
                request, session, status=403, username=username, error="Wrong username or password."
            )
        # A success leaves the address's failures to expire: forgetting them
        # would let anyone with an account interleave guesses at another.
        if not user.is_admin:
            return self._not_admin(request, user)
        # A new id once signed in: an id planted before sign-in stays useless.
        self.sessions.discard(session)
        self._start_session(request, user.username)
        return self._redirect(request, "/admin/users")

    @app.route("/sign-out", methods=["POST"])
    @admin_only
    def sign_out(self, request, visit):
        self.sessions.discard(visit.session)
        self._set_cookie(request, b"", max_age=b"0")
        return self._redirect(request, "/admin/sign-in?out=1")

    # Users

    def _users_page(self, request, visit, template, status=200, selected=None, **context):
        users = [(user, self.availability.status(user.username)) for user in self.accounts.all()]
        return self._page(
            request,
            visit,
            template,
            "users",
            status=status,
            users=users,
            selected=selected,
            **context,
        )

    def _edit_user_page(self, request, visit, user, status=200, values=None, errors=None):
        if values is None:
            values = {
                "display_name": user.display_name,
                "email": user.email,
                "is_admin": user.is_admin,
            }
        return self._users_page(
            request,
            visit,
            "users/edit.html",
            status=status,
            selected=user,
            values=values,
            errors=errors or {},
        )

    @app.route("/users", methods=["GET"])
    @admin_only
    def users(self, request, visit):
        return self._users_page(request, visit, "users/index.html")

    @app.route("/presence.json", methods=["GET"])
    @admin_poll
    def presence_poll(self, request, visit):
        """
        Everyone's presence, once it changed after the version C{after}.
        """
        try:
            after = int(form_text(request, "after"))
        except ValueError:
            after = None
        return self.presence.wait(after).addCallback(self._presence_answer, request)

    def _presence_answer(self, version, request):
        self._headers(request, b"application/json")
        statuses = {
            user.username: self.availability.status(user.username) for user in self.accounts.all()
        }
        return json.dumps({"version": version, "statuses": statuses}).encode("utf-8")

    @app.route("/users/new", methods=["GET"])
    @admin_only
    def new_user_form(self, request, visit):
        values = {"username": "", "display_name": "", "email": "", "is_admin": False}
        return self._users_page(
            request, visit, "users/new.html", values=values, error=None, username_invalid=False
        )

    @app.route("/users", methods=["POST"])
    @admin_only
    def add_user(self, request, visit):
        values = {name: form_text(request, name) for name in ("username", "display_name", "email")}
        values["is_admin"] = form_flag(request, "is_admin")
        try:
            user = self.accounts.add(password=form_text(request, "password", strip=False), **values)
        except REFUSED as problem:
            return self._users_page(
                request,
                visit,
                "users/new.html",
                status=400,
                values=values,
                error=str(problem),
                username_invalid=isinstance(problem, USERNAME_REFUSED),
            )
        visit.session.flash = f"Added {user.username}@{self.domain}."
        return self._redirect(request, user_path(user.username))

    @app.route("/users/<username>", methods=["GET"])
    @admin_only
    def user(self, request, visit, username):
        return self._edit_user_page(request, visit, self.accounts.get(username))

    @app.route("/users/<username>", methods=["POST"])
    @admin_only
    def update_user(self, request, visit, username):
        user = self.accounts.get(username)
        values = {name: form_text(request, name) for name in ("display_name", "email")}
        values["is_admin"] = form_flag(request, "is_admin")
        try:
            if not values["is_admin"]:
                _not_yourself(visit, user, "take away your own admin flag")
            self.accounts.update_profile(user.username, **values)
        except REFUSED as problem:
            return self._edit_user_page(
                request, visit, user, status=400, values=values, errors={"profile": str(problem)}
            )
        visit.session.flash = f"Saved the profile of {user.username}."
        return self._redirect(request, user_path(user.username))

    @app.route("/users/<username>/password", methods=["POST"])
    @admin_only
    def reset_password(self, request, visit, username):
        user = self.accounts.get(username)
        try:
            self.accounts.reset_password(user.username, form_text(request, "password", strip=False))
        except REFUSED as problem:
            return self._edit_user_page(
                request, visit, user, status=400, errors={"password": str(problem)}
            )
        self.sessions.discard_user(user.username, keep=visit.session)
        visit.session.flash = f"Set a new password for {user.username}."
        return self._redirect(request, user_path(user.username))

    @app.route("/users/<username>/disabled", methods=["POST"])
    @admin_only
    def set_disabled(self, request, visit, username):
        user = self.accounts.get(username)
        disabled = form_flag(request, "disabled")
        try:
            if disabled:
                _not_yourself(visit, user, "disable the account you are signed in with")
            self.accounts.set_disabled(user.username, disabled)
        except REFUSED as problem:
            return self._edit_user_page(
                request, visit, user, status=400, errors={"status": str(problem)}
            )
        visit.session.flash = (
            f"Disabled {user.username}: their XMPP sessions are closed and new logins refused."
            if disabled
            else f"Enabled {user.username}: they can log in again."
        )
        return self._redirect(request, user_path(user.username))

    @app.route("/users/<username>/delete", methods=["GET"])
    @admin_only
    def confirm_delete_user(self, request, visit, username):
        user = self.accounts.get(username)
        return self._users_page(
            request,
            visit,
            "users/delete.html",
            selected=user,
            error=None,
            serving=self.snippets_serving(username=user.username),
        )

    @app.route("/users/<username>/delete", methods=["POST"])
    @admin_only
    def delete_user(self, request, visit, username):
        user = self.accounts.get(username)
        try:
            _not_yourself(visit, user, "delete the account you are signed in with")
            self.accounts.remove(user.username)
        except REFUSED as problem:
            return self._users_page(
                request,
                visit,
                "users/delete.html",
                status=400,
                selected=user,
                error=str(problem),
                serving=self.snippets_serving(username=user.username),
            )
        visit.session.flash = f"Deleted {user.username}."
        return self._redirect(request, "/admin/users")

    # Queues

    def _queues_page(self, request, visit, template, status=200, selected=None, **context):
        return self._page(
            request,
            visit,
            template,
            "queues",
            status=status,
            queues=self.queues.all(),
            selected=selected,
            **context,
        )

    def _show_queue_page(self, request, visit, queue, status=200, values=None, error=None):
        if values is None:
            values = {"name": queue.name, "description": queue.description}
        users = {user.username: user for user in self.accounts.all()}
        return self._queues_page(
            request,
            visit,
            "queues/show.html",
            status=status,
            selected=queue,
            operators=[(users[name], self.availability.status(name)) for name in queue.operators],
            values=values,
            error=error,
        )

    @app.route("/queues", methods=["GET"])
    @admin_only
    def queue_list(self, request, visit):
        return self._queues_page(request, visit, "queues/index.html")

    @app.route("/queues/new", methods=["GET"])
    @admin_only
    def new_queue_form(self, request, visit):
        return self._queues_page(
            request, visit, "queues/new.html", values={"name": "", "description": ""}, error=None
        )

    @app.route("/queues", methods=["POST"])
    @admin_only
    def create_queue(self, request, visit):
        values = {name: form_text(request, name) for name in ("name", "description")}
        try:
            queue = self.queues.create(**values)
        except REFUSED as problem:
            return self._queues_page(
                request, visit, "queues/new.html", status=400, values=values, error=str(problem)
            )
        visit.session.flash = f"Created the queue {queue.name}. Now add operators to it."
        return self._redirect(request, f"/admin/queues/{queue.id}")

    @app.route("/queues/<int:queue_id>", methods=["GET"])
    @admin_only
    def queue(self, request, visit, queue_id):
        return self._show_queue_page(request, visit, self.queues.get(queue_id))

    @app.route("/queues/<int:queue_id>", methods=["POST"])
    @admin_only
    def update_queue(self, request, visit, queue_id):
        queue = self.queues.get(queue_id)
        values = {name: form_text(request, name) for name in ("name", "description")}
        try:
            queue = self.queues.update(queue_id, **values)
        except REFUSED as problem:
            return self._show_queue_page(
                request, visit, queue, status=400, values=values, error=str(problem)
            )
        visit.session.flash = f"Saved the queue {queue.name}."
        return self._redirect(request, f"/admin/queues/{queue_id}")

    def _operators_page(self, request, visit, queue, assigned, status=200, moved=False, error=None):
        users = self.accounts.all()
        return self._queues_page(
            request,
            visit,
            "queues/operators.html",
            status=status,
            selected=queue,
            unassigned=[user for user in users if user.username not in assigned],
            assigned=[user for user in users if user.username in assigned],
            moved=moved,
            error=error,
        )

    @app.route("/queues/<int:queue_id>/operators", methods=["GET"])
    @admin_only
    def operators_form(self, request, visit, queue_id):
        queue = self.queues.get(queue_id)
        return self._operators_page(request, visit, queue, set(queue.operators))

    @app.route("/queues/<int:queue_id>/operators", methods=["POST"])
    @admin_only
    def assign_operators(self, request, visit, queue_id):
        """
        Without JavaScript, the move buttons post the columns as they are
        and get them back rearranged, unsaved; Save stores the assignment.
        """
        queue = self.queues.get(queue_id)
        assigned = set(form_list(request, "assigned"))
        move = form_text(request, "move")
        if move == "add":
            assigned |= set(form_list(request, "add"))
        elif move == "remove":
            assigned -= set(form_list(request, "remove"))
        else:
            try:
                queue = self.queues.assign(queue_id, sorted(assigned))
            except UnknownUser as problem:
                return self._operators_page(
                    request, visit, queue, assigned, status=400, error=f"Not saved: {problem}."
                )
            visit.session.flash = f"Saved the operators of {queue.name}."
            return self._redirect(request, f"/admin/queues/{queue_id}")
        return self._operators_page(request, visit, queue, assigned, moved=True)

    @app.route("/queues/<int:queue_id>/delete", methods=["GET"])
    @admin_only
    def confirm_delete_queue(self, request, visit, queue_id):
        queue = self.queues.get(queue_id)
        return self._queues_page(
            request,
            visit,
            "queues/delete.html",
            selected=queue,
            serving=self.snippets_serving(queue_id=queue.id),
        )

    @app.route("/queues/<int:queue_id>/delete", methods=["POST"])
    @admin_only
    def delete_queue(self, request, visit, queue_id):
        queue = self.queues.get(queue_id)
        self.queues.remove(queue_id)
        visit.session.flash = f"Deleted the queue {queue.name}."
        return self._redirect(request, "/admin/queues")

    # Tabs served by their own modules, or placeholders until built

    @app.route(
        "/<any(widgets, activity, reports, gateways):tab>", branch=True, methods=["GET", "POST"]
    )
    @admin_only
    def section(self, request, visit, tab):
        if tab in self.sections:
            return self.sections[tab](self, visit).resource()
        if request.postpath or request.method != b"GET":
            return self._bare(request, "not-found.html", status=404, problem="no such page")
        title = dict(TABS)[tab]
        return self._page(
            request, visit, "placeholder.html", tab, title=title, summary=PLACEHOLDERS[tab]
        )


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


def _not_yourself(visit, user, change):
    """
    Refuse a change that would lock the signed-in admin out of the site.
    """
    if user.username == visit.user.username:
        raise AccountError(f"you cannot {change}")
