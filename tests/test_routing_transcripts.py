"""
Tests for L{mcc.routing.transcripts}: refusals, the message itself,
retries on a Clock, the outbox across a restart, and a real SMTP server
(Twisted's own) on loopback.
"""

import email
import email.policy
import io
import itertools

import pytest
from twisted.internet import defer, error, protocol
from twisted.internet.task import Clock
from twisted.mail import smtp
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mcc.routing import errors
from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts, UnknownChat, Visitor
from mcc.routing.files import ChatFiles
from mcc.routing.interfaces import IMailSender, ITranscriptMailer
from mcc.routing.transcripts import SMTPMailer, TranscriptMailer, check_address
from mcc.store import Store
from tests.conftest import asyncio_test
from tests.test_routing_chats import RecordingChannel
from tests.visitor_client import wait

QUEUES = {"sales": ["ann", "bob"], "billing": ["cyd"]}


@implementer(IMailSender)
class FakeMailer:
    sender = "chat@shop.example"

    def __init__(self):
        self.tries = []

    def send(self, recipient, message):
        attempt = defer.Deferred()
        self.tries.append((recipient, message, attempt))
        return attempt


class World:
    def __init__(self, mailer="fake", store=None, clock=None):
        self.store = store or Store.open(":memory:")
        if store is None:
            for name in ("ann", "bob", "cyd"):
                self.store.users.add(name, "pw", now=0, display_name=name.title())
        self.clock = clock or Clock()
        self.availability = Availability()
        counter = itertools.count()
        self.chats = ChatService(
            self.store, self.availability, QUEUES.__getitem__, self.clock,
            lambda: f"{next(counter):04d}tok" + "y" * 28, Timeouts(answer=60, visitor=9000, poll=25, reconnect=20),
        )
        self.chats.channel = RecordingChannel()
        self.chats.startService()
        self.mailer = FakeMailer() if mailer == "fake" else mailer
        self.transcripts = TranscriptMailer(self.store, self.chats, self.clock, self.mailer, site_name="shop")
        self.transcripts.startService()

    def conversation(self, email="vi@example.org"):
        self.availability.resource_available("ann", "desk")
        chat = self.chats.start(Visitor(name="Vi", email=email, question="Where is <my> order?"), queue="sales")
        self.clock.advance(5)
        self.chats.operator_says(chat.guest, "ann", "Hello Vi & welcome")
        self.availability.resource_available("bob", "desk")
        self.chats.operator_says(chat.guest, "bob", "internal: VIP customer")
        self.clock.advance(5)
        self.chats.visitor_says(chat.token, "Thanks\nsecond line")
        self.chats.operator_ends(chat.guest, "ann")
        self.chats.channel.take()
        return self.store.chats.by_id(chat.id)

    def mail_events(self, chat):
        return [e.data for e in self.store.chats.events_after(chat.id, 0, include_internal=True)
                if e.kind == "email"]


@pytest.fixture
def world():
    return World()


def parts(message):
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    return (
        parsed,
        parsed.get_body(("plain",)).get_content(),
        parsed.get_body(("html",)).get_content(),
    )


def test_the_mailer_provides_the_interface(world):
    assert verifyObject(ITranscriptMailer, world.transcripts)
    assert verifyObject(IMailSender, SMTPMailer(Clock(), "mail.example", "a@shop.example"))


def test_no_smtp_means_a_clear_error(world):
    chat = world.conversation()
    transcripts = TranscriptMailer(world.store, world.chats, world.clock, None)
    with pytest.raises(errors.MailNotConfigured, match="E-mail is not set up on this server"):
        transcripts.email_transcript(chat.id, operator="ann")


def test_the_transcript_goes_out_in_both_parts_without_internal_notes(world):
    chat = world.conversation()
    mail = world.transcripts.email_transcript(chat.id, operator="ann")
    assert mail.recipient == "vi@example.org" and mail.status == "queued"
    assert world.mail_events(chat) == [{"to": "vi@example.org", "status": "queued", "why": ""}]
    assert world.mailer.tries == []  # in the background
    world.clock.advance(0)
    ((recipient, message, attempt),) = world.mailer.tries
    parsed, text, html = parts(message)
    assert parsed["To"] == "vi@example.org" and parsed["From"] == "chat@shop.example"
    assert parsed["Subject"] == "Transcript of your chat with sales"
    assert parsed.get_content_type() == "multipart/alternative"
    assert "[1970-01-01 00:00:00 UTC] Vi: Where is <my> order?" in text
    assert "[1970-01-01 00:00:05 UTC] Ann: Hello Vi & welcome" in text
    assert "[1970-01-01 00:00:10 UTC] Vi: Thanks\n    second line" in text
    assert "Ann joined the chat." in text and "The chat ended." in text
    assert "Where is &lt;my&gt; order?" in html and "Hello Vi &amp; welcome" in html
    assert "Thanks<br>second line" in html and "<my>" not in html
    for part in (text, html):
        assert "VIP" not in part
    attempt.callback((1, []))
    assert world.store.outbox.get(mail.id).status == "sent"
    assert world.mail_events(chat)[-1] == {"to": "vi@example.org", "status": "sent", "why": ""}
    assert world.chats.channel.take() == [
        ("notify", ("ann",), "The transcript was e-mailed to vi@example.org.")
    ]
    # The visitor's poll never shows where transcripts went.
    assert all(e.kind != "email" for e in world.store.chats.events_after(chat.id, 0))


def test_failed_tries_are_retried_with_backoff_then_fail_visibly(world):
    chat = world.conversation()
    mail = world.transcripts.email_transcript(chat.id, "boss@shop.example", operator="bob")
    world.clock.advance(0)
    world.mailer.tries[-1][2].errback(error.ConnectionRefusedError("nobody there"))
    assert world.store.outbox.get(mail.id).tries == 1
    world.clock.advance(59)
    assert len(world.mailer.tries) == 1
    world.clock.advance(1)
    assert len(world.mailer.tries) == 2
    world.mailer.tries[-1][2].errback(smtp.SMTPClientError(451, b"try later"))
    world.clock.advance(299)
    assert len(world.mailer.tries) == 2
    world.clock.advance(1)
    assert len(world.mailer.tries) == 3
    assert world.store.outbox.get(mail.id).status == "queued"
    world.mailer.tries[-1][2].errback(smtp.SMTPClientError(421, b"still busy"))
    settled = world.store.outbox.get(mail.id)
    assert (settled.status, settled.tries) == ("failed", 3)
    event = world.mail_events(chat)[-1]
    assert (event["status"], event["to"]) == ("failed", "boss@shop.example")
    assert "still busy" in event["why"]
    ((kind, operators, text),) = world.chats.channel.take()
    assert (kind, operators) == ("notify", ("bob",))
    assert text.startswith("The transcript could not be e-mailed to boss@shop.example: ")
    world.clock.advance(10000)
    assert len(world.mailer.tries) == 3


def test_a_final_answer_is_not_retried(world):
    chat = world.conversation()
    mail = world.transcripts.email_transcript(chat.id, "nobody@shop.example", operator="ann")
    world.clock.advance(0)
    world.mailer.tries[-1][2].errback(smtp.SMTPDeliveryError(550, b"no such user"))
    assert world.store.outbox.get(mail.id).status == "failed"
    world.clock.advance(10000)
    assert len(world.mailer.tries) == 1


def test_a_queued_mail_survives_a_restart(tmp_path):
    store = Store.open(tmp_path / "db.sqlite")
    clock = Clock()
    for name in ("ann", "bob", "cyd"):
        store.users.add(name, "pw", now=0)
    first = World(store=store, clock=clock)
    chat = first.conversation()
    mail = first.transcripts.email_transcript(chat.id, operator="ann")
    first.transcripts.stopService()
    first.chats.stopService()
    clock.advance(0)
    assert first.mailer.tries == []
    second = World(store=store, clock=clock)
    clock.advance(0)
    ((recipient, message, attempt),) = second.mailer.tries
    assert recipient == "vi@example.org" and b"Hello Vi" in message.replace(b"=\n", b"")
    attempt.callback((1, []))
    assert store.outbox.get(mail.id).status == "sent"


@pytest.mark.parametrize("address", [
    "vi@example.org\r\nBcc: all@example.org", "vi@example.org\n", "a\rb@example.org",
    "x@example.org\x00",
])
def test_header_injection_in_the_address_is_refused(world, address):
    chat = world.conversation()
    with pytest.raises(errors.HeaderInjection, match="line breaks"):
        world.transcripts.email_transcript(chat.id, address, operator="ann")
    assert world.store.outbox.queued() == [] and world.mail_events(chat) == []


def test_header_injection_in_the_subject_is_refused(world):
    chat = world.conversation()
    with pytest.raises(errors.HeaderInjection, match="subject"):
        world.transcripts.email_transcript(chat.id, operator="ann", subject="Hi\nBcc: x@example.org")
    assert world.store.outbox.queued() == []


@pytest.mark.parametrize("address", [
    "", "vi", "vi@", "@example.org", "vi@example", "vi@@example.org", "a b@example.org",
    "Vi <vi@example.org>", "vi@example.org, x@example.org", ".vi@example.org", "v..i@example.org",
    "vi@-example.org", "x" * 250 + "@example.org",
])
def test_invalid_addresses_are_refused(world, address):
    with pytest.raises(errors.InvalidAddress):
        check_address(address)


def test_plain_addresses_pass():
    assert check_address(" first.last+chat@mail.shop-1.example ") == "first.last+chat@mail.shop-1.example"


def test_who_may_ask_for_a_transcript(world):
    chat = world.conversation()
    with pytest.raises(errors.NotYourChat):
        world.transcripts.email_transcript(chat.id, "x@example.org", operator="cyd")
    with pytest.raises(UnknownChat):
        world.transcripts.email_transcript(chat.id, token="0099tok" + "y" * 28)
    with pytest.raises(errors.InvalidAddress, match="own address"):
        world.transcripts.email_transcript(chat.id, "other@example.org", token=chat.token)
    assert world.transcripts.email_transcript(chat.id, token=chat.token).recipient == "vi@example.org"
    # A queue's other operator may send it on too.
    assert world.transcripts.email_transcript(chat.id, "b@example.org", operator="bob")
    silent = world.conversation(email="")
    with pytest.raises(errors.InvalidAddress, match="gave no e-mail address"):
        world.transcripts.email_transcript(silent.id, operator="ann")


def test_files_appear_in_the_transcript_by_name(world, tmp_path):
    world.availability.resource_available("ann", "desk")
    chat = world.chats.start(Visitor(name="Vi", email="vi@example.org"), queue="sales")
    world.chats.operator_says(chat.guest, "ann", "Hi")
    files = ChatFiles(world.store, world.chats, tmp_path / "files", world.clock,
                      lambda: "f" * 22, b"secret")
    files.send(chat.id, "receipt.pdf", io.BytesIO(b"%PDF"), token=chat.token)
    world.transcripts.email_transcript(chat.id, operator="ann")
    world.clock.advance(0)
    _, text, html = parts(world.mailer.tries[-1][1])
    assert "Vi: sent the file receipt.pdf (4 bytes)" in text


# A real SMTP server on loopback: Twisted's own.

@implementer(smtp.IMessage)
class _Received:
    def __init__(self, inbox, recipient):
        self.inbox = inbox
        self.recipient = recipient
        self.lines = []

    def lineReceived(self, line):
        self.lines.append(line)

    def eomReceived(self):
        self.inbox.append((self.recipient, b"\n".join(self.lines) + b"\n"))
        return defer.succeed(None)

    def connectionLost(self):
        pass


@implementer(smtp.IMessageDelivery)
class _Delivery:
    def __init__(self, inbox):
        self.inbox = inbox

    def receivedHeader(self, helo, origin, recipients):
        return b"Received: from test"

    def validateFrom(self, helo, origin):
        return origin

    def validateTo(self, user):
        if user.dest.local == b"nobody":
            raise smtp.SMTPBadRcpt(user)
        return lambda: _Received(self.inbox, str(user.dest))


class _SMTPServer(protocol.ServerFactory):
    def __init__(self, inbox):
        self.inbox = inbox

    def buildProtocol(self, addr):
        server = smtp.ESMTP()
        server.delivery = _Delivery(self.inbox)
        server.host = b"mail.test"
        server.factory = self
        return server


@asyncio_test
async def test_the_whole_transcript_arrives_at_a_real_smtp_server():
    from twisted.internet import reactor

    inbox = []
    port = reactor.listenTCP(0, _SMTPServer(inbox), interface="127.0.0.1")
    try:
        mailer = SMTPMailer(reactor, "127.0.0.1", "chat@shop.example", port.getHost().port,
                            starttls="optional", timeout=10)
        world = World(mailer=mailer)
        chat = world.conversation()
        mail = world.transcripts.email_transcript(chat.id, operator="ann")
        world.clock.advance(0)
        for _ in range(200):
            if world.store.outbox.get(mail.id).status != "queued":
                break
            await wait(deferLater(reactor, 0.05))
        assert world.store.outbox.get(mail.id).status == "sent"
        ((recipient, message),) = inbox
        assert recipient == "vi@example.org"
        parsed, text, html = parts(message)
        assert parsed["Subject"] == "Transcript of your chat with sales"
        for line in ("Vi: Where is <my> order?", "Ann: Hello Vi & welcome", "Vi: Thanks\n    second line",
                     "The chat ended."):
            assert line in text
        for fragment in ("Where is &lt;my&gt; order?", "Hello Vi &amp; welcome", "Thanks<br>second line"):
            assert fragment in html
        assert "VIP" not in text and "VIP" not in html

        # The server's refusal of a recipient is final and shown.
        refused = world.transcripts.email_transcript(chat.id, "nobody@shop.example", operator="ann")
        world.clock.advance(0)
        for _ in range(200):
            if world.store.outbox.get(refused.id).status != "queued":
                break
            await wait(deferLater(reactor, 0.05))
        assert world.store.outbox.get(refused.id).status == "failed"
        assert world.mail_events(chat)[-1]["status"] == "failed"
        world.transcripts.stopService()
    finally:
        await wait(defer.maybeDeferred(port.stopListening))


def deferLater(reactor, seconds):
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)
