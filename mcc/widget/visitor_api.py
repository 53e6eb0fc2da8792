# -*- test-case-name: tests.test_visitor_api -*-
"""
The visitor's HTTP API under /api: JSON over long-polling, for widgets on
any site.

    GET  /api/availability?queue=NAME (or user=NAME)   -> {"available": bool}
    POST /api/chats       {"queue"|"user", "name", "email", "question"}
    POST /api/chats/TOKEN/messages  {"text"}
    POST /api/chats/TOKEN/typing    {"state": "composing"|"paused"}
    POST /api/chats/TOKEN/end
    GET  /api/chats/TOKEN/events?after=N   (waits up to the poll timeout)

Answers carry CORS headers: the widget runs on customers' own origins and
authenticates with the chat token alone, never with cookies.
"""

import json

from klein import Klein

from werkzeug.exceptions import MethodNotAllowed, NotFound

from mcc.routing.chats import (
    ChatError,
    InvalidCursor,
    UnknownChat,
    UnknownTarget,
    Unavailable,
    UnsendableText,
    Visitor,
    sendable,
)
from mcc.throttle import Throttle
from mcc.web import ClientAddress

MAX_BODY_BYTES = 64 * 1024
TYPING_STATES = ("composing", "paused")
VISITOR_FIELDS = ("name", "email", "question")
FIELD_LIMIT = 200

_STATUS = {
    UnknownChat: 404,
    UnknownTarget: 404,
    Unavailable: 409,
    UnsendableText: 400,
    InvalidCursor: 400,
}


class BadRequest(Exception):
    def __init__(self, status, reason, message):
        Exception.__init__(self, message)
        self.status = status
        self.reason = reason


def _event_json(event):
    return dict(event.data, seq=event.seq, kind=event.kind, at=event.at)


class VisitorAPI:
    app = Klein()

    def __init__(self, chats, clock, trusted_proxies, max_message_size, start_limit):
        self.chats = chats
        self.client_ip = ClientAddress(trusted_proxies)
        self.max_message_size = max_message_size
        limit, window = start_limit
        self.start_throttle = Throttle(clock, limit, window)

    # Plumbing

    def _answer(self, request, status, body):
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode("utf-8")

    def _fail(self, request, status, reason, message):
        return self._answer(request, status, {"error": reason, "message": message})

    def _guarded(self, request, action):
        try:
            return action()
        except BadRequest as problem:
            return self._fail(request, problem.status, problem.reason, str(problem))
        except ChatError as problem:
            return self._fail(request, _STATUS.get(type(problem), 409), problem.reason, str(problem))

    def _json_body(self, request):
        raw = request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise BadRequest(413, "too-large", f"requests are limited to {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise BadRequest(400, "invalid-json", "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest(400, "invalid-json", "the body must be a JSON object")
        return body

    @staticmethod
    def _text_field(body, name, required=False, limit=FIELD_LIMIT, one_line=False):
        """
        The string field C{name} of C{body}, stripped; C{one_line} fields
        (names, addresses) have their line breaks folded into spaces, so
        that they cannot pass for more lines of what an operator reads.
        """
        value = body.get(name, "")
        if not isinstance(value, str):
            raise BadRequest(400, "invalid-field", f"{name!r} must be a string")
        value = " ".join(value.split()) if one_line else value.strip()
        if required and not value:
            raise BadRequest(400, "missing-field", f"{name!r} is required")
        if len(value) > limit:
            raise BadRequest(413, "too-large", f"{name!r} is limited to {limit} characters")
        return value

    @app.handle_errors(KeyError, NotFound)
    def _not_found(self, request, failure):
        self._cors(request)
        return self._fail(request, 404, "not-found", "no such resource")

    @app.handle_errors(MethodNotAllowed)
    def _wrong_method(self, request, failure):
        self._cors(request)
        return self._fail(request, 405, "wrong-method", f"{request.method.decode()} is not allowed here")

    # CORS

    @app.route("/", branch=True, methods=["OPTIONS"])
    def preflight(self, request):
        self._cors(request)
        request.setHeader(b"access-control-allow-methods", b"GET, POST, OPTIONS")
        request.setHeader(b"access-control-allow-headers", b"content-type")
        request.setHeader(b"access-control-max-age", b"86400")
        request.setResponseCode(204)
        return b""

    @staticmethod
    def _cors(request):
        request.setHeader(b"access-control-allow-origin", b"*")

    # Routes

    @app.route("/availability", methods=["GET"])
    def availability(self, request):
        self._cors(request)

        def check():
            queue, user = (_query_text(request, name) for name in (b"queue", b"user"))
            if (queue is None) == (user is None):
                raise BadRequest(400, "missing-field", "ask for one queue or one user")
            available = self.chats.is_available(queue=queue, user=user)
            return self._answer(request, 200, {"available": available})

        return self._guarded(request, check)

    @app.route("/chats", methods=["POST"])
    def start(self, request):
        self._cors(request)

        def start_chat():
            ip = self.client_ip(request)
            if self.start_throttle.blocked(ip):
                raise BadRequest(429, "too-many-chats", "too many new chats from this address; try later")
            body = self._json_body(request)
            queue = body.get("queue")
            user = body.get("user")
            if isinstance(queue, str) == isinstance(user, str):
                raise BadRequest(400, "missing-field", "give one of 'queue' and 'user'")
            fields = {name: self._text_field(body, name, one_line=True) for name in ("name", "email")}
            question = self._text_field(body, "question", limit=self.max_message_size)
            visitor = Visitor(
                question=question,
                ip=ip,
                referrer=self._text_field(body, "page", limit=2000, one_line=True)
                or _header_text(request, b"referer", 2000),
                user_agent=_header_text(request, b"user-agent", 500),
                **fields,
            )
            chat = self.chats.start(
                visitor, queue=queue if isinstance(queue, str) else None,
                user=user if isinstance(user, str) else None,
            )
            self.start_throttle.record(ip)
            return self._answer(request, 201, {"token": chat.token, "state": chat.state})

        return self._guarded(request, start_chat)

    @app.route("/chats/<token>/messages", methods=["POST"])
    def message(self, request, token):
        self._cors(request)

        def post():
            text = self._text_field(
                self._json_body(request), "text", required=True, limit=self.max_message_size
            )
            return self._answer(request, 202, {"seq": self.chats.visitor_says(token, text)})

        return self._guarded(request, post)

    @app.route("/chats/<token>/typing", methods=["POST"])
    def typing(self, request, token):
        self._cors(request)

        def post():
            state = self._json_body(request).get("state")
            if state not in TYPING_STATES:
                raise BadRequest(400, "invalid-field", "'state' is composing or paused")
            self.chats.visitor_typing(token, state)
            return self._answer(request, 202, {})

        return self._guarded(request, post)

    @app.route("/chats/<token>/end", methods=["POST"])
    def end(self, request, token):
        self._cors(request)

        def post():
            self.chats.visitor_ends(token)
            return self._answer(request, 200, {})

        return self._guarded(request, post)

    @app.route("/chats/<token>/events", methods=["GET"])
    def events(self, request, token):
        self._cors(request)

        def poll():
            try:
                after = int(request.args.get(b"after", [b"0"])[0])
            except ValueError:
                raise BadRequest(400, "invalid-field", "'after' is a sequence number") from None
            # Klein cancels the poll when the visitor goes away.
            waiting = self.chats.poll(token, after)
            waiting.addCallback(lambda events: self._events_answer(request, token, after, events))
            return waiting

        return self._guarded(request, poll)

    def _events_answer(self, request, token, after, events):
        chat = self.chats.chat(token)
        return self._answer(
            request,
            200,
            {
                "events": [_event_json(event) for event in events],
                "last": events[-1].seq if events else after,
                "state": chat.state,
            },
        )


def _query_text(request, name):
    """
    The query argument C{name} as text, C{None} when absent.
    """
    value = request.args.get(name, [None])[0]
    try:
        return None if value is None else value.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "invalid-field", f"{name.decode()!r} is not UTF-8") from None


def _header_text(request, name, limit):
    """
    What the browser sent in header C{name}, as text an operator can be shown.
    """
    value = (request.getHeader(name) or b"").decode("latin-1")[:limit]
    return " ".join(sendable(value).split())
