# -*- test-case-name: bench.tests.test_flood -*-
"""
A login flood during the chat round trip: N XMPP accounts log in (SASL
PLAIN, resource binding, initial presence) at an even rate over S seconds
while the chats go on, from a process of its own so that its work does
not delay the round trip's own clocks.  The round trip then reports its
messages posted during the flood apart.

    python -m bench.chatload login-flood --logins 2000 --seconds 10 ...
"""

import asyncio
import json
import signal
import sys
import time
from dataclasses import dataclass

from bench.xmpp_client import Session


@dataclass(frozen=True)
class FloodPlan:
    """
    C{logins} logins spread evenly over C{seconds}, starting C{after}
    seconds into the message phase.
    """

    logins: int
    seconds: float
    after: float


@dataclass(frozen=True)
class Logins:
    """
    What the flood process measured: its window on the host's monotonic
    clock (the same in every process), and each login's time.
    """

    started: float
    ended: float
    durations: list
    failed: int


def accounts(count):
    """
    The flood's accounts, created in the store before mcc starts.
    """
    return [(f"flooder{n}", f"flood-secret{n}") for n in range(1, count + 1)]


def command(xmpp_port, domain, plan):
    return [
        sys.executable, "-m", "bench.chatload", "login-flood",
        "--xmpp-port", str(xmpp_port), "--http-port", "0", "--domain", domain,
        "--server-pid", "0", "--output", "-",
        "--logins", str(plan.logins), "--seconds", f"{plan.seconds:g}",
    ]


async def log_in_all(port, domain, count, seconds, clock=time.monotonic, open_session=Session.open):
    """
    Log C{count} accounts in, the n-th at C{n / count * seconds} from now;
    the L{Logins} and the sessions, which stay open.
    """
    started = clock()
    durations, sessions, failed = [], [], 0

    async def one(number, username, password):
        nonlocal failed
        await asyncio.sleep(max(0.0, started + seconds * number / count - clock()))
        begun = clock()
        try:
            session = await open_session(port, domain, username, password, resource="flood")
        except Exception:  # Refused, cut or too slow: counted, not fatal.
            failed += 1
            return
        durations.append(clock() - begun)
        sessions.append(session)

    await asyncio.gather(
        *(one(number, *account) for number, account in enumerate(accounts(count)))
    )
    return Logins(started, clock(), durations, failed), sessions


async def flood_and_hold(port, domain, count, seconds, out=sys.stdout, stop=None):
    """
    The flood process: log in, print the L{Logins} as one line of JSON,
    then keep the sessions until C{stop} (an C{asyncio.Event}; by default
    set by SIGTERM) is set, when they close.
    """
    logins, sessions = await log_in_all(port, domain, count, seconds)
    out.write(json.dumps(logins.__dict__) + "\n")
    out.flush()
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for session in sessions:
        session.close()
    return logins

