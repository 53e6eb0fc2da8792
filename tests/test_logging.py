"""
Tests for what mcc logs: one line per login, refusal and chat step, with
stable fields and nothing of what was said, typed as a password or told
about the visitor.
"""

import asyncio
import json

import pytest
from twisted.logger import formatEvent, globalLogPublisher

from mcc.routing.chats import Visitor
from tests.conftest import asyncio_test
from tests.raw_xmpp import NS_SASL, RawClient, tag
from tests.test_admin import make_world, world  # noqa: F401 (fixtures)
from tests.test_routing_chats import world as chat_world  # noqa: F401 (fixture)
from tests.test_visitor_api import Visit

PASSWORD = "correct horse battery"
WRONG_PASSWORD = "wrong staple"
QUESTION = "Is my order 4711 on its way?"
VISITOR_NAME = "Violet Visitor"
VISITOR_EMAIL = "violet@example.net"
SECRETS = (PASSWORD, WRONG_PASSWORD, QUESTION, VISITOR_NAME, VISITOR_EMAIL, "root-pw", "nope")


class Captured:
    """
    The events of mcc's own modules published while a test runs.
    """

    def __init__(self):
        self.events = []

    def __call__(self, event):
        if event.get("log_namespace", "").startswith("mcc."):
            self.events.append(event)

    def lines(self):
        return [formatEvent(event) for event in self.events]

    def fields(self, format_start, *names):
        """
        The fields C{names} of each event whose format starts with
        C{format_start}.
        """
        return [
            tuple(event.get(name) for name in names)
            for event in self.events
            if event["log_format"].startswith(format_start)
        ]

    def assert_nothing_secret(self):
        for event in self.events:
            text = formatEvent(event) + repr(
                {key: value for key, value in event.items() if not key.startswith("log_")}
            )
            for secret in SECRETS:
                assert secret not in text, (secret, text)


@pytest.fixture
def log():
    captured = Captured()
    globalLogPublisher.addObserver(captured)
    yield captured
    globalLogPublisher.removeObserver(captured)


async def eventually(check, timeout=5.0):
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


# XMPP, over real sockets


@asyncio_test
async def test_xmpp_login_and_logout_are_logged(server, log):
    server.add_user("alice", PASSWORD)
    client = await RawClient.login(server, "alice", PASSWORD)
    assert log.fields("XMPP login {account}/", "account", "resource", "address", "mechanism") == [
        ("alice", "raw", "127.0.0.1", "PLAIN")
    ]
    await client.close()
    await eventually(lambda: log.fields("XMPP session"))
    assert log.fields("XMPP session", "account", "resource", "reason") == [
        ("alice", "raw", "disconnected")
    ]
    assert "XMPP login alice/raw from 127.0.0.1 with PLAIN" in log.lines()
    log.assert_nothing_secret()


@asyncio_test
async def test_failed_xmpp_login_is_logged_with_the_name_given(server, log):
    server.add_user("alice", PASSWORD)
    client = await RawClient.login(server, None, None, "encrypted")
    try:
        answer = await client.authenticate("Alice", WRONG_PASSWORD)
        assert answer.tag == tag(NS_SASL, "failure")
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>!!!</auth>")
        assert (await client.receive()).tag == tag(NS_SASL, "failure")
    finally:
        await client.close()
    assert log.fields("XMPP login failed", "account", "address", "reason") == [
        ("alice", "127.0.0.1", "not-authorized"),
        (None, "127.0.0.1", "malformed"),
    ]
    assert "XMPP login failed for 'alice' from 127.0.0.1: not-authorized" in log.lines()
    assert log.fields("XMPP login {") == []
    log.assert_nothing_secret()


@asyncio_test
async def test_stream_errors_sent_are_logged(server, log):
    client = await RawClient.login(server, None, None, "encrypted")
    try:
        client.send("<!-- hello -->")
        assert await client.stream_error() == "restricted-xml"
    finally:
        await client.close()
    assert log.fields("XMPP stream error", "condition", "address") == [
        ("restricted-xml", "127.0.0.1")
    ]


# The admin site


def test_admin_sign_ins_are_logged(world, log):  # noqa: F811 (fixture)
    world.browser().sign_in("root", "nope")
    world.browser().sign_in("olive", "olive-pw")
    world.admin()
    assert log.fields("Admin sign-in", "username", "address", "reason") == [
        ("root", "127.0.0.1", "not-authorized"),
        ("olive", "127.0.0.1", "not-an-admin"),
        ("root", "127.0.0.1", None),
    ]
    assert log.lines()[0] == "Admin sign-in failed for 'root' from 127.0.0.1: not-authorized"
    assert log.lines()[-1] == "Admin sign-in succeeded for root from 127.0.0.1"
    log.assert_nothing_secret()


def test_throttled_admin_sign_in_is_logged(world, log):  # noqa: F811 (fixture)
    for _ in range(4):
        world.browser().sign_in("root", "nope")
    assert [reason for (reason,) in log.fields("Admin sign-in", "reason")] == [
        "not-authorized", "not-authorized", "not-authorized", "throttled",
    ]


# The visitor API


def test_refused_visitor_requests_are_logged(log):
    visit = Visit()
    try:
        body = {"queue": "sales", "name": VISITOR_NAME, "email": VISITOR_EMAIL, "question": QUESTION}
        assert visit.request("POST", "/api/chats", body).code == 409
        assert visit.request("POST", "/api/chats", raw=b"{nope").code == 400
    finally:
        visit.store.close()
    assert log.fields("Visitor API", "status", "error", "address") == [
        (409, "offline", "127.0.0.1"),
        (400, "invalid-json", "127.0.0.1"),
    ]
    assert log.lines()[0] == "Visitor API request refused: 409 offline from 127.0.0.1"
    log.assert_nothing_secret()


# Chats


def test_chat_start_offer_take_and_end_are_logged(chat_world, log):  # noqa: F811 (fixture)
    service, availability, clock = chat_world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "phone")
    visitor = Visitor(name=VISITOR_NAME, email=VISITOR_EMAIL, question=QUESTION)
    chat = service.start(visitor, queue="sales")
    service.operator_says(chat.guest, "bob", "Hello from Bob, " + PASSWORD)
    service.visitor_says(chat.token, "thanks " + WRONG_PASSWORD)
    service.visitor_ends(chat.token)
    assert log.lines() == [
        f"Chat {chat.id} started for sales over web",
        f"Chat {chat.id} offered to 2 operators",
        f"Chat {chat.id} taken by bob",
        f"Chat {chat.id} ended by visitor",
    ]
    assert log.fields("Chat {chat_id} started", "chat_id", "queue", "user", "protocol") == [
        (chat.id, "sales", None, "web")
    ]
    assert log.fields("Chat {chat_id} {outcome}", "chat_id", "outcome", "closed_by") == [
        (chat.id, "ended", "visitor")
    ]
    log.assert_nothing_secret()
    assert "Hello from Bob" not in json.dumps(log.lines())


def test_missed_and_requeued_chats_are_logged(chat_world, log):  # noqa: F811 (fixture)
    service, availability, clock = chat_world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(question=QUESTION), queue="sales")
    service.operator_says(chat.guest, "ann", "hi")
    availability.resource_gone("ann", "desk")
    clock.advance(20)
    clock.advance(60)
    assert log.lines()[3:] == [
        f"Chat {chat.id} back in the queue: ann left",
        f"Chat {chat.id} missed by timeout",
    ]
