# -*- test-case-name: tests.test_collector -*-
"""
The garbage collector's pauses, kept short and measured.

Reference counting frees most of what the service drops; the collector is
for cycles, and the service makes them all the time (a parsed stanza's
elements point at their parents, twisted.web's requests at their
channels).  Most die young, in CPython's two younger generations, whose
collections take a few milliseconds.

The oldest generation is another matter.  CPython collects it whenever a
quarter more objects than its last collection kept have since outlived
two younger collections: under load, every few seconds (at 1,000 chats,
every 3 s), as polls, timers and stanzas waiting for acknowledgement live
a second or two.  Such a collection walks every object the chats and
connections hold, and the reactor stops meanwhile: about 150 ms at 1,000
chats on a 2-core virtual machine, the whole tail of the chats' round trip.

So, once started: what start-up built is moved out of the collector's
reach (C{gc.freeze}); the oldest generation is never collected of itself,
but every C{interval} seconds, which frees the cycles that lived long
enough to get there; and every collection's pause is measured, per
generation, and logged when the service stops.
"""

import gc
import time

from twisted.application import service
from twisted.internet import task
from twisted.logger import Logger

log = Logger()

FULL_COLLECTION_INTERVAL = 60.0
"""
Seconds between two collections of the oldest generation: what is garbage
there waits as long, at most (a few MiB at 1,000 chats).
"""

NEVER = 2**30
"""
A threshold of the oldest generation that the younger ones never reach.
"""


class Pauses:
    """
    How many collections of each generation ran, how long they took in
    all and at the longest, in milliseconds.
    """

    def __init__(self):
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]

    def add(self, generation, milliseconds):
        self.count[generation] += 1
        self.total[generation] += milliseconds
        self.longest[generation] = max(self.longest[generation], milliseconds)

    def summary(self):
        return "; ".join(
            f"generation {generation}: {self.count[generation]} collections,"
            f" {self.total[generation]:.0f} ms in all, the longest {self.longest[generation]:.1f} ms"
            for generation in range(3)
        )


class GarbageCollection(service.Service):
    """
    Started last, before the reactor serves anything (see the module).
    Stopping gives back the collector as it was, for a process that starts
    services again (the tests).

    @ivar pauses: the L{Pauses} since the service started.
    """

    name = "garbage-collection"

    def __init__(self, clock, interval=FULL_COLLECTION_INTERVAL, collector=gc, timer=time.perf_counter):
        self._clock = clock
        self.interval = interval
        self._collector = collector
        self._timer = timer
        self._started_at = None
        self._thresholds = None
        self._loop = None
        self.pauses = Pauses()

    def startService(self):
        service.Service.startService(self)
        collector = self._collector
        collector.collect()
        collector.freeze()
        self._thresholds = collector.get_threshold()
        young, middle = self._thresholds[:2]
        collector.set_threshold(young, middle, NEVER)
        collector.callbacks.append(self._observe)
        self._loop = task.LoopingCall(self.collect_oldest)
        self._loop.clock = self._clock
        self._loop.start(self.interval, now=False)

    def _observe(self, phase, info):
        if phase == "start":
            self._started_at = self._timer()
        elif self._started_at is not None:
            self.pauses.add(info["generation"], (self._timer() - self._started_at) * 1000)
            self._started_at = None

    def collect_oldest(self):
        """
        Collect every generation, as CPython no longer does by itself.
        """
        self._collector.collect()

    def stopService(self):
        service.Service.stopService(self)
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        collector = self._collector
        if self._observe in collector.callbacks:
            collector.callbacks.remove(self._observe)
        if self._thresholds is not None:
            collector.set_threshold(*self._thresholds)
        collector.unfreeze()
        log.info("Garbage collection while the service ran: {summary}", summary=self.pauses.summary())
