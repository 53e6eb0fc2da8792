"""
Tests for L{mcc.lean_http}: a L{mcc.web.BoundedSite} with lean routes, over
real loopback sockets.  The lean routes answer what twisted.web's resource
tree answers differently, so each test tells who answered.
"""

import asyncio
import contextlib
import io
import json
import re

from twisted.internet import defer
from twisted.web import resource, server

from mcc.lean_http import INTERNAL_ERROR, LeanChannel
from mcc.web import BoundedSite, quiet_log
from mcc.widget.visitor_api import VisitorAPI
from tests.conftest import asyncio_test
from tests.test_web import closed, connection, read_response

HEADER_TIMEOUT = 0.5


class Tree(resource.Resource):
    """
    twisted.web's side: answers every path with C{tree} and what it read.
    """

    isLeaf = True

    def render(self, request):
        if request.path == b"/big":
            return b"x" * BIG
        return b"tree " + request.method + b" " + request.content.read()


BIG = 32 * 1024 * 1024


class Lean:
    """
    The lean routes of the tests, under C{/api/chats/}: C{quick}, C{echo}
    (POST), C{poll} (answered by L{answer}), C{boom} (raises).
    """

    def __init__(self):
        self.polls = []
        self.gone = []

    def __call__(self, method, path):
        return {
            (b"GET", b"/api/chats/t/quick"): self.quick,
            (b"POST", b"/api/chats/t/echo"): self.echo,
            (b"GET", b"/api/chats/t/poll"): self.poll,
            (b"GET", b"/api/chats/t/boom"): self.boom,
        }.get((method, path))

    def quick(self, request):
        request.setHeader(b"x-lean", b"yes")
        return b"lean " + request.args.get(b"after", [b"-"])[0]

    def echo(self, request):
        request.setResponseCode(202)
        return b"lean echo " + request.content.read()

    def poll(self, request):
        self.polls.append(request)
        request.notifyFinish().addErrback(self.gone.append)
        return server.NOT_DONE_YET

    def answer(self):
        request = self.polls.pop(0)
        request.write(b"lean polled")
        request.finish()

    def boom(self, request):
        raise RuntimeError("the handler failed")


@contextlib.asynccontextmanager
async def listening(lean, **options):
    from twisted.internet import reactor

    site = BoundedSite(Tree(), reactor, header_timeout=HEADER_TIMEOUT, lean=lean, **options)
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    try:
        yield site, port.getHost().port
    finally:
        await defer.maybeDeferred(port.stopListening).asFuture(asyncio.get_running_loop())


async def response_head(reader):
    async with asyncio.timeout(5):
        head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], dict(line.lower().split(": ", 1) for line in lines[1:] if line)


async def until(condition, timeout=5):
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


GET_QUICK = b"GET /api/chats/t/quick?after=7 HTTP/1.1\r\nhost: localhost\r\n\r\n"


@asyncio_test
async def test_a_lean_route_is_answered_without_twisted_web():
    async with listening(Lean()) as (site, port), connection(port) as (reader, writer):
        writer.write(GET_QUICK)
        status_line, headers = await response_head(reader)
        assert status_line == "HTTP/1.1 200 OK"
        assert headers == {"x-lean": "yes", "content-length": "6"}
        assert await reader.readexactly(6) == b"lean 7"


@asyncio_test
async def test_kept_alive_and_pipelined_requests_are_answered_in_order():
    async with listening(Lean()) as (_, port), connection(port) as (reader, writer):
        writer.write(GET_QUICK)
        assert await read_response(reader) == (200, b"lean 7")
        body = b'{"text": "hi"}'
        post = b"POST /api/chats/t/echo HTTP/1.1\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        writer.write(post + GET_QUICK.replace(b"7", b"8") + post)
        assert await read_response(reader) == (202, b"lean echo " + body)
        assert await read_response(reader) == (200, b"lean 8")
        assert await read_response(reader) == (202, b"lean echo " + body)


@asyncio_test
async def test_a_body_that_comes_in_pieces_is_read_whole():
    async with listening(Lean()) as (_, port), connection(port) as (reader, writer):
        writer.write(b"POST /api/chats/t/echo HTTP/1.1\r\ncont")
        await asyncio.sleep(0.05)
        writer.write(b"ent-length: 10\r\n\r\n01234")
        await asyncio.sleep(0.05)
        writer.write(b"56789")
        assert await read_response(reader) == (202, b"lean echo 0123456789")


@asyncio_test
async def test_twisted_web_answers_a_plain_request_that_is_not_lean_and_then_gives_back():
    async with listening(Lean()) as (_, port), connection(port) as (reader, writer):
        writer.write(GET_QUICK)
        assert await read_response(reader) == (200, b"lean 7")
        # Another path, then a lean one pipelined behind it: twisted.web gets
        # the first one's bytes only.
        writer.write(b"GET /elsewhere HTTP/1.1\r\nhost: localhost\r\n\r\n" + GET_QUICK)
        assert await read_response(reader) == (200, b"tree GET ")
        assert await read_response(reader) == (200, b"lean 7")
        # A body of its own, in pieces, with a lean request behind it.
        writer.write(b"POST /elsewhere HTTP/1.1\r\ncontent-length: 10\r\n\r\n01234")
        await asyncio.sleep(0.05)
        writer.write(b"56789" + GET_QUICK)
        assert await read_response(reader) == (200, b"tree POST 0123456789")
        assert await read_response(reader) == (200, b"lean 7")


@asyncio_test
async def test_an_answer_the_client_is_slow_to_take_leaves_twisted_web_the_connection():
    async with listening(Lean()) as (_, port), connection(port) as (reader, writer):
        writer.write(b"GET /big HTTP/1.1\r\n\r\n" + GET_QUICK)
        await asyncio.sleep(0.2)
        assert await read_response(reader, timeout=30) == (200, b"x" * BIG)
        # Whoever reads it, the request behind it is answered.
        status, body = await read_response(reader)
        assert (status, body) in [(200, b"lean 7"), (200, b"tree GET ")]
        writer.write(GET_QUICK)
        assert (await read_response(reader))[0] == 200


@asyncio_test
async def test_after_a_request_that_is_not_plain_twisted_web_keeps_the_connection():
    chunked = (
        b"POST /api/chats/t/echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    )
    async with listening(Lean()) as (_, port), connection(port) as (reader, writer):
        writer.write(chunked + GET_QUICK)
        assert await read_response(reader) == (200, b"tree POST hello")
        assert await read_response(reader) == (200, b"tree GET ")


@asyncio_test
async def test_what_is_not_plain_goes_to_twisted_web():
    chunked = (
        b"POST /api/chats/t/echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    )
    cases = [
        chunked,
        b"GET /api/chats/t/quick HTTP/1.0\r\n\r\n",
        b"GET /api/chats/t/quick HTTP/1.1\r\nconnection: close\r\n\r\n",
        b"GET /api/chats/t/quick HTTP/1.1\r\nx-folded: a\r\n b\r\n\r\n",
        b"POST /api/chats/t/quick HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
        b"POST /api/chats/t/echo HTTP/1.1\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nhi",
        b"POST /api/chats/t/echo HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\nhi",
    ]
    async with listening(Lean()) as (_, port):
        for request in cases:
            async with connection(port) as (reader, writer):
                writer.write(request)
                status, body = await read_response(reader)
                if status == 100:
                    status, body = await read_response(reader)
                # twisted.web answers, or refuses what it finds wrong.
                assert body.startswith(b"tree") or status == 400, request


@asyncio_test
async def test_a_declared_body_above_the_limit_is_refused_by_twisted_web():
    async with listening(Lean()) as (site, port), connection(port) as (reader, writer):
        writer.write(
            b"POST /api/chats/t/echo HTTP/1.1\r\ncontent-length: %d\r\n\r\n" % (site.max_lean_body + 1)
        )
        assert await read_response(reader) == (413, b"")
        assert await closed(reader)


@asyncio_test
async def test_a_long_poll_is_answered_later_and_the_connection_goes_on():
    lean = Lean()
    async with listening(lean) as (_, port), connection(port) as (reader, writer):
        writer.write(b"GET /api/chats/t/poll HTTP/1.1\r\n\r\n")
        await until(lambda: lean.polls)
        # Longer than the head's deadline: answering has no deadline.
        await asyncio.sleep(HEADER_TIMEOUT * 1.5)
        lean.answer()
        assert await read_response(reader) == (200, b"lean polled")
        writer.write(GET_QUICK)
        assert await read_response(reader) == (200, b"lean 7")
        # Then the next head has its deadline again.
        assert await read_response(reader, timeout=HEADER_TIMEOUT + 5) == (408, b"")
        assert await closed(reader)


@asyncio_test
async def test_a_head_dripped_slower_than_the_timeout_is_cut_off():
    async with listening(Lean()) as (_, port), connection(port) as (reader, writer):
        writer.write(GET_QUICK[:10])
        assert await read_response(reader, timeout=HEADER_TIMEOUT + 5) == (408, b"")
        assert await closed(reader)


@asyncio_test
async def test_a_client_leaving_during_a_poll_is_noticed():
    lean = Lean()
    async with listening(lean) as (site, port):
        async with connection(port) as (_, writer):
            writer.write(b"GET /api/chats/t/poll HTTP/1.1\r\n\r\n")
            await until(lambda: lean.polls)
        await until(lambda: lean.gone)
        await until(lambda: not site._open)
        # Answering it afterwards writes nothing and fails nothing.
        lean.answer()


@asyncio_test
async def test_a_handler_that_fails_gets_a_500_and_the_connection_goes_on():
    async with listening(Lean()) as (_, port), connection(port) as (reader, writer):
        writer.write(b"GET /api/chats/t/boom HTTP/1.1\r\n\r\n")
        status, body = await read_response(reader)
        assert status == 500
        assert json.loads(body)["error"] == "internal-error"
        writer.write(GET_QUICK)
        assert await read_response(reader) == (200, b"lean 7")


@asyncio_test
async def test_lean_and_handed_over_connections_count_once_against_the_cap():
    async with listening(Lean(), max_connections_per_address=2) as (site, port):
        async with connection(port, "127.0.0.6") as (reader, writer):
            writer.write(GET_QUICK)
            assert await read_response(reader) == (200, b"lean 7")
            async with connection(port, "127.0.0.6") as (reader2, writer2):
                writer2.write(b"GET /elsewhere HTTP/1.1\r\n\r\n")
                assert await read_response(reader2) == (200, b"tree GET ")
                assert site._open["127.0.0.6"] == 2
                async with connection(port, "127.0.0.6") as (reader3, _):
                    assert await read_response(reader3) == (429, b"")
        await until(lambda: "127.0.0.6" not in site._open)


@asyncio_test
async def test_only_failed_lean_requests_reach_the_quiet_access_log():
    quiet = [(b"GET", re.compile(rb"/api/chats/[^/?#]+/(quick|boom)(\?[^#]*)?"))]
    async with listening(Lean(), logged=quiet_log(quiet)) as (site, port):
        site._logFile = io.StringIO()
        site._logFormatter = lambda now, request: (
            f"{request.getClientAddress().host} {request.method.decode()} {request.uri.decode()}"
            f" {request.clientproto.decode()} {request.code} {request.sentLength}"
        )
        async with connection(port) as (reader, writer):
            writer.write(GET_QUICK + b"GET /api/chats/t/boom HTTP/1.1\r\n\r\n")
            await read_response(reader)
            await read_response(reader)
        lines = site._logFile.getvalue().splitlines()
    assert lines == [f"127.0.0.1 GET /api/chats/t/boom HTTP/1.1 500 {len(INTERNAL_ERROR)}"]


def test_a_site_without_lean_routes_builds_twisted_webs_channel():
    from twisted.internet import reactor
    from twisted.internet.address import IPv4Address

    address = IPv4Address("TCP", "127.0.0.1", 4000)
    assert not isinstance(BoundedSite(Tree(), reactor).buildProtocol(address), LeanChannel)
    assert isinstance(BoundedSite(Tree(), reactor, lean=Lean()).buildProtocol(address), LeanChannel)


def test_the_visitor_apis_lean_routes_are_its_hot_routes_under_its_mount():
    api = VisitorAPI(None, None, (), 1000, (10, 60))
    route = api.lean_routes(b"/api")
    for method, path in [
        (b"GET", b"/api/chats/t0k3n/events"),
        (b"POST", b"/api/chats/t0k3n/messages"),
        (b"POST", b"/api/chats/t0k3n/typing"),
        (b"POST", b"/api/chats/t0k3n/seen"),
        (b"GET", "/api/chats/t\u00f6ken/events".encode()),
    ]:
        assert route(method, path) is not None, path
    for method, path in [
        (b"POST", b"/api/chats/t0k3n/events"),
        (b"GET", b"/api/chats/t0k3n/messages"),
        (b"POST", b"/api/chats/t0k3n/end"),
        (b"POST", b"/api/chats"),
        (b"GET", b"/api/chats//events"),
        (b"GET", b"/api/chats/t%30k3n/events"),
        (b"GET", b"/api/chats/t0k3n/events/more"),
        (b"GET", b"/api/chats/\xff/events"),
        (b"GET", b"/other/chats/t0k3n/events"),
    ]:
        assert route(method, path) is None, path
