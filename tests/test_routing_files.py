"""
Tests for L{mcc.routing.files}: limits, refusals, who may download, signed
links that expire, and purging, driven by a Clock.
"""

import io
import itertools
import stat

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from mcc.routing import errors
from mcc.routing.availability import Availability
from mcc.routing.chats import ChatOver, ChatService, Timeouts, UnknownChat, Visitor
from mcc.routing.files import ChatFiles
from mcc.routing.interfaces import IChatFiles
from mcc.store import Store
from tests.test_routing_chats import RecordingChannel

QUEUES = {"sales": ["ann", "bob"]}
SECRET = b"s" * 32


class Reader:
    """
    A body that counts how much of it was read.
    """

    def __init__(self, data):
        self.source = io.BytesIO(data)
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = self.source.read(size)
        self.read_bytes += len(chunk)
        return chunk


class World:
    def __init__(self, tmp_path, **options):
        self.store = Store.open(":memory:")
        for name in ("ann", "bob"):
            self.store.users.add(name, "pw", now=0, display_name=name.title())
        self.clock = Clock()
        self.availability = Availability()
        counter = itertools.count()
        self.chats = ChatService(
            self.store, self.availability, QUEUES.__getitem__, self.clock,
            lambda: f"{next(counter):04d}tok" + "x" * 28, Timeouts(answer=60, visitor=9000, poll=25, reconnect=30),
        )
        self.chats.channel = RecordingChannel()
        self.chats.startService()
        ids = (f"file{n:04d}" + "f" * 20 for n in itertools.count())
        self.directory = tmp_path / "files"
        self.files = ChatFiles(
            self.store, self.chats, self.directory, self.clock, lambda: next(ids), SECRET,
            base_url=lambda: "https://chat.example", **options,
        )

    def active_chat(self, name="Vi"):
        self.availability.resource_available("ann", "desk")
        chat = self.chats.start(Visitor(name=name), queue="sales")
        self.chats.operator_says(chat.guest, "ann", "Hello")
        self.chats.channel.take()
        return self.store.chats.by_id(chat.id)

    def on_disk(self):
        return sorted(path.name for path in self.directory.iterdir())


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def test_chat_files_provide_the_interface(world):
    assert verifyObject(IChatFiles, world.files)


def test_the_folder_and_the_files_are_private(world):
    chat = world.active_chat()
    world.files.send(chat.id, "a.txt", io.BytesIO(b"hello"), token=chat.token)
    assert stat.S_IMODE(world.directory.stat().st_mode) == 0o700
    (stored,) = world.directory.iterdir()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_a_visitor_file_reaches_the_operator_with_a_signed_link(world):
    chat = world.active_chat()
    stored = world.files.send(chat.id, "Invoice 3.pdf", io.BytesIO(b"%PDF-1"), token=chat.token)
    assert (stored.name, stored.size, stored.content_type, stored.sender) == (
        "Invoice 3.pdf", 6, "application/pdf", "visitor",
    )
    assert world.on_disk() == [stored.id]
    event = world.store.chats.events_after(chat.id, 0)[-1]
    assert (event.kind, event.internal) == ("file", False)
    assert event.data == {"id": stored.id, "name": "Invoice 3.pdf", "size": 6,
                          "type": "application/pdf", "from": "visitor"}
    ((kind, operators, text),) = world.chats.channel.take()
    assert (kind, operators) == ("notify", ("ann",))
    assert "Invoice 3.pdf (6 bytes)" in text
    link = text.split(": ", 1)[1].split()[-1]
    assert link.startswith(f"https://chat.example/api/files/{stored.id}?expires=86400&signature=")
    signature = link.split("signature=")[1]
    assert world.files.open_signed(stored.id, "86400", signature) == (stored, b"%PDF-1")
    # The operator who has the chat may open it too; the visitor as well.
    assert world.files.open(chat.id, stored.id, operator="ann")[1] == b"%PDF-1"
    assert world.files.open(chat.id, stored.id, token=chat.token)[1] == b"%PDF-1"


def test_an_operator_file_reaches_the_visitors_poll(world):
    chat = world.active_chat()
    before = world.store.chats.last_seq(chat.id)
    stored = world.files.send(chat.id, "map.png", io.BytesIO(b"\x89PNG"), operator="ann")
    polled = []
    world.chats.poll(chat.token, before).addCallback(polled.append)
    (events,) = polled
    assert [(e.kind, e.data["from"], e.data["id"]) for e in events] == [("file", "operator", stored.id)]
    assert stored.sent_by == "ann"
    assert world.chats.channel.take() == []


def test_only_the_chats_operator_sends_and_only_when_it_is_under_way(world):
    world.availability.resource_available("ann", "desk")
    waiting = world.chats.start(Visitor(name="Wai"), queue="sales")
    with pytest.raises(ChatOver, match="once an operator has joined"):
        world.files.send(waiting.id, "a.txt", io.BytesIO(b"x"), token=waiting.token)
    chat = world.active_chat()
    with pytest.raises(errors.NotYourChat):
        world.files.send(chat.id, "a.txt", io.BytesIO(b"x"), operator="bob")
    with pytest.raises(UnknownChat):
        world.files.send(chat.id, "a.txt", io.BytesIO(b"x"), token=waiting.token)
    world.chats.visitor_ends(chat.token)
    with pytest.raises(ChatOver, match="ended"):
        world.files.send(chat.id, "a.txt", io.BytesIO(b"x"), token=chat.token)
    assert world.on_disk() == []


def test_over_the_limit_is_refused_by_its_length_or_while_read(tmp_path):
    world = World(tmp_path, max_size=1000)
    chat = world.active_chat()
    body = Reader(b"x" * 5000)
    with pytest.raises(errors.FileTooLarge, match="limited to 1.0 kB"):
        world.files.send(chat.id, "big.txt", body, length=5000, token=chat.token)
    assert body.read_bytes == 0
    # Without a declared length, reading stops just past the limit.
    with pytest.raises(errors.FileTooLarge):
        world.files.send(chat.id, "big.txt", body, token=chat.token)
    assert body.read_bytes == 1001
    assert world.on_disk() == []
    exact = world.files.send(chat.id, "fits.txt", io.BytesIO(b"y" * 1000), token=chat.token)
    assert exact.size == 1000 and world.on_disk() == [exact.id]


def test_empty_files_are_refused(world):
    chat = world.active_chat()
    for length in (0, None):
        with pytest.raises(errors.EmptyFile):
            world.files.send(chat.id, "a.txt", io.BytesIO(b""), length=length, token=chat.token)
    assert world.on_disk() == []


@pytest.mark.parametrize("name", [
    "../../etc/passwd.txt", "/etc/passwd.txt", "..\\boot.txt", "a\x00.txt", "a\nb.txt",
    "tab\t.txt", "del\x7f.txt", "..", "", "   ", "~root.txt", "x" * 201 + ".txt", None,
])
def test_names_with_path_tricks_are_refused(world, name):
    chat = world.active_chat()
    body = Reader(b"data")
    with pytest.raises(errors.BadFileName):
        world.files.send(chat.id, name, body, token=chat.token)
    assert body.read_bytes == 0 and world.on_disk() == []


def test_a_name_is_only_shown_and_loses_its_direction_tricks(world):
    chat = world.active_chat()
    with pytest.raises(errors.FileTypeNotAllowed):
        # Shown as "invoiceexe.pdf" were the override kept.
        world.files.send(chat.id, "invoice\u202efdp.exe", io.BytesIO(b"MZ"), token=chat.token)
    stored = world.files.send(chat.id, " Ünïcode \u200fnote.TXT ", io.BytesIO(b"hi"), token=chat.token)
    assert stored.name == "Ünïcode note.TXT" and stored.content_type == "text/plain"
    assert world.on_disk() == [stored.id]


def test_types_the_admin_did_not_allow_are_refused(tmp_path):
    world = World(tmp_path, allowed={"image/*", ".pdf"})
    chat = world.active_chat()
    for name in ("page.html", "drawing.svg", "notes.txt", "README", "archive.zip"):
        with pytest.raises(errors.FileTypeNotAllowed, match="allowed: .pdf, image/"):
            world.files.check(chat.id, name, 10, token=chat.token)
    assert world.files.check(chat.id, "photo.JPG", 10, token=chat.token) == ("photo.JPG", "image/jpeg")
    assert world.files.check(chat.id, "a.pdf", 10, token=chat.token) == ("a.pdf", "application/pdf")


def test_the_default_types_leave_out_what_browsers_run(world):
    chat = world.active_chat()
    for name in ("x.html", "x.svg", "x.js", "x.exe", "noextension"):
        with pytest.raises(errors.FileTypeNotAllowed):
            world.files.check(chat.id, name, 10, token=chat.token)
    for name in ("x.png", "x.pdf", "x.txt", "x.docx", "x.xlsx", "x.odt", "x.zip"):
        world.files.check(chat.id, name, 10, token=chat.token)


def test_a_file_of_another_chat_is_not_found(world):
    chat = world.active_chat("One")
    stored = world.files.send(chat.id, "a.txt", io.BytesIO(b"one"), token=chat.token)
    world.availability.resource_available("bob", "desk")
    other = world.chats.start(Visitor(name="Two"), queue="sales")
    with pytest.raises(errors.UnknownFile):
        world.files.open(other.id, stored.id, token=other.token)
    with pytest.raises(UnknownChat):
        world.files.open(chat.id, stored.id, token=other.token)
    with pytest.raises(errors.NotYourChat):
        world.files.open(chat.id, stored.id, operator="bob")


def test_signed_links_expire_and_cannot_be_forged(world):
    chat = world.active_chat()
    stored = world.files.send(chat.id, "a.txt", io.BytesIO(b"one"), token=chat.token)
    world.clock.advance(100)
    link = world.files.link(stored)
    expires = link.split("expires=")[1].split("&")[0]
    signature = link.split("signature=")[1]
    assert expires == str(100 + 24 * 3600)
    assert world.files.open_signed(stored.id, expires, signature)[1] == b"one"
    for bad in ((stored.id, str(int(expires) + 1), signature), (stored.id, expires, "0" * 64),
                (stored.id, "soon", signature), (stored.id, expires, None)):
        with pytest.raises(errors.BadLink, match="not valid"):
            world.files.open_signed(*bad)
    world.clock.advance(24 * 3600 - 1)
    assert world.files.open_signed(stored.id, expires, signature)[1] == b"one"
    world.clock.advance(1)
    with pytest.raises(errors.BadLink, match="expired"):
        world.files.open_signed(stored.id, expires, signature)


def test_delete_files_removes_a_chats_files_from_disk_and_store(world):
    chat = world.active_chat("One")
    kept_chat_files = []
    first = world.files.send(chat.id, "a.txt", io.BytesIO(b"one"), token=chat.token)
    second = world.files.send(chat.id, "b.txt", io.BytesIO(b"two"), operator="ann")
    world.chats.visitor_ends(chat.token)
    other = world.active_chat("Two")
    kept = world.files.send(other.id, "c.txt", io.BytesIO(b"three"), token=other.token)
    kept_chat_files.append(kept.id)
    assert world.files.delete_files(chat.id) == 2
    assert world.on_disk() == kept_chat_files
    for gone in (first, second):
        with pytest.raises(errors.UnknownFile):
            world.files.open(chat.id, gone.id, token=chat.token)
    assert world.files.delete_files(chat.id) == 0


def test_the_history_holds_the_messages_and_the_files_in_order(world):
    chat = world.active_chat()
    world.files.send(chat.id, "a.txt", io.BytesIO(b"hello"), token=chat.token)
    world.chats.operator_says(chat.guest, "ann", "Got it")
    shown = [(e.kind, e.data.get("text") or e.data.get("name")) for e in world.chats.history(chat)]
    assert shown == [("message", "Hello"), ("file", "a.txt"), ("message", "Got it")]
    assert [e.kind for e in world.chats.transcript(chat)] == ["message", "message"]
