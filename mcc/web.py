# -*- test-case-name: tests.test_web,tests.test_visitor_api,tests.test_admin -*-
"""
What the HTTP sides (the visitor API, the admin site) share about requests:
who sent them, how large they may be, how long their head may take, and how
many connections one address may hold.
"""

import collections
import ipaddress
from urllib.parse import quote

from twisted.internet import protocol
from twisted.web import http, server

from mcc.lean_http import REQUEST_TIMEOUT, LeanChannel


class ClientAddress:
    """
    C{request -> address} of the browser behind a request.  Behind a proxy
    every request comes from the proxy, so X-Forwarded-For counts, but only
    when sent by one of C{trusted_proxies} (networks such as
    C{"10.0.0.0/8"}): anyone else could forge it.
    """

    def __init__(self, trusted_proxies=()):
        self.trusted_proxies = [ipaddress.ip_network(p) for p in trusted_proxies]

    def __call__(self, request):
        peer = request.getClientAddress().host
        forwarded = request.getHeader(b"x-forwarded-for")
        if not forwarded or not self._trusted(peer):
            return peer
        for hop in reversed([h.strip() for h in forwarded.decode("latin-1").split(",")]):
            if not self._trusted(hop):
                return hop
        return peer

    def trusts(self, address):
        """
        Whether C{address} is one of the trusted proxies.
        """
        return self._trusted(address)

    def _trusted(self, address):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)


MAX_REQUEST_BODY = 1024 * 1024
"""
The largest request body mcc reads: far above any form or API call, and
low enough that nobody can make it buffer gigabytes.
"""

TOO_LARGE = b"HTTP/1.1 413 Content Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
REFUSED = b"HTTP/1.1 %d %s\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


NOT_FORMS = frozenset({b"application/json", b"application/octet-stream", b"text/plain"})
"""
Body types that are surely no form, told from the C{Content-Type}'s
first word alone.
"""


def _declared_type(headers):
    """
    The lowercased media type (parameters left out) of the C{Content-Type}
    in C{headers}, or C{None}: a cheap look, enough to tell L{NOT_FORMS}.
    """
    declared = headers.getRawHeaders(b"content-type")
    if not declared:
        return None
    return declared[0].split(b";", 1)[0].strip().lower()


class BoundedRequest(server.Request):
    """
    A request whose body may be at most C{max_body} bytes: a larger one,
    declared or sent in chunks, is answered 413 and the connection closed
    before more of it is kept.
    """

    max_body = MAX_REQUEST_BODY
    larger_bodies = ()
    """
    C{(method, path pattern, limit)} for the few routes that take more
    than C{max_body} (file uploads); the pattern matches the raw path,
    query included.
    """
    body_checks = ()
    """
    C{(method, path pattern, check)} for routes that can refuse a body
    from the request's head: C{check(raw path, headers, length)} returns
    the status refusing it, or C{None} to read it.
    """
    refused = False

    def gotLength(self, length):
        self._body_bytes = 0
        self.max_body = self._body_limit()
        if length is not None and length > self.max_body:
            self._refuse()
        elif (status := self._head_refusal(length)) is not None:
            self._refuse(REFUSED % (status, http.RESPONSES.get(status, b"Refused")))
        else:
            server.Request.gotLength(self, length)

    def _head_refusal(self, length):
        method = getattr(self.channel, "_command", None)
        path = getattr(self.channel, "_path", None)
        for route_method, pattern, check in self.body_checks:
            if method == route_method and path is not None and pattern.fullmatch(path):
                return check(path, self.requestHeaders, length)
        return None

    def handleContentChunk(self, data):
        self._body_bytes += len(data)
        if self._body_bytes > self.max_body:
            self._refuse()
        elif not self.refused:
            server.Request.handleContentChunk(self, data)

    def requestReceived(self, command, path, version):
        if self.refused:
            return
        if _declared_type(self.requestHeaders) in NOT_FORMS:
            # Twisted parses every POST's Content-Type (through
            # email.headerregistry) to find forms: not for these.
            self._parsePOSTFormSubmission = False
        server.Request.requestReceived(self, command, path, version)

    def _body_limit(self):
        """
        The limit for this request's route.  Its body is about to come,
        before C{requestReceived}: the request line is still the channel's.
        """
        method = getattr(self.channel, "_command", None)
        path = getattr(self.channel, "_path", None)
        for route_method, pattern, limit in self.larger_bodies:
            if method == route_method and path is not None and pattern.fullmatch(path):
                return limit
        return type(self).max_body

    def _refuse(self, response=TOO_LARGE):
        if self.refused:
            return
        self.refused = True
        if self.content is not None:
            self.content.close()
            self.content = None
        self.channel.transport.write(response)
        self.channel.loseConnection()


def bounded_request(larger_bodies, body_checks=()):
    """
    A L{BoundedRequest} that lets the routes of C{larger_bodies} (see
    L{BoundedRequest.larger_bodies}) take bodies up to their own limit,
    and C{body_checks} (L{BoundedRequest.body_checks}) refuse theirs early.
    """
    return type(
        "BoundedRequest", (BoundedRequest,),
        {"larger_bodies": tuple(larger_bodies), "body_checks": tuple(body_checks)},
    )


HEADER_TIMEOUT = 20.0
"""
Seconds a client has to send a request's head (request line and headers),
from connecting or from the end of its previous response: a browser sends
it at once, and a client dripping it byte by byte holds a socket for
nothing.  Answering may take longer (the visitor API's long polls).
"""

MAX_CONNECTIONS_PER_ADDRESS = 64
"""
How many HTTP connections one address may hold open: a browser opens six or
so per site, and many visitors may share one NAT address.
"""

TOO_MANY_CONNECTIONS = (
    b"HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
)


class BoundedChannel(http.HTTPChannel):
    """
    An HTTP/1.1 connection that must send each request's head within the
    site's C{header_timeout}, or is answered 408 and closed.
    """

    _head_deadline = None
    lean_channel = None
    """
    The L{mcc.lean_http.LeanChannel} that gave this channel one request,
    if one did.
    """

    def connectionMade(self):
        http.HTTPChannel.connectionMade(self)
        self._await_head()

    def _await_head(self):
        self._stop_waiting()
        self._head_deadline = self.callLater(self.site.header_timeout, self._head_too_slow)

    def _stop_waiting(self):
        if self._head_deadline is not None and self._head_deadline.active():
            self._head_deadline.cancel()
        self._head_deadline = None

    def _head_too_slow(self):
        self._head_deadline = None
        self.transport.write(REQUEST_TIMEOUT)
        self.transport.loseConnection()

    def allHeadersReceived(self):
        self._stop_waiting()
        http.HTTPChannel.allHeadersReceived(self)

    def requestDone(self, request):
        # Before the base class goes on with what the client sent meanwhile:
        # a next head already there stops the clock at once.
        if self.persistent:
            self._await_head()
        http.HTTPChannel.requestDone(self, request)
        if self.lean_channel is not None and self.persistent and not self.requests:
            self.lean_channel.generic_done(self)

    def release(self):
        """
        Leave the connection to the L{mcc.lean_http.LeanChannel} that gave
        this channel its one request, now answered.
        """
        self._stop_waiting()
        self.setTimeout(None)
        self.transport.unregisterProducer()
        self.lean_channel = None

    def write(self, data):
        self._before_writing()
        http.HTTPChannel.write(self, data)

    def writeSequence(self, iovec):
        self._before_writing()
        http.HTTPChannel.writeSequence(self, iovec)

    def _before_writing(self):
        # What twisted.web writes may tell of a write of this turn (a chat
        # started, a message sent from the web client), and its socket may
        # be written before the turn ends: the store commits first.
        group = self.site.group_commit
        if group is not None and group.pending:
            group.commit()

    def connectionLost(self, reason):
        self._stop_waiting()
        http.HTTPChannel.connectionLost(self, reason)
        self.site.connection_closed(self)


class _Refusal(protocol.Protocol):
    """
    Answers 429 at once and hangs up: one connection too many.
    """

    def connectionMade(self):
        self.transport.write(TOO_MANY_CONNECTIONS)
        self.transport.loseConnection()


class BoundedSite(server.Site):
    """
    A site of L{BoundedRequest}s over L{BoundedChannel}s, at most
    C{max_connections_per_address} open at once from one address.

    The trusted proxies (see L{ClientAddress}) are not capped: their
    connections carry many browsers, which only the proxy can tell apart
    before a request's head arrives.
    """

    protocol = BoundedChannel
    max_lean_body = MAX_REQUEST_BODY
    group_commit = None
    """
    The store's L{mcc.store.GroupCommit} when its writes of a turn share a
    transaction: answers wait for it.
    """

    def __init__(
        self,
        resource,
        clock,
        header_timeout=HEADER_TIMEOUT,
        max_connections_per_address=MAX_CONNECTIONS_PER_ADDRESS,
        trusted_proxies=(),
        requestFactory=BoundedRequest,
        logged=lambda request: True,
        lean=None,
    ):
        """
        @param logged: whether a finished request gets a line in the
            access log (see L{quiet_log}).
        @param lean: C{(method, raw path) -> render or None}: the routes
            that connections read and answer without twisted.web while
            their requests are plain (see L{mcc.lean_http}).
        """
        server.Site.__init__(self, resource, requestFactory=requestFactory, reactor=clock)
        self.logged = logged
        self.lean = lean
        self.header_timeout = header_timeout
        self.max_connections_per_address = max_connections_per_address
        self._proxies = ClientAddress(trusted_proxies)
        self._open = collections.Counter()

    def buildProtocol(self, addr):
        host = addr.host
        if self._proxies.trusts(host):
            host = None
        elif self._open[host] >= self.max_connections_per_address:
            refusal = _Refusal()
            refusal.factory = self
            return refusal
        if self.lean is None:
            channel = server.Site.buildProtocol(self, addr)
        else:
            channel = LeanChannel(self, addr, self.lean)
            channel.factory = self
        channel.counted_as = host
        if host is not None:
            self._open[host] += 1
        return channel

    def generic_channel(self, addr):
        """
        twisted.web's channel for a connection a L{LeanChannel} hands over,
        which counts it already.
        """
        channel = server.Site.buildProtocol(self, addr)
        channel.counted_as = None
        return channel

    def log(self, request):
        if self.logged(request):
            server.Site.log(self, request)

    def connection_closed(self, channel):
        host = channel.counted_as
        if host is None:
            return
        self._open[host] -= 1
        if not self._open[host]:
            del self._open[host]


def quiet_log(quiet):
    """
    Whether a request goes to the access log: all but the successful ones
    of C{quiet}, pairs of a method and a compiled pattern of the whole raw
    URI.  The visitor API's polls and messages, a few each second for each
    chat, would cost a line each.
    """

    def logged(request):
        if request.code >= 300:
            return True
        return not any(
            request.method == method and pattern.fullmatch(request.uri)
            for method, pattern in quiet
        )

    return logged


def content_disposition(how, name):
    """
    The C{Content-Disposition} header (C{how}: attachment or inline) that
    names a file C{name}: an ASCII fallback, and the name itself in UTF-8
    (RFC 6266).
    """
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in name)
    return f"{how}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}".encode("ascii")


def attachment(request, stored, data):
    """
    The bytes of a file, as a download the browser neither shows nor
    guesses the type of.
    """
    request.setResponseCode(200)
    request.setHeader(b"content-type", stored.content_type.encode("ascii"))
    request.setHeader(b"content-disposition", content_disposition("attachment", stored.name))
    request.setHeader(b"x-content-type-options", b"nosniff")
    request.setHeader(b"content-security-policy", b"sandbox; default-src 'none'")
    request.setHeader(b"cache-control", b"private, no-store")
    request.setHeader(b"access-control-expose-headers", b"content-disposition")
    return data
