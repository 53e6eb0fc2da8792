# -*- test-case-name: tests.test_login_gate -*-
"""
Logins wait while the reactor is behind, so that a flood of them cannot
starve the chats: SASL PLAIN's password checks, that is, which the server
runs itself (SCRAM's keys come derived from the client and do not wait).

A login costs the reactor's thread about 2 ms beside its PBKDF2 (which
runs in threads of its own): streams opened twice, SASL, the resource
bound, presence sent.  At a thousand chats the reactor has little more
than a fifth of a core to spare, and 2,000 logins in 10 s would take it
all: every chat message then waits a quarter of a second.  Chats are what
people wait on; a login can wait a little longer.

So the gate watches how late the reactor runs a call it asked for every
C{interval} seconds.  While that lag stays under C{threshold}, a password
check goes straight through; once it is over, checks queue, oldest first.
Each tick on time lets some through, as many as the reactor has shown it
can take: one more each tick on time while logins wait, half as many
after a tick late (additive increase, multiplicative decrease, as TCP
finds a link's rate).  With time to spare the queue drains within a few
ticks; at the edge of saturation it lets through what the reactor serves
without falling behind.
"""

from collections import deque

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

log = Logger()

INTERVAL = 0.02
"""
Seconds between two looks at the reactor's lag.
"""

THRESHOLD = 0.003
"""
How late a look may come, in seconds, before logins wait.
"""

PER_TICK = 4
"""
How many waiting logins a tick on time lets through at first (200 a
second at 20 ms ticks): one more each such tick while logins wait, half
as many after a tick late, never fewer than one.
"""

MOST_PER_TICK = 200
"""
The most let through in one tick, however long the reactor kept up.
"""


class LoginGate(service.Service):
    """
    Calling it as C{gate(function, *args)} gives C{run(function, *args)}'s
    Deferred, at once or once the reactor of C{clock} has caught up.

    @ivar behind: whether the last look found the reactor late.
    @ivar waiting: the password checks waiting, oldest first.
    @ivar allowance: how many of them the next tick on time lets through.
    @ivar held: how many checks have waited, since the start.
    """

    name = "login-gate"

    def __init__(self, run, clock, interval=INTERVAL, threshold=THRESHOLD, per_tick=PER_TICK,
                 most_per_tick=MOST_PER_TICK):
        self._run = run
        self.clock = clock
        self.interval = interval
        self.threshold = threshold
        self.per_tick = per_tick
        self.most_per_tick = most_per_tick
        self.allowance = per_tick
        self.behind = False
        self.waiting = deque()
        self.held = 0
        self._due = None
        self._call = None

    def startService(self):
        service.Service.startService(self)
        self._schedule()

    def stopService(self):
        service.Service.stopService(self)
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        # Stopping: nothing is late any more.
        self.behind = False
        self._release(len(self.waiting))
        if self.held:
            log.info("Logins waited for the reactor {held} times", held=self.held)

    def __call__(self, function, *args):
        if not self.behind and not self.waiting:
            return self._run(function, *args)
        self.held += 1
        waiting = defer.Deferred()
        self.waiting.append((waiting, function, args))
        return waiting

    def _schedule(self):
        self._due = self.clock.seconds() + self.interval
        self._call = self.clock.callLater(self.interval, self._tick)

    def _tick(self):
        lag = self.clock.seconds() - self._due
        self.behind = lag > self.threshold
        self._schedule()
        if self.behind:
            self.allowance = max(1, self.allowance // 2)
        elif self.waiting:
            self._release(self.allowance)
            self.allowance = min(self.most_per_tick, self.allowance + 1)

    def _release(self, count):
        for _ in range(min(count, len(self.waiting))):
            waiting, function, args = self.waiting.popleft()
            self._run(function, *args).chainDeferred(waiting)
