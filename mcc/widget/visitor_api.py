# -*- test-case-name: tests.test_visitor_api -*-
"""
The visitor's HTTP API under /api: JSON over long-polling, for widgets on
any site.

    GET  /api/availability?queue=NAME (or user=NAME)   -> {"available": bool}
    POST /api/chats       {"queue"|"user", "name", "email", "question", "page", "referrer"}
    POST /api/chats/TOKEN/messages  {"text", "id"} -> {"seq", "follows"}: the
                                    message's number, and that of the newest
                                    event the visitor sees before it (its own
                                    message does not wake its poll)
    POST /api/chats/TOKEN/typing    {"state": "composing"|"paused"}
    POST /api/chats/TOKEN/end
    POST /api/chats/TOKEN/seen      {"seq": N}  (the visitor saw the chat up to N)
    GET  /api/chats/TOKEN/events?after=N   (waits up to the poll timeout)
    POST /api/chats/TOKEN/files     the file as the body, its name in
                                    X-File-Name (UTF-8, percent-encoded)
    GET  /api/chats/TOKEN/files/ID  a file of this chat, as an attachment
    GET  /api/files/ID?expires=T&signature=S   the same by a signed link

Answers carry CORS headers: the widget runs on customers' own origins and
authenticates with the chat token alone, never with cookies.
"""

import functools
import json
import re
from itertools import accumulate
from urllib.parse import unquote

from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import failure
from twisted.web import resource, server

from werkzeug.exceptions import MethodNotAllowed, NotFound

from mcc.routing.errors import (
    BadFileName,
    BadLink,
    EmptyFile,
    FileTooLarge,
    FileTypeNotAllowed,
    NotYourChat,
    UnknownFile,
)
from mcc.routing.chats import (
    ChatError,
    InvalidCursor,
    UnknownChat,
    UnknownTarget,
    Unavailable,
    UnsendableText,
    Visitor,
    check_sendable,
    sendable,
)
from mcc.throttle import Throttle
from mcc.web import ClientAddress
from mcc.web import attachment as _attachment

log = Logger()

MAX_BODY_BYTES = 64 * 1024
MAX_MESSAGE_SIZE = 4000
"""
Characters in a visitor's question or message unless C{--max-message-size}
says otherwise.
"""
TYPING_STATES = ("composing", "paused")
FIELD_LIMIT = 200
PAGE_LIMIT = 2000
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
"""
What a message's own name may be: what the widget makes (random, URL-safe).
"""
MAX_JSON_DEPTH = 8
"""
How deeply a request's JSON may nest; what the widget sends nests once.
"""
JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')

_STATUS = {
    UnknownChat: 404,
    UnknownTarget: 404,
    Unavailable: 409,
    UnsendableText: 400,
    InvalidCursor: 400,
    FileTooLarge: 413,
    EmptyFile: 400,
    BadFileName: 400,
    FileTypeNotAllowed: 415,
    UnknownFile: 404,
    NotYourChat: 403,
    BadLink: 403,
}

HOT_REQUESTS = [
    (b"GET", re.compile(rb"/api/chats/[^/?#]+/events(\?[^#]*)?")),
    (b"POST", re.compile(rb"/api/chats/[^/?#]+/(messages|typing|seen)")),
]
"""
The visitor API's requests of every moment of a chat, as mounted under
C{/api}: its long polls and what the visitor sends.  They are left out of
the access log when they succeed (see L{mcc.web.quiet_log}).
"""

UPLOAD_PATH = re.compile(rb"/api/chats/[^/?#]+/files(\?[^#]*)?")
"""
The raw path of an upload, as mounted under C{/api}: the one route whose
body may be as large as a file (see L{mcc.web.bounded_request}).
"""


class BadRequest(Exception):
    """
    @param field: the request field at fault, named in the answer.
    @param details: more of the answer's JSON, for the widget to use.
    """

    def __init__(self, status, reason, message, field=None, **details):
        Exception.__init__(self, message)
        self.status = status
        self.reason = reason
        self.field = field
        self.details = details


def json_depth(raw):
    """
    How deeply the arrays and objects of the JSON text C{raw} nest, found
    without parsing it: what is inside strings does not count.
    """
    brackets = JSON_STRINGS.sub(b"", raw).translate(None, delete=b"".join(
        bytes([byte]) for byte in range(256) if byte not in b"[]{}"
    ))
    return max(accumulate(1 if byte in b"[{" else -1 for byte in brackets), default=0)


def _event_json(event):
    return dict(event.data, seq=event.seq, kind=event.kind, at=event.at)


class _UTF8Paths(resource.Resource):
    """
    Klein's resource behind a check that its path is UTF-8: Klein answers
    any other with an HTML page and logs a traceback; visitors get JSON.

    The requests of every moment of a chat (L{HOT_ROUTES}: its polls and
    what the visitor sends) go straight to their handler, without the
    route matching of Klein and werkzeug; any other path, and any of
    theirs that is not plainly one of them (an escaped token, a method of
    another route), goes through Klein.
    """

    isLeaf = True

    def __init__(self, routes, api=None):
        resource.Resource.__init__(self)
        self.routes = routes
        self.hot = {} if api is None else {
            (method, name): getattr(api, handler) for (method, name), handler in HOT_ROUTES.items()
        }

    def render(self, request):
        path = request.postpath
        if len(path) == 3 and path[0] == b"chats":
            handler = self.hot.get((request.method, path[2]))
            token = path[1]
            if handler is not None and token and b"%" not in token:
                try:
                    token = token.decode("utf-8")
                except UnicodeDecodeError:
                    pass
                else:
                    return _render_hot(request, handler, token)
        try:
            b"/".join(request.postpath).decode("utf-8")
        except UnicodeDecodeError:
            request.setResponseCode(400)
            request.setHeader(b"access-control-allow-origin", b"*")
            request.setHeader(b"content-type", b"application/json")
            body = {"error": "invalid-field", "message": "the path is not UTF-8", "field": "path"}
            return json.dumps(body).encode("utf-8")
        return self.routes.render(request)


HOT_ROUTES = {
    (b"GET", b"events"): "events",
    (b"POST", b"messages"): "message",
    (b"POST", b"typing"): "typing",
    (b"POST", b"seen"): "seen",
}
"""
C{(method, last path segment) -> VisitorAPI method} of the routes under
C{/chats/TOKEN/} that L{_UTF8Paths} dispatches itself.
"""


def _render_hot(request, handler, token):
    """
    Answer C{request} with what C{handler(request, token)} gives, as Klein
    would: bytes at once; a Deferred's bytes when it fires, cancelled when
    the client goes away first; a 500 for anything unexpected.
    """
    try:
        result = handler(request, token)
    except KeyError:
        result = handler.__self__._not_found(request, None)
    except Exception:
        request.processingFailed(failure.Failure())
        return server.NOT_DONE_YET
    if isinstance(result, bytes):
        return result
    gone = []
    request.notifyFinish().addErrback(lambda reason: (gone.append(reason), result.cancel()))

    def answer(body):
        if not gone:
            request.setHeader(b"content-length", b"%d" % len(body))
            request.write(body)
            request.finish()

    def failed(reason):
        if not gone:
            request.processingFailed(reason)
        elif not reason.check(defer.CancelledError):
            log.failure("Visitor API request failed after its client left", reason)

    result.addCallbacks(answer, failed)
    return server.NOT_DONE_YET


class _VisitorKlein(Klein):
    def resource(self):
        return _UTF8Paths(Klein.resource(self), self._instance)


class VisitorAPI:
    app = _VisitorKlein()

    def __init__(
        self, chats, clock, trusted_proxies, max_message_size, start_limit,
        max_json_depth=MAX_JSON_DEPTH, files=None,
    ):
        """
        @param max_json_depth: how deeply a request's JSON may nest.
        @param files: the L{mcc.routing.interfaces.IChatFiles}, or C{None}
            when chats carry no files.
        """
        self.chats = chats
        self.files = files
        self.client_ip = ClientAddress(trusted_proxies)
        self.max_message_size = max_message_size
        self.max_json_depth = max_json_depth
        limit, window = start_limit
        self.start_throttle = Throttle(clock, limit, window)

    def lean_routes(self, mount):
        """
        C{(method, raw path) -> render or None} for L{mcc.web.BoundedSite}'s
        lean connections: the L{HOT_ROUTES} of this API mounted at C{mount}
        (such as C{b"/api"}), with the tokens L{_UTF8Paths} would give them.
        """
        prefix = mount.rstrip(b"/") + b"/chats/"
        hot = {
            (method, name): getattr(self, handler) for (method, name), handler in HOT_ROUTES.items()
        }

        def route(method, path):
            if not path.startswith(prefix):
                return None
            token, _, name = path[len(prefix):].partition(b"/")
            handler = hot.get((method, name))
            if handler is None or not token or b"%" in token:
                return None
            try:
                token = token.decode("utf-8")
            except UnicodeDecodeError:
                return None
            return functools.partial(_render_hot, handler=handler, token=token)

        return route

    # Plumbing

    def _answer(self, request, status, body):
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode("utf-8")

    def _fail(self, request, status, reason, message, field=None, **details):
        # A poll of a chat forgotten since is routine, not worth a line each.
        level = log.debug if reason == "unknown-chat" else log.info
        level(
            "Visitor API request refused: {status} {error} from {address}",
            status=status, error=reason, address=self.client_ip(request),
        )
        body = dict(details, error=reason, message=message)
        if field is not None:
            body["field"] = field
        return self._answer(request, status, body)

    def _guarded(self, request, action):
        try:
            return action()
        except BadRequest as problem:
            return self._fail(
                request, problem.status, problem.reason, str(problem), problem.field,
                **problem.details,
            )
        except ChatError as problem:
            return self._fail(
                request, _STATUS.get(type(problem), 409), problem.reason, str(problem),
                getattr(problem, "field", None),
            )

    def _json_body(self, request):
        raw = request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise BadRequest(413, "too-large", f"requests are limited to {MAX_BODY_BYTES} bytes")
        # No deeper than it has brackets: most bodies need no closer look.
        openers = raw.count(b"{") + raw.count(b"[")
        if openers > self.max_json_depth and json_depth(raw) > self.max_json_depth:
            raise BadRequest(
                400, "invalid-json", f"the body nests deeper than {self.max_json_depth} levels"
            )
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
            raise BadRequest(400, "invalid-field", f"{name!r} must be a string", name)
        check_sendable(**{name: value})
        value = " ".join(value.split()) if one_line else value.strip()
        if required and not value:
            raise BadRequest(400, "missing-field", f"{name!r} is required", name)
        if len(value) > limit:
            raise BadRequest(
                413, "too-large", f"{name!r} is limited to {limit} characters", name, limit=limit
            )
        return value

    @classmethod
    def _target(cls, body):
        """
        The C{queue} or the C{user} a new chat is for, as keyword arguments.
        """
        given = {name: body.get(name) for name in ("queue", "user") if isinstance(body.get(name), str)}
        if len(given) != 1:
            raise BadRequest(400, "missing-field", "give one of 'queue' and 'user'")
        ((name, value),) = given.items()
        return {name: cls._text_field(body, name, required=True)}

    @staticmethod
    def _message_id(body):
        """
        The visitor's own name for a message, C{None} when not given.
        """
        value = body.get("id")
        if value is not None and not (isinstance(value, str) and MESSAGE_ID.fullmatch(value)):
            raise BadRequest(
                400, "invalid-field", "'id' is 8 to 64 letters, digits, '-' and '_'", "id"
            )
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
        request.setHeader(b"access-control-allow-headers", b"content-type, x-file-name")
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
            available = self.chats.widget_availability(queue=queue, user=user)
            return self._answer(request, 200, {"available": available})

        return self._guarded(request, check)

    @app.route("/chats", methods=["POST"])
    def start(self, request):
        self._cors(request)

        def start_chat():
            ip = _shown(self.client_ip(request), 100)
            if self.start_throttle.blocked(ip):
                raise BadRequest(429, "too-many-chats", "too many new chats from this address; try later")
            body = self._json_body(request)
            target = self._target(body)
            fields = {name: self._text_field(body, name, one_line=True) for name in ("name", "email")}
            question = self._text_field(body, "question", limit=self.max_message_size)
            visitor = Visitor(
                question=question,
                ip=ip,
                page=self._text_field(body, "page", limit=PAGE_LIMIT, one_line=True)
                or _header_text(request, b"referer", PAGE_LIMIT),
                referrer=self._text_field(body, "referrer", limit=PAGE_LIMIT, one_line=True),
                user_agent=_header_text(request, b"user-agent", 500),
                **fields,
            )
            chat = self.chats.start(visitor, **target)
            self.start_throttle.record(ip)
            return self._answer(request, 201, {"token": chat.token, "state": chat.state})

        return self._guarded(request, start_chat)

    @app.route("/chats/<token>/messages", methods=["POST"])
    def message(self, request, token):
        self._cors(request)

        def post():
            body = self._json_body(request)
            text = self._text_field(body, "text", required=True, limit=self.max_message_size)
            posted = self.chats.visitor_posts(token, text, self._message_id(body))
            return self._answer(request, 202, {"seq": posted.seq, "follows": posted.follows})

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

    @app.route("/chats/<token>/seen", methods=["POST"])
    def seen(self, request, token):
        """
        The widget showed the chat up to event C{seq} while the visitor was
        looking: operators who asked hear that their messages were displayed.
        """
        self._cors(request)

        def post():
            seq = self._json_body(request).get("seq")
            if type(seq) is not int:
                raise BadRequest(400, "invalid-field", "'seq' is a sequence number")
            self.chats.visitor_displayed(token, seq)
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


    # Files

    def _files(self):
        if self.files is None:
            raise BadRequest(404, "not-found", "this server takes no files")
        return self.files

    @app.route("/chats/<token>/files", methods=["POST"])
    def upload(self, request, token):
        """
        A file from the visitor: the body is the file itself, what C{fetch}
        sends for a C{File}; refused on its declared length before the
        rest is looked at.
        """
        self._cors(request)

        def post():
            files = self._files()
            chat = self.chats.chat(token)
            name = _file_name(request)
            length = _content_length(request)
            files.check(chat.id, name, length, token=token)
            stored = files.send(chat.id, name, request.content, length, token=token)
            return self._answer(request, 201, _file_json(stored))

        return self._guarded(request, post)

    @app.route("/chats/<token>/files/<file_id>", methods=["GET"])
    def download(self, request, token, file_id):
        self._cors(request)

        def get():
            chat = self.chats.chat(token)
            return _attachment(request, *self._files().open(chat.id, file_id, token=token))

        return self._guarded(request, get)

    @app.route("/files/<file_id>", methods=["GET"])
    def signed_download(self, request, file_id):
        """
        A file by the signed link its operator got.
        """
        self._cors(request)

        def get():
            expires, signature = (_query_text(request, name) for name in (b"expires", b"signature"))
            return _attachment(request, *self._files().open_signed(file_id, expires, signature))

        return self._guarded(request, get)


def _file_json(stored):
    return {"id": stored.id, "name": stored.name, "size": stored.size, "type": stored.content_type}


def _file_name(request):
    raw = request.getHeader(b"x-file-name")
    if raw is None:
        raise BadRequest(400, "missing-field", "give the file's name in X-File-Name", "name")
    try:
        return unquote(raw.decode("ascii"), errors="strict")
    except UnicodeError:
        raise BadRequest(
            400, "invalid-field", "X-File-Name is UTF-8, percent-encoded", "name"
        ) from None


def _content_length(request):
    raw = request.getHeader(b"content-length")
    try:
        return None if raw is None else int(raw)
    except ValueError:
        raise BadRequest(400, "invalid-field", "Content-Length is a number") from None


def _query_text(request, name):
    """
    The query argument C{name} as text, C{None} when absent.
    """
    value = request.args.get(name, [None])[0]
    if value is None:
        return None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "invalid-field", f"{name.decode()!r} is not UTF-8", name.decode()) from None
    if len(text) > FIELD_LIMIT:
        raise BadRequest(400, "invalid-field", f"{name.decode()!r} is too long", name.decode())
    return text


def _header_text(request, name, limit):
    """
    What the browser sent in header C{name}, as text an operator can be shown.
    """
    return _shown((request.getHeader(name) or b"").decode("latin-1"), limit)


def _shown(text, limit):
    """
    Up to C{limit} characters of C{text}, on one line, as text an operator
    can be shown.
    """
    return " ".join(sendable(text[:limit]).split())
