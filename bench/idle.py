# -*- test-case-name: bench.tests.test_idle -*-
"""
What idle XMPP sessions cost a server in memory.

A small asyncio client logs N accounts in (SASL PLAIN without TLS, resource
binding, initial presence) and keeps the connections open and silent; the
server's resident memory is read before and after.
"""

import asyncio
import base64
import re
from dataclasses import dataclass
from pathlib import Path

from bench import compare, tsung
from bench.processes import ProcessFailed, free_port, log_tail, memory_kib

FEATURES_END = re.compile(rb"</(?:stream:)?features>")
SASL_OUTCOME = re.compile(rb"<(success|failure)\b")
IQ_END = re.compile(rb"</iq>|<iq\b[^>]*/>")
CONCURRENT_LOGINS = 50
SETTLE_SECONDS = 2.0


class LoginFailed(Exception):
    pass


def stream_header(domain):
    return (
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        f"xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>"
    ).encode()


def plain_auth(username, password):
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    return (
        f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>"
    ).encode()


BIND = (
    b"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    b"<resource>idle</resource></bind></iq>"
)
PRESENCE = b"<presence/>"


class IdleSession:
    """
    One logged-in connection that says nothing more and discards what it
    receives.
    """

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.buffer = b""

    @classmethod
    async def open(cls, port, domain, username, password, timeout=30):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session = cls(reader, writer)
        try:
            await session.exchange(stream_header(domain), FEATURES_END, timeout)
            outcome = await session.exchange(plain_auth(username, password), SASL_OUTCOME, timeout)
            if outcome.group(1) != b"success":
                raise LoginFailed(username)
            await session.exchange(stream_header(domain), FEATURES_END, timeout)
            await session.exchange(BIND, IQ_END, timeout)
            writer.write(PRESENCE)
        except BaseException:
            writer.close()
            raise
        return session

    async def exchange(self, data, expected, timeout):
        """
        Send C{data} and read until C{expected} matches what came back.
        """
        self.writer.write(data)
        while not (match := expected.search(self.buffer)):
            chunk = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        self.buffer = self.buffer[match.end():]
        return match

    async def idle(self):
        while await self.reader.read(65536):
            pass

    def close(self):
        self.writer.close()


async def hold_sessions(port, domain, accounts, while_open, settle=SETTLE_SECONDS):
    """
    Log C{accounts} in, then, C{settle} seconds later, call
    C{while_open(logged_in)} with all of them connected and idle; close
    them afterwards.
    """
    gate = asyncio.Semaphore(CONCURRENT_LOGINS)

    async def login(username, password):
        async with gate:
            return await IdleSession.open(port, domain, username, password)

    outcomes = await asyncio.gather(
        *(login(username, password) for username, password in accounts), return_exceptions=True
    )
    sessions = [outcome for outcome in outcomes if isinstance(outcome, IdleSession)]
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
