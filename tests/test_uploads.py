"""
HTTP upload (XEP-0363): slots, their signed and expiring put addresses and
the quota, driven by a Clock; then slixmpp's xep_0363 over real sockets,
with a real PUT and GET on the HTTP port, and an upload an operator sends
into a guest chat reaching the visitor as a file.
"""

import asyncio
import io
import stat
import sys
import types
from urllib.parse import parse_qs, urlsplit

import pytest
import treq

from mcc.routing import errors
from mcc.routing.uploads import SlotSweeper, Uploads
from tests.conftest import asyncio_test
from tests.test_routing_files import World
from tests.visitor_client import Visitor, wait
from tests.xmpp_client import login

SECRET = b"u" * 32


class UploadWorld(World):
    def __init__(self, tmp_path, **options):
        World.__init__(self, tmp_path)
        ids = (f"slot{n:04d}" + "s" * 20 for n in range(1000))
        self.uploads = Uploads(
            self.store, self.files, self.clock, lambda: next(ids), SECRET,
            lambda: "https://chat.example", 1000, **options,
        )


@pytest.fixture
def world(tmp_path):
    return UploadWorld(tmp_path, quota=2500)


def signed(put):
    query = parse_qs(urlsplit(put).query)
    return query["expires"][0], query["signature"][0]


def put(world, slot, url, data, content_type="image/png"):
    return world.uploads.put(slot.id, *signed(url), len(data), content_type, io.BytesIO(data))


def test_a_slot_is_put_once_and_read_back(world):
    slot, put_url, get_url = world.uploads.request_slot("ann", "photo.png", 4, "image/png")
    assert get_url == f"https://chat.example/upload/{slot.id}/photo.png"
    assert put_url.startswith(get_url + "?expires=300&signature=")
    stored = put(world, slot, put_url, b"\x89PNG")
    assert stored.stored_at == 0
    assert world.uploads.open(slot.id, "photo.png") == (stored, b"\x89PNG")
    mode = (world.directory / slot.id).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    with pytest.raises(errors.UploadMismatch):
        put(world, slot, put_url, b"\x89PNG")
    with pytest.raises(errors.UnknownFile):
        world.uploads.open(slot.id, "other.png")


def test_the_put_address_expires_on_the_clock(world):
    slot, put_url, _ = world.uploads.request_slot("ann", "photo.png", 4, "image/png")
    world.clock.advance(299)
    assert world.uploads.check_put(slot.id, *signed(put_url), 4, "image/png") == slot
    world.clock.advance(1)
    with pytest.raises(errors.BadLink, match="expired"):
        put(world, slot, put_url, b"\x89PNG")
    assert world.on_disk() == []


def test_the_put_must_be_what_the_slot_was_given_for(world):
    slot, put_url, _ = world.uploads.request_slot("ann", "photo.png", 4, "image/png")
    expires, signature = signed(put_url)
    with pytest.raises(errors.BadLink):
        world.uploads.check_put(slot.id, expires, signature[:-1] + "0", 4, "image/png")
    with pytest.raises(errors.BadLink):
        world.uploads.check_put(slot.id, str(int(expires) + 600), signature, 4, "image/png")
    with pytest.raises(errors.FileTooLarge):
        world.uploads.check_put(slot.id, expires, signature, 5, "image/png")
    with pytest.raises(errors.UploadMismatch):
        world.uploads.check_put(slot.id, expires, signature, 3, "image/png")
    with pytest.raises(errors.UploadMismatch):
        world.uploads.check_put(slot.id, expires, signature, 4, "text/html")
    # A body longer than it said is cut off and leaves nothing behind.
    with pytest.raises(errors.FileTooLarge):
        world.uploads.put(slot.id, expires, signature, 4, "image/png", io.BytesIO(b"12345"))
    assert world.on_disk() == []


def test_size_limit_and_quota_count_pending_slots(world):
    with pytest.raises(errors.FileTooLarge):
        world.uploads.request_slot("ann", "big.pdf", 1001)
    with pytest.raises(errors.EmptyFile):
        world.uploads.request_slot("ann", "empty.pdf", 0)
    with pytest.raises(errors.BadFileName):
        world.uploads.request_slot("ann", "../etc/passwd", 10)
    slot, put_url, _ = world.uploads.request_slot("ann", "a.pdf", 1000, "application/pdf")
    put(world, slot, put_url, b"a" * 1000, "application/pdf")
    world.uploads.request_slot("ann", "b.pdf", 1000)
    with pytest.raises(errors.QuotaExceeded, match="500 bytes left"):
        world.uploads.request_slot("ann", "c.pdf", 1000)
    world.uploads.request_slot("bob", "c.pdf", 1000)  # Quotas are per account.
    # The unused slot stops counting once it expires.
    world.clock.advance(300)
    assert world.uploads.forget_unused() == 2
    world.uploads.request_slot("ann", "c.pdf", 1000)


def test_the_sweeper_forgets_the_slots_never_put_to(world):
    sweeper = SlotSweeper(world.uploads, world.clock)
    sweeper.startService()
    unused, _, _ = world.uploads.request_slot("ann", "a.pdf", 1000)
    used, put_url, _ = world.uploads.request_slot("ann", "b.pdf", 3, "application/pdf")
    put(world, used, put_url, b"pdf", "application/pdf")
    world.clock.advance(299)
    assert world.uploads.store.uploads.get(unused.id) is not None
    world.clock.advance(300)  # The next sweep after the slot expired.
    assert world.uploads.store.uploads.get(unused.id) is None
    assert world.uploads.store.uploads.get(used.id) is not None
    sweeper.stopService()


def test_only_the_owners_upload_of_this_server_is_shared(world):
    chat = world.active_chat()
    slot, put_url, get_url = world.uploads.request_slot("ann", "plan.pdf", 3, "application/pdf")
    assert world.uploads.share(chat.guest, "ann", get_url) is None  # Not put yet.
    put(world, slot, put_url, b"pdf", "application/pdf")
    assert world.uploads.upload_at("bob", get_url) is None
    assert world.uploads.upload_at("ann", "https://elsewhere.example" + urlsplit(get_url).path) is None
    assert world.uploads.upload_at("ann", put_url) is None
    sent = world.uploads.share(chat.guest, "ann", get_url)
    (event,) = [e for e in world.store.chats.events_after(chat.id, 0) if e.kind == "file"]
    assert event.data == {
        "id": sent.id, "name": "plan.pdf", "size": 3, "type": "application/pdf", "from": "operator",
    }
    assert world.files.open(chat.id, sent.id, token=chat.token)[1] == b"pdf"


# Over real sockets.


class TreqSession:
    """
    Enough of aiohttp's C{ClientSession} for slixmpp's xep_0363 to put
    through treq, when aiohttp is not installed.
    """

    def __init__(self, headers=None):
        self.headers = headers or {}

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    async def put(self, url, data, headers):
        # treq declares the length of what it sends itself.
        headers = {k: v for k, v in {**self.headers, **headers}.items() if k.lower() != "content-length"}
        response = await wait(treq.put(url, data=data.read(), headers=headers))
        body = await wait(treq.content(response))

        class Response:
            status = response.code

            async def text(self):
                return body.decode("utf-8", "replace")

            def close(self):
                pass

        return Response()


@pytest.fixture
def http_upload(monkeypatch):
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        monkeypatch.setitem(sys.modules, "aiohttp", types.SimpleNamespace(ClientSession=TreqSession))
    return ("xep_0066", "xep_0128", "xep_0363")


async def operator(server, name, plugins):
    server.add_user(name, f"{name}-pw", display_name=name.title())
    return await login(server, f"{name}@localhost/phone", f"{name}-pw", plugins=plugins)


@asyncio_test
async def test_slixmpp_uploads_and_anyone_downloads(server, http_upload, tmp_path):
    alice = await operator(server, "alice", http_upload)
    try:
        data = bytes(range(256)) * 40
        source = tmp_path / "scan.png"
        source.write_bytes(data)
        url = await alice["xep_0363"].upload_file(source, content_type="image/png")
        assert alice["xep_0363"].max_file_size == server.config.max_file_size
        assert url.startswith(f"{server.http_url}/upload/") and url.endswith("/scan.png")
        response = await wait(treq.get(url))
        assert await wait(treq.content(response)) == data
        headers = response.headers
        assert headers.getRawHeaders("content-disposition") == [
            "inline; filename=\"scan.png\"; filename*=UTF-8''scan.png"
        ]
        assert headers.getRawHeaders("x-content-type-options") == ["nosniff"]
        assert headers.getRawHeaders("content-type") == ["image/png"]
        head = await wait(treq.head(url))
        assert (head.code, head.headers.getRawHeaders("content-length")) == (200, [str(len(data))])
        assert (await wait(treq.get(url.replace("scan.png", "other.png")))).code == 404
        files = server.config.data_dir / "files"
        assert [p.stat().st_mode & 0o777 for p in files.iterdir()] == [0o600]
    finally:
        await alice.close()


@asyncio_test
async def test_over_size_slot_and_quota_are_refused(server, http_upload):
    from slixmpp.exceptions import IqError

    alice = await operator(server, "alice", http_upload)
    try:
        info = await alice["xep_0363"].find_upload_service()
        assert info["from"].full == "localhost"
        with pytest.raises(IqError) as refused:
            await alice["xep_0363"].request_slot(
                info["from"], "huge.zip", server.config.max_file_size + 1, "application/zip"
            )
        error = refused.value.iq["error"]
        assert error["condition"] == "not-acceptable"
        too_large = error.xml.find("{urn:xmpp:http:upload:0}file-too-large")
        assert too_large.find("{urn:xmpp:http:upload:0}max-file-size").text == str(
            server.config.max_file_size
        )
        server.xmpp.uploads.quota = 5000
        await alice["xep_0363"].request_slot(info["from"], "a.zip", 3000, "application/zip")
        with pytest.raises(IqError) as refused:
            await alice["xep_0363"].request_slot(info["from"], "b.zip", 3000, "application/zip")
        assert refused.value.iq["error"]["condition"] == "resource-constraint"
    finally:
        await alice.close()


async def raw_put(server, url, length, content_type="application/zip"):
    """
    The status line a PUT of C{length} declared bytes gets before any of
    its body is sent.
    """
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.http_port)
    writer.write(
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nhost: localhost\r\n"
        f"content-type: {content_type}\r\ncontent-length: {length}\r\n\r\n".encode()
    )
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return line.split(b" ")[1]


@asyncio_test
async def test_a_put_is_refused_from_its_head(server, http_upload):
    alice = await operator(server, "alice", http_upload)
    try:
        info = await alice["xep_0363"].find_upload_service()
        iq = await alice["xep_0363"].request_slot(info["from"], "a.zip", 3000, "application/zip")
        put_url = iq["http_upload_slot"]["put"]["url"]
        assert await raw_put(server, put_url, 3001) == b"413"
        assert await raw_put(server, put_url, 3000, "text/html") == b"403"
        assert await raw_put(server, put_url.replace("signature=", "signature=0"), 3000) == b"403"
        assert await raw_put(server, put_url, server.config.max_file_size + 1) == b"413"
    finally:
        await alice.close()


@asyncio_test
async def test_an_upload_sent_into_a_guest_chat_reaches_the_visitor_as_a_file(
    server, http_upload, tmp_path
):
    from tests.test_chat_end_to_end import has_body, message_matching

    alice = await operator(server, "alice", http_upload)
    visitor = Visitor(server)
    try:
        code, body = await visitor.start(user="alice", name="Vera", question="The invoice?")
        assert code == 201, body
        guest = (await message_matching(alice, has_body("New chat for alice")))["from"].bare
        alice.send_message(mto=guest, mbody="Here it comes", mtype="chat")
        await visitor.events_until("message", "Here it comes")
        source = tmp_path / "invoice.pdf"
        source.write_bytes(b"%PDF-1.4 invoice")
        url = await alice["xep_0363"].upload_file(source, content_type="application/pdf")
        message = alice.make_message(mto=guest, mbody=url, mtype="chat")
        message["oob"]["url"] = url
        message.send()
        events = await asyncio.wait_for(visitor.events_until("file"), 30)
        (file,) = [e for e in events if e["kind"] == "file"]
        assert (file["name"], file["size"], file["from"]) == ("invoice.pdf", 16, "operator")
        assert not [e for e in events if e["kind"] == "message" and "upload" in e.get("text", "")]
        response = await wait(
            treq.get(f"{server.http_url}/api/chats/{visitor.token}/files/{file['id']}")
        )
        assert await wait(treq.content(response)) == b"%PDF-1.4 invoice"
        # Another server's address stays words.
        elsewhere = "https://files.example.org/upload/abc/invoice.pdf"
        alice.send_message(mto=guest, mbody=elsewhere, mtype="chat")
        await asyncio.wait_for(visitor.events_until("message", elsewhere), 30)
    finally:
        await alice.close()
