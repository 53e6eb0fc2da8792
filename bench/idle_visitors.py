# -*- test-case-name: bench.tests.test_idle_visitors -*-
"""
What idle long-polling visitors cost mcc in memory: N visitors start a chat
with one queue, whose operator stays logged in and silent, and each keeps a
poll waiting on its own keep-alive connection (a new one as soon as one
times out).  mcc's resident memory is read before they come and while
every poll waits.
"""

import asyncio
import time
from dataclasses import dataclass

from bench.processes import memory_kib
from bench.visitor import ChatRefused, Visitor
from bench.xmpp_client import Session

CONCURRENT_STARTS = 50
SETTLE_SECONDS = 3.0


@dataclass(frozen=True)
class IdleVisitors:
    visitors: int
    started: int
    polling: int
    start_seconds: float
    errors: int
    rss_before_kib: int
    rss_after_kib: int

    @property
    def per_visitor_kib(self):
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.started)


class Waiting:
    """
    The visitors whose poll is in flight, and how many failed.
    """

    def __init__(self):
        self.polling = set()
        self.errors = 0

    async def keep_polling(self, visitor):
        try:
            while visitor.open:
                self.polling.add(visitor)
                await visitor.poll()
                self.polling.discard(visitor)
        except (ChatRefused, ConnectionError):
            self.errors += 1
        finally:
            self.polling.discard(visitor)


async def hold(count, xmpp_port, http_port, domain, operator, mcc_pid,
               settle=SETTLE_SECONDS, clock=time.monotonic):
    """
    Bring C{count} visitors to C{operator}'s queue and keep them polling.

    @param operator: (username, password, queue), the one to ring.
    """
    username, password, queue = operator
    session = await Session.open(xmpp_port, domain, username, password, resource="desk")
    # Every chat rings the operator: its client reads the offers.
    tasks = [asyncio.ensure_future(session.idle())]
    visitors = []
    waiting = Waiting()
    gate = asyncio.Semaphore(CONCURRENT_STARTS)

    async def visit(number):
        async with gate:
            visitor = await Visitor.connect(http_port, separate_posts=False)
            visitors.append(visitor)
            await visitor.start(queue, f"idle{number}")
        tasks.append(asyncio.ensure_future(waiting.keep_polling(visitor)))

    try:
        await asyncio.sleep(settle)
        before = memory_kib(mcc_pid, "VmRSS")
        started_at = clock()
        outcomes = await asyncio.gather(
            *(visit(number) for number in range(1, count + 1)), return_exceptions=True
        )
        start_seconds = clock() - started_at
        failed = sum(1 for outcome in outcomes if isinstance(outcome, BaseException))
        await asyncio.sleep(settle)
        return IdleVisitors(
            visitors=count,
            started=count - failed,
            polling=len(waiting.polling),
            start_seconds=start_seconds,
            errors=failed + waiting.errors,
            rss_before_kib=before,
            rss_after_kib=memory_kib(mcc_pid, "VmRSS"),
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for visitor in visitors:
            visitor.close()
        session.close()
