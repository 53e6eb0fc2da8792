# -*- test-case-name: tests.test_throttle -*-
"""
Limits on how often one client address may do something: fail to log in
(XMPP and the admin sign-in) or start chats (the visitor API).
"""

from collections import deque

PRUNE_ABOVE = 10_000
"""
Once this many addresses are tracked, those with nothing recent are dropped,
so that many one-off addresses cannot make the table grow for ever.
"""


class Throttle:
    """
    Refuse a key (an address) that did something C{limit} times within
    C{window} seconds.
    """

    def __init__(self, clock, limit, window):
        self._clock = clock
        self.limit = limit
        self.window = window
        self._events = {}

    def _recent(self, key):
        events = self._events.get(key)
        if events is None:
            return 0
        oldest_allowed = self._clock.seconds() - self.window
        while events and events[0] <= oldest_allowed:
            events.popleft()
        if not events:
            del self._events[key]
            return 0
        return len(events)

    def blocked(self, key):
        return self._recent(key) >= self.limit

    def record(self, key):
        if len(self._events) > PRUNE_ABOVE:
            for stale in list(self._events):
                self._recent(stale)
        self._recent(key)
        self._events.setdefault(key, deque()).append(self._clock.seconds())

    def __len__(self):
        return len(self._events)
