# -*- test-case-name: bench.tests.test_idle -*-
"""
What idle XMPP sessions cost a server in memory.

A small asyncio client logs N accounts in (SASL PLAIN without TLS, resource
binding, initial presence) and keeps the connections open and silent; the
server's resident memory is read before and after.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bench import compare, tsung
from bench.processes import ProcessFailed, free_port, log_tail, memory_kib
from bench.xmpp_client import Session

CONCURRENT_LOGINS = 50
SETTLE_SECONDS = 2.0


async def hold_sessions(port, domain, accounts, while_open, settle=SETTLE_SECONDS):
    """
    Log C{accounts} in, then, C{settle} seconds later, call
    C{while_open(logged_in)} with all of them connected and idle; close
    them afterwards.
    """
    gate = asyncio.Semaphore(CONCURRENT_LOGINS)

    async def login(username, password):
        async with gate:
            return await Session.open(port, domain, username, password, resource="idle")

    outcomes = await asyncio.gather(
        *(login(username, password) for username, password in accounts), return_exceptions=True
    )
    sessions = [outcome for outcome in outcomes if isinstance(outcome, Session)]
    readers = [asyncio.ensure_future(session.idle()) for session in sessions]
    try:
        await asyncio.sleep(settle)
        return while_open(len(sessions))
    finally:
        for session in sessions:
            session.close()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


@dataclass(frozen=True)
class IdleRun:
    server: str
    sessions: int
    logged_in: int
    rss_before_kib: int
    rss_after_kib: int

    @property
    def per_session_kib(self):
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.logged_in)


def measure(processes, folder, server, sessions):
    """
    Resident memory of C{server} (a name of L{compare.SERVERS}) before and
    with C{sessions} idle sessions.
    """
    port = free_port()
    accounts = tsung.accounts(sessions)
    process = compare.SERVERS[server](
        processes, Path(folder) / f"idle-{server.lower()}", port, accounts
    )
    try:
        before = memory_kib(process.pid, "VmRSS")

        def with_sessions(logged_in):
            if process.poll() is not None:
                raise ProcessFailed(f"{server} exited:\n{log_tail(process.log_path)}")
            return logged_in, memory_kib(process.pid, "VmRSS")

        logged_in, after = asyncio.run(
            hold_sessions(port, compare.DOMAIN, accounts, with_sessions)
        )
    finally:
        processes.stop(process)
    return IdleRun(server, sessions, logged_in, before, after)
