# -*- test-case-name: tests.test_throttle -*-
"""
Slowing down password guessing, per client address.
"""

from collections import defaultdict, deque


class FailureThrottle:
    """
    Refuse an address that failed C{limit} times within C{window} seconds.

    Used by XMPP authentication and the web sign-in alike.
    """

    def __init__(self, clock, limit, window):
        self._clock = clock
        self.limit = limit
        self.window = window
        self._failures = defaultdict(deque)

    def _recent(self, key):
        failures = self._failures.get(key)
        if failures is None:
            return 0
        oldest_allowed = self._clock.seconds() - self.window
        while failures and failures[0] <= oldest_allowed:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0
        return len(failures)

    def blocked(self, key):
        return self._recent(key) >= self.limit

    def failed(self, key):
        self._recent(key)
        self._failures[key].append(self._clock.seconds())

    def succeeded(self, key):
        self._failures.pop(key, None)
