# -*- test-case-name: tests.test_webclient_http -*-
"""
The web chat client under C{/client/}: one page, its script and
stylesheet, and a JSON API for the script, by long polling on the
operator's numbered events (L{mcc.webclient.desk}).

    POST /client/api/open                  -> {client, cursor, status, chats}
    GET  /client/api/events?client=ID&after=N  (waits up to the poll timeout)
    POST /client/api/status                {"client", "status"}
    POST /client/api/chats/ID/OPERATION    {...}: see L{OPERATIONS}
    POST /client/api/chats/ID/files        the file as the body, its name in
                                           X-File-Name (UTF-8, percent-encoded)
    GET  /client/api/chats/ID/files/FILE   a file of the chat, as an attachment
    POST /client/api/chats/ID/segments     {"text"} -> {"texts": N}, SMS chats

Operations on a chat are looked up in L{OPERATIONS} by name; those of
L{mcc.routing.operations} decide for themselves who may act on which chat.
Every post carries the session's CSRF token in the C{X-CSRF-Token} header.
A refusal is C{{"error": reason, "message": why}} with a status saying
what kind of refusal it is (L{REFUSED}).
"""

import json
import re
from dataclasses import asdict
from urllib.parse import quote, unquote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from klein import Klein
from werkzeug.exceptions import NotFound

from mcc import resources
from mcc.routing.chats import ChatError, ChatOver, UnknownChat, UnknownTarget, check_sendable
from mcc.routing.errors import (
    BadFileName,
    EmptyFile,
    FileTooLarge,
    FileTypeNotAllowed,
    InvalidAddress,
    InvalidCanned,
    InvalidNote,
    InvalidTag,
    MailNotConfigured,
    NotPermitted,
    NotYourChat,
    SelfTransfer,
    TargetUnavailable,
    TransferPending,
    UnknownCanned,
    UnknownFile,
)
from mcc.routing.operations import parse_tags
from mcc.web import ClientAddress, attachment
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
UPLOAD_PATH = re.compile(rb"/client/api/chats/[0-9]+/files(\?[^#]*)?")
"""
The raw path of an operator's upload: the one route of the web client whose
body may be as large as a file (see L{mcc.web.bounded_request}).
"""
TRANSFER_KINDS = ("queue", "user")

REFUSED = (
    (UnknownChat, 404),
    (UnknownTarget, 404),
    (UnknownFile, 404),
    (NotYourChat, 403),
    (NotPermitted, 403),
    (FileTooLarge, 413),
    (FileTypeNotAllowed, 415),
    (MailNotConfigured, 503),
    (InvalidTag, 400),
    (InvalidNote, 400),
    (InvalidCanned, 400),
    (InvalidAddress, 400),
    (BadFileName, 400),
    (EmptyFile, 400),
    (TransferPending, 409),
    (SelfTransfer, 409),
    (TargetUnavailable, 409),
    (ChatOver, 409),
)
"""
The HTTP status of each refusal; any other L{ChatError} is a 409.
"""


class ApiError(Exception):
    def __init__(self, status, reason, message):
        Exception.__init__(self, message)
        self.status = status
        self.reason = reason


class SignInFirst(Exception):
    pass


def _text_field(body, name, required=True):
    value = body.get(name, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError(400, "invalid-field", f"{name!r} is needed, as text")
    return value


def message(api, username, chat, body):
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "invalid-field", "a message needs some text")
    if len(text) > api.max_message_size:
        raise ApiError(400, "too-long", f"a message holds at most {api.max_message_size} characters")
    check_sendable(text=text)
    api.chats.operator_says(chat.guest, username, text)
    return api.after_acting(chat, username, text)


def typing(api, username, chat, body):
    state = body.get("state")
    if state not in TYPING_STATES:
        raise ApiError(400, "invalid-field", "'state' is composing or paused")
    api.chats.operator_typing(chat.guest, username, state)
    return {}


def take(api, username, chat, body):
    api.chats.operator_takes(chat.guest, username)
    return api.after_acting(chat, username)


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


def transfer_targets(api, username, chat, body):
    return {"targets": [asdict(t) for t in api.operations.transfer_targets(chat.id, username)]}


def transfer(api, username, chat, body):
    """
    C{{"kind": "queue" or "user", "name": ..., "note": ...}}: the chat
    rings there and stays the operator's until someone takes it.
    """
    kind = body.get("kind")
    if kind not in TRANSFER_KINDS:
        raise ApiError(400, "invalid-field", "'kind' is queue or user")
    name = _text_field(body, "name")
    api.operations.transfer(chat.id, username, note=body.get("note", ""), **{kind: name})
    return {"chat": chat_summary(api.chats.by_id(chat.id)), "transfer": "pending"}


def _tags_changed(api, username, chat, tags):
    api.channel.tagged(chat, username, tags)
    return {"tags": list(tags)}


def add_tags(api, username, chat, body):
    """
    C{{"tags": ["a", "b"]}} or C{{"tags": "a, b"}}: all of them, or none.
    """
    names = body.get("tags")
    if isinstance(names, str):
        names = parse_tags(names)
    if not isinstance(names, list) or not names:
        raise ApiError(400, "invalid-field", "give one tag or more")
    return _tags_changed(api, username, chat, api.operations.add_tags(chat.id, username, names))


def remove_tag(api, username, chat, body):
    name = _text_field(body, "tag")
    return _tags_changed(api, username, chat, api.operations.remove_tag(chat.id, username, name))


def suggest_tags(api, username, chat, body):
    prefix = _text_field(body, "prefix", required=False)
    used = set(api.operations.tags(chat.id))
    return {"suggestions": [name for name in api.operations.suggest_tags(prefix) if name not in used]}


def canned(api, username, chat, body):
    found = api.operations.canned_for(chat.id, username)
    return {"canned": [{"name": name, "text": c.text} for name, c in found.items()]}


def send_canned(api, username, chat, body):
    name = _text_field(body, "name")
    text = api.operations.send_canned(chat.id, username, name)
    return api.after_acting(chat, username, text)


def details(api, username, chat, body):
    return {"details": asdict(api.operations.details(chat.id, username))}


def email_transcript(api, username, chat, body):
    """
    C{{"to": address}}, or C{{}} for the visitor's own: queued now, and
    the result (sent, failed and why) comes as events.
    """
    if api.transcripts is None:
        raise MailNotConfigured("E-mail is not set up on this server")
    to = body.get("to") or None
    if to is not None and not isinstance(to, str):
        raise ApiError(400, "invalid-field", "'to' is an e-mail address")
    mail = api.transcripts.email_transcript(chat.id, to, operator=username)
    return {"queued": mail.recipient}


OPERATIONS = {
    "messages": message,
    "typing": typing,
    "take": take,
    "end": end,
    "transfer-targets": transfer_targets,
    "transfer": transfer,
    "tags": add_tags,
    "untag": remove_tag,
    "tag-suggestions": suggest_tags,
    "canned": canned,
    "send-canned": send_canned,
    "details": details,
    "transcript": email_transcript,
    "segments": segments,
}
"""
C{name -> (api, username, chat, body) -> answer}: what
C{POST /client/api/chats/ID/NAME} does to a chat.
"""

ANYWHERE = frozenset(
    ("transfer-targets", "transfer", "tags", "untag", "tag-suggestions", "canned", "details", "transcript")
)
"""
The operations that L{mcc.routing} checks for themselves, on any chat: an
ended chat is still tagged and e-mailed from its pane.  The others act on
chats open in the operator's web client.
"""


class WebClient:
    """
    @param chats: the L{ChatService}.
    @param channel: the L{WebChannel} among the router's channels.
    @param presence: the L{WebPresence} of open web clients.
    @param operations: the L{mcc.routing.interfaces.IChatOperations}.
    @param files: the L{mcc.routing.interfaces.IChatFiles}, or C{None}
        when chats carry no files.
    @param transcripts: the L{mcc.routing.interfaces.ITranscriptMailer},
        or C{None}.
    """

    app = Klein()

    def __init__(
        self, domain, accounts, chats, channel, presence, clock, throttle, session_lifetime,
        random_bytes, run_in_thread, trusted_proxies=(), public_url="", max_message_size=4000,
        operations=None, files=None, transcripts=None,
    ):
        self.domain = domain
        self.accounts = accounts
        self.chats = chats
        self.channel = channel
        self.presence = presence
        self.clock = clock
        self.throttle = throttle
        self.max_message_size = max_message_size
        self.operations = operations
        self.files = files
        self.transcripts = transcripts
        self.acts = dict(OPERATIONS)
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
        problem = failure.value
        status = next((code for kind, code in REFUSED if isinstance(problem, kind)), 409)
        return self.json(request, {"error": problem.reason, "message": str(problem)}, status)

    @app.handle_errors(UnknownCanned)
    def unknown_canned(self, request, failure):
        return self.json(request, {"error": "unknown-canned", "message": "no canned message of that name"}, 404)

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
            max_file_size=self.files.max_size if self.files is not None else 0,
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
                {"details": chat_summary(chat), "transcript": [said(e) for e in self.chats.history(chat)]}
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
        act = self.acts.get(operation)
        if act is None:
            raise NotFound()
        if operation in ANYWHERE:
            if self.operations is None:
                raise NotFound()
        elif not self.channel.holds(user.username, chat_id):
            raise ApiError(404, "unknown-chat", "no such chat is open for you")
        body = self.body(request)
        return self.json(request, act(self, user.username, self.chats.by_id(chat_id), body))

    def after_acting(self, chat, username, text=None):
        """
        What every tab of the operator's must show after a reply or a
        take from one of them: that the chat is theirs (when it was not:
        ringing, or a transfer to them), and what they said.
        """
        now = self.chats.by_id(chat.id)
        mine = now.state == "active" and now.operator == username
        if mine and not (chat.state == "active" and chat.operator == username):
            self.channel.taken(now, username)
        if mine and text is not None:
            self.channel.said(now, username, text)
        return {"chat": chat_summary(now)}

    # Files

    def _files(self):
        if self.files is None:
            raise ApiError(404, "not-found", "this server takes no files")
        return self.files

    @app.route("/api/chats/<int:chat_id>/files", methods=["POST"])
    def upload(self, request, chat_id):
        """
        A file from the operator to the chat's visitor: the body is the
        file; refused on its declared length before the rest is looked at.
        """
        session, user = self.signed_in(request)
        files = self._files()
        raw = request.getHeader(b"x-file-name")
        try:
            name = unquote(raw.decode("ascii"), errors="strict") if raw is not None else None
        except UnicodeError:
            raise ApiError(400, "invalid-field", "X-File-Name is UTF-8, percent-encoded") from None
        if not name:
            raise ApiError(400, "missing-field", "give the file's name in X-File-Name")
        declared = request.getHeader(b"content-length")
        try:
            length = None if declared is None else int(declared)
        except ValueError:
            raise ApiError(400, "invalid-field", "Content-Length is a number") from None
        files.check(chat_id, name, length, operator=user.username)
        stored = files.send(chat_id, name, request.content, length, operator=user.username)
        self.headers(request, b"application/json", 201)
        return json.dumps({"file": {
            "id": stored.id, "name": stored.name, "size": stored.size, "type": stored.content_type,
            "url": self.file_url(chat_id, stored.id),
        }}).encode("utf-8")

    def file_url(self, chat_id, file_id):
        return f"/client/api/chats/{chat_id}/files/{quote(file_id)}"

    @app.route("/api/chats/<int:chat_id>/files/<file_id>", methods=["GET"])
    def download(self, request, chat_id, file_id):
        session, user = self.signed_in(request)
        return attachment(request, *self._files().open(chat_id, file_id, operator=user.username))
