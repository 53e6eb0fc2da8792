"""
Chat files over the visitor API through a real loopback socket: a file goes
each way and downloads intact, an oversize one is refused early and leaves
nothing on disk, and another chat's token cannot download it.
"""

import asyncio
import contextlib
import io
import itertools
import os
from urllib.parse import quote

import treq
from twisted.internet import defer
from twisted.web import server
from twisted.web.resource import Resource

from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts, Visitor
from mcc.routing.files import ChatFiles
from mcc.store import Store
from mcc.web import bounded_request
from mcc.widget.visitor_api import UPLOAD_PATH, VisitorAPI
from tests.conftest import asyncio_test
from tests.test_routing_chats import RecordingChannel
from tests.visitor_client import wait

LIMIT = 2 * 1024 * 1024
"""
Above the 1 MiB every other route is held to.
"""


@contextlib.asynccontextmanager
async def serving(tmp_path):
    from twisted.internet import reactor

    store = Store.open(":memory:")
    store.users.add("ann", "pw", now=0, display_name="Ann")
    availability = Availability()
    counter = itertools.count()
    chats = ChatService(
        store, availability, {"sales": ["ann"]}.__getitem__, reactor,
        lambda: f"{next(counter):04d}tok" + "z" * 28,
        Timeouts(answer=60, visitor=90, poll=25, reconnect=30),
    )
    chats.channel = RecordingChannel()
    chats.startService()
    availability.resource_available("ann", "desk")
    files = ChatFiles(store, chats, tmp_path / "files", reactor,
                      lambda: os.urandom(16).hex(), b"secret", max_size=LIMIT)
    root = Resource()
    root.putChild(b"api", VisitorAPI(chats, reactor, (), 4000, (10, 60.0), files=files).app.resource())
    site = server.Site(root, requestFactory=bounded_request([(b"POST", UPLOAD_PATH, LIMIT)]))
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    world = type("World", (), {})()
    world.chats, world.files, world.channel = chats, files, chats.channel
    world.url = f"http://127.0.0.1:{port.getHost().port}/api"
    world.port = port.getHost().port
    world.directory = tmp_path / "files"
    try:
        yield world
    finally:
        chats.stopService()
        await wait(defer.maybeDeferred(port.stopListening))


def active_chat(world, name):
    chat = world.chats.start(Visitor(name=name), queue="sales")
    world.chats.operator_says(chat.guest, "ann", "Hello")
    return chat


async def upload(url, token, name, data):
    response = await wait(treq.post(
        f"{url}/chats/{token}/files", data=data,
        headers={"X-File-Name": quote(name), "Content-Type": "application/octet-stream"},
    ))
    return response.code, await wait(treq.json_content(response))


async def download(url):
    response = await wait(treq.get(url))
    return response, await wait(treq.content(response))


@asyncio_test
async def test_a_file_goes_each_way_and_downloads_intact(tmp_path):
    async with serving(tmp_path) as world:
        chat = active_chat(world, "Vi")
        data = bytes(range(256)) * (6 * 1024)  # 1.5 MiB: above the usual body limit
        code, body = await upload(world.url, chat.token, "Résumé \"final\".pdf", data)
        assert code == 201, body
        assert (body["name"], body["size"], body["type"]) == ('Résumé "final".pdf', len(data), "application/pdf")

        # The operator's signed link, as their XMPP client shows it.
        notice = world.channel.calls[-1][2]
        link = notice.split()[-1]
        response, got = await download(f"http://127.0.0.1:{world.port}{link}")
        assert response.code == 200 and got == data
        headers = response.headers
        assert headers.getRawHeaders("content-type") == ["application/pdf"]
        assert headers.getRawHeaders("x-content-type-options") == ["nosniff"]
        assert headers.getRawHeaders("content-disposition") == [
            "attachment; filename=\"R_sum_ _final_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf"
        ]
        response, got = await download(f"{world.url}/chats/{chat.token}/files/{body['id']}")
        assert response.code == 200 and got == data

        # The other way: the operator's file, which the visitor's poll announces.
        sent = bytes(reversed(data[:300000]))
        stored = world.files.send(chat.id, "plan.zip", io.BytesIO(sent), operator="ann")
        response = await wait(treq.get(f"{world.url}/chats/{chat.token}/events?after=0"))
        events = (await wait(treq.json_content(response)))["events"]
        (announced,) = [e for e in events if e["kind"] == "file" and e["from"] == "operator"]
        assert announced["id"] == stored.id and announced["size"] == len(sent)
        response, got = await download(f"{world.url}/chats/{chat.token}/files/{stored.id}")
        assert response.code == 200 and got == sent
        assert response.headers.getRawHeaders("content-type") == ["application/zip"]

        # Another chat's token finds nothing.
        other = active_chat(world, "Other")
        response, got = await download(f"{world.url}/chats/{other.token}/files/{stored.id}")
        assert response.code == 404
        response, got = await download(f"{world.url}/chats/{other.token}/files/{body['id']}")
        assert response.code == 404


@asyncio_test
async def test_an_oversize_upload_is_refused_early_and_leaves_nothing(tmp_path):
    async with serving(tmp_path) as world:
        chat = active_chat(world, "Vi")
        reader, writer = await asyncio.open_connection("127.0.0.1", world.port)
        try:
            writer.write(
                f"POST /api/chats/{chat.token}/files HTTP/1.1\r\nhost: localhost\r\n"
                f"x-file-name: big.pdf\r\ncontent-length: {LIMIT + 1}\r\n\r\n".encode()
            )
            writer.write(b"x" * 1000)  # far from all of it
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 413")
                assert await reader.read() == b""
        finally:
            writer.close()
        # Nothing reached the files folder; and what the routing layer
        # refuses leaves nothing there either.
        assert sorted(world.directory.iterdir()) == []
        code, body = await upload(world.url, chat.token, "empty.pdf", b"")
        assert (code, body["error"]) == (400, "empty-file")
        code, body = await upload(world.url, chat.token, "../../x.pdf", b"data")
        assert (code, body["error"]) == (400, "invalid-file-name")
        code, body = await upload(world.url, chat.token, "page.html", b"<script>")
        assert (code, body["error"]) == (415, "file-type-not-allowed")
        assert sorted(world.directory.iterdir()) == []
        # Other routes keep the usual limit.
        response = await wait(treq.post(f"{world.url}/chats/{chat.token}/messages",
                                        data=b"x" * (1024 * 1024 + 1)))
        assert response.code == 413
