"""
The benchmark's idle XMPP client against a real mcc.
"""

import asyncio

import pytest

from bench import idle, tsung
from tests.conftest import asyncio_test
from tests.conftest import test_config as mcc_test_config


@pytest.fixture
def server_config(tmp_path):
    return mcc_test_config(tmp_path / "data", allow_plaintext_on_loopback=True)


def add_accounts(server, accounts):
    for username, password in accounts:
        server.add_user(username, password)


async def until(condition, timeout=10):
    async def poll():
        while not condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


@asyncio_test
async def test_sessions_log_in_send_presence_and_stay(server):
    accounts = tsung.accounts(3)
    add_accounts(server, accounts)

    def while_open(logged_in):
        sessions = server.xmpp.sessions.all()
        return logged_in, sorted(s.bare for s in sessions if s.available)

    result = await idle.hold_sessions(server.port, server.domain, accounts, while_open, settle=0)
    assert result == (3, [f"bench{n}@{server.domain}" for n in (1, 2, 3)])
    await until(lambda: len(server.xmpp.sessions) == 0)


@asyncio_test
async def test_a_refused_login_is_not_counted(server):
    add_accounts(server, tsung.accounts(2))
    accounts = [("bench1", "secret1"), ("bench2", "wrong")]
    logged_in = await idle.hold_sessions(
        server.port, server.domain, accounts, lambda n: n, settle=0
    )
    assert logged_in == 1


@asyncio_test
async def test_sessions_enable_resumption_then_stay_detached(server):
    accounts = tsung.accounts(3)
    add_accounts(server, accounts)

    def resumable(count):
        sessions = server.xmpp.sessions.all()
        return count, sorted(
            (s.bare, s.xmlstream is None, s.management.id is not None) for s in sessions
        )

    attached, detached = await idle.detach_sessions(
        server.port, server.domain, accounts, resumable, resumable, settle=0
    )
    jids = [f"bench{n}@{server.domain}" for n in (1, 2, 3)]
    assert attached == (3, [(jid, False, True) for jid in jids])
    await until(lambda: all(s.xmlstream is None for s in server.xmpp.sessions.all()))
    assert len(server.xmpp.sessions) == 3


def test_per_session_figures_of_a_detached_run():
    run = idle.DetachedRun("mcc", 4, 2, 1000, 1100, 1060)
    assert (run.attached_per_session_kib, run.detached_per_session_kib) == (50.0, 30.0)
