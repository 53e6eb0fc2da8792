# -*- test-case-name: tests.test_admin_presence -*-
"""
Live presence for the admin pages, by long polling: a page asks for news
after the version it has, and the answer comes as soon as someone's presence
changes, or after a while with nothing new.
"""

from mcc.routing.waiter import Waiter

EVERYONE = "presence"
"""
The one key of the feed: every page waits for the same news.
"""


class PresenceFeed:
    """
    Counts presence changes reported by L{Availability}; the count is the
    version a page holds, so a page that missed a change hears at once.
    """

    def __init__(self, availability, clock, timeout):
        self.version = 0
        self._polls = Waiter(clock, timeout)
        availability.add_observer(self._changed)

    def _changed(self, username):
        self.version += 1
        self._polls.notify(EVERYONE, self.version)

    def wait(self, after):
        """
        A Deferred firing with the version once it differs from C{after},
        or with the same one after the timeout.  Cancelling it (the page went
        away) forgets it.
        """
        return self._polls.wait(EVERYONE, after, self.version)
