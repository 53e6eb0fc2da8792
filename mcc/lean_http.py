# -*- test-case-name: tests.test_lean_http -*-
"""
The HTTP/1.1 requests of every moment of a chat (a visitor's long polls and
messages) read and answered without twisted.web's generic machinery.

twisted.web hands each header line through several layers, builds a
C{Request} with producers, sessions and form parsing, and writes a
response's head and body apart: about half of what a visitor's message
cost the service under a profiler.  A L{LeanChannel} reads each request's head itself: one of the
site's lean routes is answered through a L{LeanRequest}, head and body in
one write; any other request whose end the head tells (HTTP/1.1, a body of
a declared length, no transfer coding, C{Expect} or C{Upgrade}) is given to
a twisted.web channel, exactly its bytes, and the connection reads on once
it is answered; at the first request that is not plain, twisted.web keeps
the connection for good, with every byte not yet handled, so that what is
not plain gets twisted.web's full treatment, errors included.
"""

import io
import re
from urllib.parse import parse_qs

from twisted.internet import defer, protocol
from twisted.internet.interfaces import ITCPTransport
from twisted.logger import Logger
from twisted.python import failure
from twisted.web import http, server

from mcc.transports import write_durably

log = Logger()

MAX_HEAD = 16384
"""
The largest request head read here, as twisted.web's own limit: a larger one
goes to twisted.web, which refuses it.
"""

MAX_HEADERS = 100
"""
More header lines than this, and twisted.web reads the request.
"""

HELD = 65536
"""
How much a client may send while its request is being answered (a
pipelined request) before the connection stops reading.
"""

_HEADER_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ \t]*[^\x00-\x08\x0a-\x1f\x7f]*")
"""
A header line as RFC 9110 writes it: a token, a colon, a value of visible
characters, spaces and tabs.  Anything else (obsolete line folding, control
characters, a space before the colon) is twisted.web's to judge.
"""

_PASSED_ON = frozenset({b"transfer-encoding", b"expect", b"upgrade"})
"""
Headers that ask for more than a body of a declared length answered once.
"""

_ONCE = frozenset({b"content-length", b"host"})
"""
Headers that may be sent only once; twisted.web judges a repeated one.
"""

REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"

INTERNAL_ERROR = b'{"error": "internal-error", "message": "the server failed to answer"}'


class LeanRequest:
    """
    The part of L{twisted.web.server.Request} that the lean routes' handlers
    use, and what the access log reads.
    """

    clientproto = b"HTTP/1.1"

    def __init__(self, channel, method, uri, path, query, headers, body):
        self.channel = channel
        self.method = method
        self.uri = uri
        self.path = path
        self._query = query
        self._headers = headers
        self.content = io.BytesIO(body)
        self.code = http.OK
        self.code_message = None
        self.sentLength = 0
        self.finished = False
        self._response_headers = {}
        self._body = []
        self._finish_waiters = []
        self._args = None

    @property
    def args(self):
        if self._args is None:
            self._args = parse_qs(self._query, keep_blank_values=True)
        return self._args

    def getHeader(self, name):
        return self._headers.get(name.lower())

    def getClientAddress(self):
        return self.channel.peer

    def setResponseCode(self, code, message=None):
        self.code = code
        self.code_message = message

    def setHeader(self, name, value):
        if isinstance(name, str):
            name = name.encode("ascii")
        if isinstance(value, str):
            value = value.encode("utf-8")
        self._response_headers[name.lower()] = value

    def write(self, data):
        if not self.finished:
            self._body.append(data)

    def notifyFinish(self):
        if self.finished:
            return defer.succeed(None)
        waiter = defer.Deferred()
        self._finish_waiters.append(waiter)
        return waiter

    def processingFailed(self, reason):
        log.failure("{method} {uri} failed", reason, method=self.method, uri=self.uri)
        self._body = [INTERNAL_ERROR]
        self.setResponseCode(http.INTERNAL_SERVER_ERROR)
        self.setHeader(b"content-type", b"application/json")
        self.finish()

    def finish(self):
        """
        Write the response, its head and body in one piece, and let the
        channel read the next request.
        """
        if self.finished:
            return
        self.finished = True
        body = b"".join(self._body)
        self._body = None
        self._response_headers.pop(b"content-length", None)
        reason = self.code_message or http.RESPONSES.get(self.code, b"Unknown Status")
        head = [b"HTTP/1.1 %d %s\r\n" % (self.code, reason)]
        head.extend(b"%s: %s\r\n" % item for item in self._response_headers.items())
        head.append(b"content-length: %d\r\n\r\n" % len(body))
        self.sentLength = len(body)
        if self.channel.connected:
            write_durably(self.channel.site.group_commit, self.channel.transport, b"".join(head) + body)
        waiters, self._finish_waiters = self._finish_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        self.channel.request_done(self)

    def connection_lost(self, reason):
        """
        The client went away before the answer: whoever waits for it is told.
        """
        self.finished = True
        waiters, self._finish_waiters = self._finish_waiters, []
        for waiter in waiters:
            waiter.errback(reason)


class LeanChannel(protocol.Protocol):
    """
    One HTTP connection of a L{mcc.web.BoundedSite}.  Its requests are read
    here: those of the site's lean routes are answered here, any other
    plain one by twisted.web's channel (made for that request and given
    exactly its bytes), and from the first one that is not plain (a
    chunked or unbounded body, C{Expect}, C{Upgrade}, HTTP/1.0, a head
    twisted.web must judge) twisted.web's channel reads the connection for
    good.

    @ivar lean: C{(method, path) -> render or None}, where C{render(request)}
        answers as a resource's C{render} does: bytes, or
        C{server.NOT_DONE_YET} and later C{request.finish()}.
    """

    connected = False
    _generic = None
    _handed_over = False
    _generic_left = 0
    _request = None
    _head = None
    _deadline = None
    _paused = False
    _reading = False
    counted_as = None

    def __init__(self, site, addr, lean):
        self.site = site
        self.addr = addr
        self.lean = lean
        self._buffer = b""

    @property
    def peer(self):
        return self.addr

    def connectionMade(self):
        self.connected = True
        if ITCPTransport.providedBy(self.transport):
            # As twisted.web's channel does: each answer is one write.
            self.transport.setTcpNoDelay(True)
        self._await_head()

    def dataReceived(self, data):
        if self._generic_left:
            given, data = data[:self._generic_left], data[self._generic_left:]
            self._generic_left -= len(given)
            self._generic.dataReceived(given)
            if not data:
                return
        if self._handed_over:
            self._generic.dataReceived(data)
            return
        self._buffer += data
        if self._request is None and self._generic is None:
            self._read_requests()
        elif len(self._buffer) > HELD and not self._paused:
            self._paused = True
            self.transport.pauseProducing()

    def connectionLost(self, reason=protocol.connectionDone):
        self.connected = False
        self._stop_waiting()
        if self._generic is not None:
            self._generic.connectionLost(reason)
        elif self._request is not None:
            request, self._request = self._request, None
            request.connection_lost(reason)
        self.site.connection_closed(self)

    # Reading

    def _read_requests(self):
        if self._reading:
            return
        self._reading = True
        try:
            while self.connected and self._generic is None and self._request is None:
                if not self._read_one():
                    return
        finally:
            self._reading = False

    def _read_one(self):
        """
        Answer the request at the start of the buffer, or give it to
        twisted.web, if its head is all there; whether it was.
        """
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    self._hand_over()
                return False
            head = _plain_head(self._buffer[:end])
            if head is None:
                self._hand_over()
                return False
            render = self.lean(head[0], head[2])
            if render is None:
                self._hand_over(end + 4 + head[5])
                # Answered already (and released), or still being answered.
                return self._generic is None
            if head[5] > self.site.max_lean_body:
                self._hand_over()
                return False
            self._stop_waiting()
            self._head = (end + 4, render, head)
        start, render, (method, uri, path, query, headers, length) = self._head
        if len(self._buffer) < start + length:
            return False
        body = self._buffer[start:start + length]
        self._buffer = self._buffer[start + length:]
        self._head = None
        self._request = request = LeanRequest(self, method, uri, path, query, headers, body)
        try:
            result = render(request)
        except Exception:
            request.processingFailed(failure.Failure())
        else:
            if result is not server.NOT_DONE_YET:
                request.write(result)
                request.finish()
        return True

    def _hand_over(self, size=None):
        """
        Give twisted.web the next C{size} bytes, one request that is not
        lean, or with C{None} the whole connection from here on.
        """
        self._stop_waiting()
        channel = self.site.generic_channel(self.addr)
        self._generic = channel
        if size is None:
            self._handed_over = True
            given, self._buffer = self._buffer, b""
        else:
            channel.lean_channel = self
            given, self._buffer = self._buffer[:size], self._buffer[size:]
            self._generic_left = size - len(given)
        channel.makeConnection(self.transport)
        if given:
            channel.dataReceived(given)

    def generic_done(self, channel):
        """
        twisted.web answered the request it was given: read on, unless it
        still waits for the client to take its answer (then it keeps the
        connection).
        """
        if channel is not self._generic or self._handed_over or not self.connected:
            return
        if channel._waitingForTransport:
            self._handed_over = True
            if self._paused:
                self._paused = False
                self.transport.resumeProducing()
            buffered, self._buffer = self._buffer, b""
            if buffered:
                channel.dataReceived(buffered)
            return
        channel.release()
        self._generic = None
        self._continue()

    def request_done(self, request):
        if request is not self._request:
            return
        self._request = None
        if self.site.logged(request):
            self.site.log(request)
        if self.connected:
            self._continue()

    def _continue(self):
        self._await_head()
        if self._paused:
            self._paused = False
            self.transport.resumeProducing()
        if self._buffer:
            self._read_requests()

    # The head's deadline

    def _await_head(self):
        self._stop_waiting()
        self._deadline = self.site.reactor.callLater(self.site.header_timeout, self._head_too_slow)

    def _stop_waiting(self):
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _head_too_slow(self):
        self._deadline = None
        self.transport.write(REQUEST_TIMEOUT)
        self.transport.loseConnection()


def _plain_head(head):
    """
    C{(method, uri, path, query, headers, body length)} of a request head
    whose request is plainly delimited (HTTP/1.1, a body of a declared
    length or none), else C{None}.
    """
    if len(head) > MAX_HEAD or head.count(b"\r") != head.count(b"\n"):
        return None
    lines = head.split(b"\r\n")
    if len(lines) > MAX_HEADERS + 1:
        return None
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or not parts[0].isalpha():
        return None
    method, uri, _ = parts
    path, _, query = uri.partition(b"?")
    headers = {}
    for line in lines[1:]:
        if _HEADER_LINE.fullmatch(line) is None:
            return None
        name, _, value = line.partition(b":")
        name = name.lower()
        if name in _PASSED_ON or (name in _ONCE and name in headers):
            return None
        headers[name] = value.strip(b" \t")
    connection = headers.get(b"connection")
    if connection is not None and connection.lower() != b"keep-alive":
        return None
    length = headers.get(b"content-length", b"0")
    if not (length.isdigit() and length.isascii()):
        return None
    return method, uri, path, query, headers, int(length)
