# -*- test-case-name: bench.tests.test_idle -*-
"""
What idle XMPP sessions cost a server in memory.

A small asyncio client logs N accounts in (SASL PLAIN without TLS, resource
binding, initial presence) and keeps the connections open and silent; the
server's resident memory is read before and after.

Then the same for sessions a phone leaves behind: each enables stream
management with resumption (XEP-0198), then its socket is cut without the
stream being closed, so that the server keeps it detached but resumable;
the server's memory is read before, with them attached and with them
detached.
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
    sessions = await _log_in_all(port, domain, accounts, "idle")
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


async def _log_in_all(port, domain, accounts, resource):
    gate = asyncio.Semaphore(CONCURRENT_LOGINS)

    async def login(username, password):
        async with gate:
            return await Session.open(port, domain, username, password, resource=resource)

    outcomes = await asyncio.gather(
        *(login(username, password) for username, password in accounts), return_exceptions=True
    )
    return [outcome for outcome in outcomes if isinstance(outcome, Session)]


async def detach_sessions(port, domain, accounts, attached, detached, settle=SETTLE_SECONDS):
    """
    Log C{accounts} in and enable resumption on each; C{settle} seconds
    later call C{attached(resumable)}, cut every socket without closing
    its stream, and C{settle} seconds later call C{detached(resumable)}.
    Returns both answers.
    """
    sessions = await _log_in_all(port, domain, accounts, "phone")
    gate = asyncio.Semaphore(CONCURRENT_LOGINS)

    async def enable(session):
        async with gate:
            return await session.enable_resumption()

    try:
        enabled = await asyncio.gather(
            *(enable(session) for session in sessions), return_exceptions=True
        )
        resumable = [s for s, outcome in zip(sessions, enabled) if isinstance(outcome, str)]
        readers = [asyncio.ensure_future(session.idle()) for session in resumable]
        await asyncio.sleep(settle)
        with_them = attached(len(resumable))
        for session in resumable:
            session.cut()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.sleep(settle)
        return with_them, detached(len(resumable))
    finally:
        for session in sessions:
            session.cut()


@dataclass(frozen=True)
class IdleRun:
    server: str
    sessions: int
    logged_in: int
    rss_before_kib: int
    rss_after_kib: int
    peak_kib: int

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
            return logged_in, memory_kib(process.pid, "VmRSS"), memory_kib(process.pid, "VmHWM")

        logged_in, after, peak = asyncio.run(
            hold_sessions(port, compare.DOMAIN, accounts, with_sessions)
        )
    finally:
        processes.stop(process)
    return IdleRun(server, sessions, logged_in, before, after, peak)


@dataclass(frozen=True)
class DetachedRun:
    """
    Resident memory before, with C{resumable} sessions attached (stream
    management enabled) and with them detached but resumable.
    """

    server: str
    sessions: int
    resumable: int
    rss_before_kib: int
    rss_attached_kib: int
    rss_detached_kib: int

    @property
    def attached_per_session_kib(self):
        return (self.rss_attached_kib - self.rss_before_kib) / max(1, self.resumable)

    @property
    def detached_per_session_kib(self):
        return (self.rss_detached_kib - self.rss_before_kib) / max(1, self.resumable)


def measure_detached(processes, folder, server, sessions):
    """
    Resident memory of C{server} before, with C{sessions} resumable
    sessions attached, and with them detached.  Both servers keep a
    detached session far longer than the run (mcc 300 s, Prosody's
    C{smacks_hibernation_time} 600 s).
    """
    port = free_port()
    accounts = tsung.accounts(sessions)
    process = compare.SERVERS[server](
        processes, Path(folder) / f"detached-{server.lower()}", port, accounts
    )
    try:
        before = memory_kib(process.pid, "VmRSS")

        def rss(resumable):
            if process.poll() is not None:
                raise ProcessFailed(f"{server} exited:\n{log_tail(process.log_path)}")
            return resumable, memory_kib(process.pid, "VmRSS")

        (resumable, attached), (_, detached) = asyncio.run(
            detach_sessions(port, compare.DOMAIN, accounts, rss, rss)
        )
    finally:
        processes.stop(process)
    return DetachedRun(server, sessions, resumable, before, attached, detached)
