"""
Idle long-polling visitors against a real mcc in this process.
"""

import os

import pytest

from bench import idle_visitors
from bench.idle_visitors import IdleVisitors
from tests.conftest import asyncio_test
from tests.conftest import test_config as mcc_test_config

OPERATOR = ("op", "pw", "help")


@pytest.fixture
def server_config(tmp_path, request):
    overrides = getattr(request, "param", {})
    return mcc_test_config(tmp_path / "data", allow_plaintext_on_loopback=True, **overrides)


def staff(server):
    username, password, queue = OPERATOR
    server.add_user(username, password)
    created = server.store.queues.add(queue, "", now=0)
    server.store.queues.set_operators(created.id, [username])


async def hold(server, count):
    return await idle_visitors.hold(
        count, server.port, server.http_port, server.domain, OPERATOR, os.getpid(), settle=0.3
    )


@pytest.mark.parametrize("server_config", [{"chat_start_limit": 12}], indirect=True)
@asyncio_test
async def test_every_visitor_starts_a_chat_and_keeps_a_poll_waiting(server):
    staff(server)
    result = await hold(server, 12)
    assert (result.visitors, result.started, result.polling, result.errors) == (12, 12, 12, 0)
    assert result.rss_before_kib > 0 and result.rss_after_kib > 0
    waiting = server.store.chats.unfinished()
    assert sorted(chat.visitor_name for chat in waiting) == sorted(f"idle{n}" for n in range(1, 13))
    assert {chat.state for chat in waiting} == {"waiting"}


@asyncio_test
async def test_the_default_flood_limit_refuses_the_eleventh_chat(server):
    staff(server)
    result = await hold(server, 12)
    assert (result.started, result.polling, result.errors) == (10, 10, 2)


def test_memory_per_visitor():
    run = IdleVisitors(100, 100, 100, 1.0, 0, rss_before_kib=1000, rss_after_kib=2500)
    assert run.per_visitor_kib == 15.0
