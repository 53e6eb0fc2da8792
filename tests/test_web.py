"""
Tests for L{mcc.web.BoundedSite} over real loopback sockets: a request's
head must arrive in time, answering may take long, and one address may hold
only so many connections.
"""

import asyncio
import contextlib
import io
from types import SimpleNamespace

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.web import resource, server

from mcc.web import BoundedSite, quiet_log
from mcc.widget.visitor_api import HOT_REQUESTS
from tests.conftest import asyncio_test

HEADER_TIMEOUT = 0.5
LIMIT = 3
QUICK = b"GET /quick HTTP/1.1\r\nhost: localhost\r\n\r\n"


class Quick(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"ok"


class LongPoll(resource.Resource):
    """
    Answers after C{delay} seconds, as the visitor API's long polls do.
    """

    isLeaf = True

    def __init__(self, reactor, delay):
        resource.Resource.__init__(self)
        self._reactor = reactor
        self._delay = delay

    def render_GET(self, request):
        def answer():
            request.setHeader(b"content-length", b"6")
            request.write(b"waited")
            request.finish()

        self._reactor.callLater(self._delay, answer)
        return server.NOT_DONE_YET


@contextlib.asynccontextmanager
async def listening(**limits):
    from twisted.internet import reactor

    root = resource.Resource()
    root.putChild(b"quick", Quick())
    root.putChild(b"poll", LongPoll(reactor, 3 * HEADER_TIMEOUT))
    site = BoundedSite(root, reactor, header_timeout=HEADER_TIMEOUT, **limits)
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    try:
        yield port.getHost().port
    finally:
        await defer.maybeDeferred(port.stopListening).asFuture(asyncio.get_running_loop())


async def connect(port, source="127.0.0.1"):
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def read_response(reader, timeout=5):
    """
    One response: its status code and body (by content-length).
    """
    async with asyncio.timeout(timeout):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(lines[0].split()[1]), body


async def closed(reader, timeout=5):
    async with asyncio.timeout(timeout):
        return await reader.read() == b""


@contextlib.asynccontextmanager
async def connection(port, source="127.0.0.1"):
    reader, writer = await connect(port, source)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@asyncio_test
async def test_a_head_dripped_slower_than_the_timeout_is_cut_off():
    loop = asyncio.get_running_loop()
    async with listening() as port, connection(port) as (reader, writer):
        started = loop.time()
        answer = asyncio.ensure_future(read_response(reader, timeout=HEADER_TIMEOUT + 5))
        for byte in QUICK[:-2]:
            if answer.done():
                break
            writer.write(bytes([byte]))
            await asyncio.wait([answer], timeout=HEADER_TIMEOUT / 10)
        assert await answer == (408, b"")
        assert HEADER_TIMEOUT - 0.05 <= loop.time() - started < HEADER_TIMEOUT + 1
        assert await closed(reader)


@asyncio_test
async def test_a_silent_connection_is_closed_after_the_timeout():
    async with listening() as port, connection(port) as (reader, _):
        assert await read_response(reader, timeout=HEADER_TIMEOUT + 5) == (408, b"")
        assert await closed(reader)


@asyncio_test
async def test_a_long_poll_may_take_longer_than_the_head_timeout():
    async with listening() as port, connection(port) as (reader, writer):
        writer.write(b"GET /poll HTTP/1.1\r\nhost: localhost\r\n\r\n")
        assert await read_response(reader) == (200, b"waited")
        # The connection stays usable for a next request.
        writer.write(QUICK)
        assert await read_response(reader) == (200, b"ok")


@asyncio_test
async def test_an_idle_kept_alive_connection_gets_the_timeout_for_its_next_head():
    loop = asyncio.get_running_loop()
    async with listening() as port, connection(port) as (reader, writer):
        writer.write(QUICK + QUICK)  # pipelined: both served
        assert await read_response(reader) == (200, b"ok")
        assert await read_response(reader) == (200, b"ok")
        answered = loop.time()
        assert await read_response(reader, timeout=HEADER_TIMEOUT + 5) == (408, b"")
        assert loop.time() - answered >= HEADER_TIMEOUT - 0.05


@asyncio_test
async def test_connections_per_address_are_capped():
    async with listening(max_connections_per_address=LIMIT) as port:
        async with contextlib.AsyncExitStack() as stack:
            held = [await stack.enter_async_context(connection(port, "127.0.0.3"))
                    for _ in range(LIMIT)]
            async with connection(port, "127.0.0.3") as (reader, _):
                assert await read_response(reader) == (429, b"")
                assert await closed(reader)
            async with connection(port, "127.0.0.4") as (reader, writer):
                writer.write(QUICK)
                assert await read_response(reader) == (200, b"ok")
            reader, writer = held[0]
            writer.write(QUICK)
            assert await read_response(reader) == (200, b"ok")
            writer.close()
            await closed(reader)
            for _ in range(20):
                async with connection(port, "127.0.0.3") as (reader, writer):
                    writer.write(QUICK)
                    status, _ = await read_response(reader)
                if status == 200:
                    break
                await asyncio.sleep(0.05)
            assert status == 200


@pytest.mark.parametrize("proxies, expected", [(["127.0.0.5/32"], 200), ([], 429)])
@asyncio_test
async def test_trusted_proxies_are_not_capped(proxies, expected):
    async with listening(max_connections_per_address=LIMIT, trusted_proxies=proxies) as port:
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(LIMIT):
                await stack.enter_async_context(connection(port, "127.0.0.5"))
            async with connection(port, "127.0.0.5") as (reader, writer):
                writer.write(QUICK)
                assert (await read_response(reader))[0] == expected


def logged_lines(logged, *requests):
    """
    The access log's lines of C{requests}, (method, URI, code) triples, on a
    site that logs what C{logged} lets through.
    """
    site = BoundedSite(Quick(), Clock(), logged=logged)
    site._logFile = io.StringIO()
    site._logDateTime = "now"
    site._logFormatter = lambda now, request: f"{request.method.decode()} {request.uri.decode()} {request.code}"
    for method, uri, code in requests:
        site.log(SimpleNamespace(method=method, uri=uri, code=code))
    return site._logFile.getvalue().splitlines()


def test_the_visitor_apis_successful_polls_and_messages_are_not_logged():
    lines = logged_lines(
        quiet_log(HOT_REQUESTS),
        (b"GET", b"/api/chats/t0k3n/events?after=4", 200),
        (b"GET", b"/api/chats/t0k3n/events", 200),
        (b"POST", b"/api/chats/t0k3n/messages", 202),
        (b"POST", b"/api/chats/t0k3n/typing", 204),
        (b"POST", b"/api/chats/t0k3n/seen", 204),
        (b"GET", b"/api/chats/t0k3n/events?after=4", 404),
        (b"POST", b"/api/chats/t0k3n/messages", 400),
        (b"POST", b"/api/chats", 201),
        (b"POST", b"/api/chats/t0k3n/end", 200),
        (b"POST", b"/api/chats/t0k3n/events", 200),
        (b"GET", b"/api/chats/t0k3n/files/f1", 200),
        (b"GET", b"/admin/", 200),
        (b"GET", b"/api/chats/t0k3n/events/more", 200),
    )
    assert lines == [
        "GET /api/chats/t0k3n/events?after=4 404",
        "POST /api/chats/t0k3n/messages 400",
        "POST /api/chats 201",
        "POST /api/chats/t0k3n/end 200",
        "POST /api/chats/t0k3n/events 200",
        "GET /api/chats/t0k3n/files/f1 200",
        "GET /admin/ 200",
        "GET /api/chats/t0k3n/events/more 200",
    ]


def test_by_default_a_site_logs_every_request():
    site = BoundedSite(Quick(), Clock())
    assert site.logged(SimpleNamespace(method=b"GET", uri=b"/api/chats/t/events", code=200))
