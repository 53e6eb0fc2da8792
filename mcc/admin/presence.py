# -*- test-case-name: tests.test_admin_presence -*-
"""
Live presence for the admin pages, by long polling: a page asks for news
after the version it has, and the answer comes as soon as someone's presence
changes, or after a while with nothing new.
"""

from twisted.internet import defer


class PresenceFeed:
    """
    Counts presence changes reported by L{Availability}; the count is the
    version a page holds, so a page that missed a change hears at once.
    """

    def __init__(self, availability, clock, timeout):
        self.version = 0
        self._clock = clock
        self._timeout = timeout
        self._waiting = set()
        availability.add_observer(self._changed)

    def _changed(self, username):
        self.version += 1
        waiting, self._waiting = self._waiting, set()
        for waiter in waiting:
            waiter.callback(self.version)

    def wait(self, after):
        """
        A Deferred firing with the version once it differs from C{after},
        or with the same one after the timeout.  Cancelling it (the page went
        away) forgets it.
        """
        if after != self.version:
            return defer.succeed(self.version)

        def time_out():
            self._waiting.discard(waiter)
            waiter.callback(self.version)

        waiter = defer.Deferred(self._waiting.discard)
        timer = self._clock.callLater(self._timeout, time_out)
        waiter.addBoth(_stop, timer)
        self._waiting.add(waiter)
        return waiter


def _stop(result, timer):
    if timer.active():
        timer.cancel()
    return result
