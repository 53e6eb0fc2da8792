# -*- test-case-name: tests.test_routing_offline -*-
"""
Offline storage with limits, so that no account can fill another's: each
recipient keeps at most so many messages and so many bytes, and each sender
may store only so many messages in a window of time.
"""

from zope.interface import implementer

from mcc.routing.interfaces import IOfflineStorage
from mcc.throttle import Throttle

MAX_MESSAGES = 1000
MAX_BYTES = 1024 * 1024
"""
A mebibyte per recipient: a few of the largest stanzas, or hundreds of
ordinary messages.
"""
SENDER_LIMIT = 30
SENDER_WINDOW = 60


class OfflineRefused(Exception):
    """
    A message that offline storage does not keep; the message says why.
    """


class StorageFull(OfflineRefused):
    """
    The recipient's storage holds as many messages or bytes as allowed.
    """


class SenderTooFast(OfflineRefused):
    """
    The sender stored as many messages as allowed lately; later ones fit.
    """


@implementer(IOfflineStorage)
class OfflineStorage:
    """
    @ivar max_messages: how many messages one recipient may have waiting.
    @ivar max_bytes: how many bytes (UTF-8) they may take together.
    @ivar sender_limit: how many messages one sender may store within
        C{sender_window} seconds, whoever they are for.
    """

    def __init__(
        self,
        store,
        clock,
        max_messages=MAX_MESSAGES,
        max_bytes=MAX_BYTES,
        sender_limit=SENDER_LIMIT,
        sender_window=SENDER_WINDOW,
    ):
        self.store = store
        self.clock = clock
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._senders = Throttle(clock, sender_limit, sender_window)

    def keep(self, owner, sender, stanza):
        size = len(stanza.encode("utf-8"))
        if self._senders.blocked(sender):
            raise SenderTooFast(
                f"you stored {self._senders.limit} offline messages within "
                f"{self._senders.window} seconds; try again later"
            )
        if self.store.offline.count(owner) >= self.max_messages:
            raise StorageFull(f"the recipient's offline storage holds {self.max_messages} messages")
        if self.store.offline.size(owner) + size > self.max_bytes:
            raise StorageFull(
                f"the recipient's offline storage has no room for {size} more bytes"
            )
        self._senders.record(sender)
        self.store.offline.add(owner, stanza, self.clock.seconds())

    def take(self, owner):
        return [stanza for stanza, _ in self.store.offline.take(owner)]
