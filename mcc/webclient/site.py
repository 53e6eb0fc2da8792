# -*- test-case-name: tests.test_webclient_http -*-
"""
The web chat client under C{/client/}: one page, its script and
stylesheet, and a JSON API for the script, by long polling on the
operator's numbered events (L{mcc.webclient.desk}).

    POST /client/api/open                  -> {client, cursor, status, chats}
    GET  /client/api/events?client=ID&after=N  (waits up to the poll timeout)
    POST /client/api/status                {"client", "status"}
    POST /client/api/chats/ID/OPERATION    {...}: messages, typing, take, end
    POST /client/api/chats/ID/segments     {"text"} -> {"texts": N}, SMS chats

Operations on a chat are looked up in L{OPERATIONS} by name, so more of
them (transfer, tags, files...) are one entry each.  Every post carries the
session's CSRF token in the C{X-CSRF-Token} header.
"""

import json

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from klein import Klein
from werkzeug.exceptions import NotFound

from mcc import resources
from mcc.routing.chats import ChatError, check_sendable
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
from mcc.webclient.desk import STATUSES, Behind, chat_summary, said

TEMPLATES = resources.TEMPLATES / "webclient"
COOKIE = b"mcc_client"
COOKIE_PATH = b"/client/"
ASSETS = {
    "client.css": b"text/css; charset=utf-8",
    "client.js": b"text/javascript; charset=utf-8",
}
TYPING_STATES = ("composing", "paused")
MAX_BODY = 64 * 1024


class ApiError(Exception):
    def __init__(self, status, reason, message):
        Exception.__init__(self, message)
        self.status = status
        self.reason = reason


class SignInFirst(Exception):
    pass


def message(api, username, chat, body):
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "invalid-field", "a message needs some text")
    if len(text) > api.max_message_size:
        raise ApiError(400, "too-long", f"a message holds at most {api.max_message_size} characters")
    check_sendable(text=text)
    waiting = chat.state == "waiting"
    api.chats.operator_says(chat.guest, username, text)
    return api.after_acting(chat, username, waiting, text)


def typing(api, username, chat, body):
    state = body.get("state")
    if state not in TYPING_STATES:
        raise ApiError(400, "invalid-field", "'state' is composing or paused")
    api.chats.operator_typing(chat.guest, username, state)
    return {}


def take(api, username, chat, body):
    waiting = chat.state == "waiting"
    api.chats.operator_takes(chat.guest, username)
    return api.after_acting(chat, username, waiting)


def end(api, username, chat, body):
    api.chats.operator_ends(chat.guest, username)
    return {"chat": chat_summary(api.chats.by_id(chat.id))}


def segments(api, username, chat, body):
    """
    How many texts a reply would cost, for a chat whose visitor's channel
    charges per text (SMS): the count its gateway would send.
    """
    text = body.get("text")
    if not isinstance(text, str):
        raise ApiError(400, "invalid-field", "'text' is the reply to count")
    if len(text) > api.max_message_size:
        raise ApiError(400, "too-long", f"a message holds at most {api.max_message_size} characters")
    cost = getattr(api.chats.visitor_channels.get(chat.protocol), "reply_cost", None)
    if cost is None:
        raise ApiError(400, "not-sms", "only an SMS chat's replies cost texts")
    return {"texts": cost(chat, text)}


OPERATIONS = {"messages": message, "typing": typing, "take": take, "end": end, "segments": segments}
"""
C{name -> (api, username, chat, body) -> answer}: what
C{POST /client/api/chats/ID/NAME} does to a chat open for the operator.
"""


class WebClient:
    """
    @param chats: the L{ChatService}.
    @param channel: the L{WebChannel} among the router's channels.
    @param presence: the L{WebPresence} of open web clients.
    """

    app = Klein()

    def __init__(
        self, domain, accounts, chats, channel, presence, clock, throttle, session_lifetime,
        random_bytes, run_in_thread, trusted_proxies=(), public_url="", max_message_size=4000,
    ):
        self.domain = domain
        self.accounts = accounts
        self.chats = chats
        self.channel = channel
        self.presence = presence
        self.clock = clock
        self.throttle = throttle
        self.max_message_size = max_message_size
        self.operations = dict(OPERATIONS)
        self.public_url = public_url.rstrip("/")
        self.sessions = SessionStore(clock, random_bytes, session_lifetime)
        self.cookies = CookieSessions(self.sessions, COOKIE, COOKIE_PATH, self.public_url)
        self.check_password = PasswordCheck(
            accounts, throttle, ClientAddress(trusted_proxies), run_in_thread, site="Web client"
        )
        self._templates = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
        )
        self.assets = {
            name: ((TEMPLATES / "static" / name).read_bytes(), kind) for name, kind in ASSETS.items()
        }
        accounts.on_sessions_ended.append(self.end_user)

    def resource(self):
        return self.app.resource()

    def end_user(self, username, reason=None):
        """
        C{username}'s account changed (a new password, disabled, deleted):
        their web clients sign in again, and are no longer present.
        """
        self.sessions.discard_user(username)
        self.presence.close_user(username)

    # Frame

    def headers(self, request, content_type=b"text/html; charset=utf-8", status=200):
        request.setResponseCode(status)
        request.setHeader(b"content-type", content_type)
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)

    def render(self, request, template, status=200, **context):
        self.headers(request, status=status)
        body = self._templates.get_template(template).render(domain=self.domain, **context)
        return body.encode("utf-8")

    def redirect(self, request, path):
        self.headers(request, status=303)
        request.setHeader(b"location", (self.public_url + path).encode("utf-8"))
        return b""

    def signed_in(self, request, extend=True):
        """
        The session and enabled user of the request, else L{SignInFirst};
        a post must carry the session's CSRF token.
        """
        session = self.cookies.get(request, extend=extend)
        if session is None or session.username is None:
            raise SignInFirst()
        user = self.accounts.find(session.username)
        if user is None or user.disabled:
            self.sessions.discard(session)
            self.presence.close_user(session.username)
            raise SignInFirst()
        if request.method == b"POST" and not csrf_ok(request, session):
            raise ApiError(403, "forged", "this request lacks its session's token")
        return session, user

    @app.handle_errors(SignInFirst)
    def sign_in_first(self, request, failure):
        if request.path.startswith(b"/client/api/"):
            return self.json(request, {"error": "signed-out", "message": "sign in again"}, 401)
        return self.redirect(request, "/client/sign-in")

    @app.handle_errors(ApiError)
    def api_error(self, request, failure):
        problem = failure.value
        return self.json(request, {"error": problem.reason, "message": str(problem)}, problem.status)

    @app.handle_errors(ChatError)
    def chat_error(self, request, failure):
        return self.json(request, {"error": failure.value.reason, "message": str(failure.value)}, 409)

    @app.handle_errors(NotFound)
    def not_found(self, request, failure):
        return self.json(request, {"error": "not-found", "message": "no such address"}, 404)

    def json(self, request, answer, status=200):
        self.headers(request, b"application/json", status)
        return json.dumps(answer).encode("utf-8")

    def body(self, request):
        raw = request.content.read(MAX_BODY + 1) if request.content is not None else b""
        if len(raw) > MAX_BODY:
            raise ApiError(413, "too-large", "the request is too large")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "invalid-json", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid-json", "the body is a JSON object")
        return body

    # Pages

    @app.route("/", methods=["GET"])
    def home(self, request):
        session, user = self.signed_in(request)
        return self.render(
            request, "client.html", csrf=session.csrf_token, me=user,
            statuses=STATUSES, chosen=self.presence.status(user.username),
        )

    @app.route("/<name>", methods=["GET"])
    def asset(self, request, name):
        if name not in self.assets:
            raise NotFound()
        body, kind = self.assets[name]
        self.headers(request, kind)
        request.setHeader(b"cache-control", b"no-cache")
        return body

    @app.route("/sign-in", methods=["GET"])
    def sign_in_form(self, request):
        session = self.cookies.get(request)
        if session is not None and session.username is not None:
            return self.redirect(request, "/client/")
        if session is None:
            session = self.cookies.start(request)
        notice = "You have signed out." if request.args.get(b"out") else None
        return self._sign_in_page(request, session, notice=notice)

    def _sign_in_page(self, request, session, status=200, username="", error=None, notice=None):
        return self.render(
            request, "sign-in.html", status=status, csrf=session.csrf_token,
            username=username, error=error, notice=notice,
        )

    @app.route("/sign-in", methods=["POST"])
    def sign_in(self, request):
        session = self.cookies.get(request)
        username = form_text(request, "username")
        if session is None:
            return self._sign_in_page(
                request, self.cookies.start(request), status=400, username=username,
                error="The sign-in page had expired. Please sign in again.",
            )
        if not csrf_ok(request, session):
            return self.render(request, "refused.html", status=403)
        try:
            checked = self.check_password(request, username, form_text(request, "password", strip=False))
        except Throttled:
            return self._sign_in_page(
                request, session, status=429, username=username,
                error="Too many failed sign-ins from your address. Wait a while, then try again.",
            )
        return checked.addCallback(self._checked, request, session, username)

    def _checked(self, user, request, session, username):
        if user is None:
            return self._sign_in_page(
                request, session, status=403, username=username, error="Wrong username or password."
            )
        # A new id once signed in: an id planted before sign-in stays useless.
        self.sessions.discard(session)
        self.cookies.start(request, user.username)
        return self.redirect(request, "/client/")

    @app.route("/sign-out", methods=["POST"])
    def sign_out(self, request):
        session, user = self.signed_in(request)
        self.cookies.end(request, session)
        if not self.sessions.has_user(user.username):
            self.presence.close_user(user.username)
        return self.redirect(request, "/client/sign-in?out=1")

    # The API

    @app.route("/api/open", methods=["POST"])
    def open(self, request):
        """
        A new client (a page load): its id and everything open for its
        operator now, with the cursor its polls start from.
        """
        session, user = self.signed_in(request)
        client_id = self.presence.open(user.username)
        answer = self.state(user.username)
        answer.update(client=client_id, status=self.presence.status(user.username))
        return self.json(request, answer)

    def state(self, username):
        chats = []
        for chat_id in self.channel.chats_of(username):
            chat = self.chats.by_id(chat_id)
            chats.append(
                {"details": chat_summary(chat), "transcript": [said(e) for e in self.chats.transcript(chat)]}
            )
        return {"cursor": self.channel.cursor(username), "chats": chats, "now": self.clock.seconds()}

    @app.route("/api/events", methods=["GET"])
    def events(self, request):
        session, user = self.signed_in(request)
        client_id = form_text(request, "client")
        if not self.presence.seen(client_id, user.username):
            raise ApiError(410, "reopen", "this client went away; open it again")
        try:
            after = int(form_text(request, "after"))
            waiting = self.channel.events(user.username, after)
        except (ValueError, Behind):
            answer = self.state(user.username)
            answer["resync"] = True
            return self.json(request, answer)
        request.notifyFinish().addErrback(lambda _: waiting.cancel())
        return waiting.addCallback(self._events_answer, request, client_id, user.username)

    def _events_answer(self, events, request, client_id, username):
        self.presence.seen(client_id, username)
        cursor = events[-1]["seq"] if events else int(form_text(request, "after"))
        return self.json(request, {"cursor": cursor, "events": events, "now": self.clock.seconds()})

    @app.route("/api/status", methods=["POST"])
    def status(self, request):
        session, user = self.signed_in(request)
        status = self.body(request).get("status")
        if status not in STATUSES:
            raise ApiError(400, "invalid-field", f"'status' is one of {', '.join(STATUSES)}")
        self.presence.set_status(user.username, status)
        return self.json(request, {"status": status})

    @app.route("/api/chats/<int:chat_id>/<operation>", methods=["POST"])
    def operate(self, request, chat_id, operation):
        session, user = self.signed_in(request)
        act = self.operations.get(operation)
        if act is None:
            raise NotFound()
        if not self.channel.holds(user.username, chat_id):
            raise ApiError(404, "unknown-chat", "no such chat is open for you")
        body = self.body(request)
        return self.json(request, act(self, user.username, self.chats.by_id(chat_id), body))

    def after_acting(self, chat, username, waiting, text=None):
        """
        What every tab of the operator's must show after a reply or a
        take from one of them: that the chat is theirs, and what they said.
        """
        now = self.chats.by_id(chat.id)
        mine = now.state == "active" and now.operator == username
        if mine and waiting:
            self.channel.taken(now, username)
        if mine and text is not None:
            self.channel.said(now, username, text)
        return {"chat": chat_summary(now)}
