"""
The benchmark's visitor against a real mcc's HTTP API.
"""

import asyncio

import pytest

from bench.visitor import ChatRefused, Visitor
from bench.xmpp_client import BODY, MESSAGE, Session
from tests.conftest import asyncio_test
from tests.conftest import test_config as mcc_test_config


@pytest.fixture
def server_config(tmp_path):
    return mcc_test_config(tmp_path / "data", allow_plaintext_on_loopback=True)


def staff(server):
    server.add_user("op", "pw")
    queue = server.store.queues.add("help", "", now=0)
    server.store.queues.set_operators(queue.id, ["op"])


async def next_body(session):
    while True:
        stanza = await asyncio.wait_for(session.next_stanza(), 10)
        if stanza.tag == MESSAGE and stanza.findtext(BODY):
            return stanza.findtext(BODY)


@asyncio_test
async def test_a_chat_from_start_to_end(server):
    staff(server)
    operator = await Session.open(server.port, server.domain, "op", "pw")
    visitor = await Visitor.connect(server.http_port)
    try:
        await visitor.start("help", "Vic")
        assert (visitor.state, visitor.open) == ("waiting", True)
        assert "New chat for help from Vic" in await next_body(operator)
        await visitor.say("anyone?")
        assert await next_body(operator) == "anyone?"
        events = await visitor.poll()
        assert [(e["kind"], e["text"]) for e in events] == [("message", "anyone?")]
        await visitor.end()
        await visitor.poll()
        assert (visitor.state, visitor.open) == ("closed", False)
        with pytest.raises(ChatRefused) as refused:
            await visitor.say("too late")
        assert refused.value.status == 409
    finally:
        visitor.close()
        operator.close()


@asyncio_test
async def test_start_waits_for_the_operator_to_come_online(server):
    staff(server)
    visitor = await Visitor.connect(server.http_port, separate_posts=False)
    assert visitor.posts is visitor.polls
    starting = asyncio.ensure_future(visitor.start("help", "Early", patience=10))
    await asyncio.sleep(0.3)
    assert not starting.done()
    operator = await Session.open(server.port, server.domain, "op", "pw")
    try:
        await asyncio.wait_for(starting, 10)
        assert visitor.token
    finally:
        visitor.close()
        operator.close()


@asyncio_test
async def test_start_gives_up_when_nobody_comes(server):
    staff(server)
    visitor = await Visitor.connect(server.http_port)
    try:
        with pytest.raises(ChatRefused) as refused:
            await visitor.start("help", "Late", patience=0.3)
        assert refused.value.status == 409
        with pytest.raises(ChatRefused) as refused:
            await visitor.start("no-such-queue", "Lost")
        assert refused.value.status == 404
    finally:
        visitor.close()
