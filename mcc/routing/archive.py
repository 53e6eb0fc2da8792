# -*- test-case-name: tests.test_xmpp_archive -*-
"""
Each account's message archive (XEP-0313): what it sent and was given,
chats with visitors included, read back a page at a time (XEP-0059).
"""

from dataclasses import dataclass

from zope.interface import implementer

from mcc.routing.interfaces import IMessageArchive

DAY = 24 * 60 * 60
PAGE_SIZE = 50
"""
A page when the client names no size; no page is larger than L{MAX_PAGE}.
"""
MAX_PAGE = 250
PURGE_INTERVAL = 60 * 60
"""
How often, at most, archiving also forgets what is past the retention.
"""


class UnknownArchiveId(Exception):
    """
    A page was asked relative to a message the archive does not hold.
    """


@dataclass(frozen=True)
class ArchivePage:
    """
    @ivar messages: L{ArchivedMessage}s, oldest first.
    @ivar first_index: the position of the first one among all that match.
    @ivar count: how many messages match in all.
    @ivar complete: whether the page reaches the end of the archive in the
        direction it was asked (the oldest one when paging back).
    """

    messages: list
    first_index: int
    count: int
    complete: bool


@implementer(IMessageArchive)
class Archive:
    """
    @ivar retention_days: how long messages are kept, or C{None} to keep
        them; it may be changed while the server runs.
    """

    def __init__(self, store, clock, new_id, retention_days=None):
        self.store = store
        self.clock = clock
        self.new_id = new_id
        self.retention_days = retention_days
        self._purged_at = None

    def keep(self, owner, contact, stanza):
        now = self.clock.seconds()
        self._purge(now)
        stanza_id = self.new_id()
        self.store.archive.add(owner, stanza_id, contact, stanza, now)
        return stanza_id

    def _purge(self, now):
        if self.retention_days is None:
            return
        if self._purged_at is not None and now - self._purged_at < PURGE_INTERVAL:
            return
        self._purged_at = now
        self.store.archive.remove_before(now - self.retention_days * DAY)

    def _position(self, owner, stanza_id):
        position = self.store.archive.position(owner, stanza_id)
        if position is None:
            raise UnknownArchiveId(f"no archived message {stanza_id!r}")
        return position

    def query(self, owner, contact=None, start=None, end=None, after=None, before=None,
              limit=None):
        """
        A page of C{owner}'s archive, filtered by C{contact} and the times
        C{start} and C{end}: the first messages after the id C{after}, the
        last before the id C{before}, the last ones for C{before=""}, or the
        first ones.
        """
        limit = PAGE_SIZE if limit is None else max(0, min(limit, MAX_PAGE))
        archive = self.store.archive
        filters = dict(contact=contact, start=start, end=end)
        if self.retention_days is not None:
            oldest = self.clock.seconds() - self.retention_days * DAY
            filters["start"] = oldest if start is None else max(start, oldest)
        after_pos = None if after is None else self._position(owner, after)
        before_pos = None if not before else self._position(owner, before)
        from_end = before is not None
        rows = archive.page(
            owner, limit + 1, after=after_pos, before=before_pos, from_end=from_end, **filters
        )
        more = len(rows) > limit
        if more:
            rows = rows[1:] if from_end else rows[:-1]
        count = archive.count(owner, **filters)
        if rows:
            first_index = archive.count(owner, below=rows[0][0], **filters)
        else:
            first_index = count
        return ArchivePage([message for _, message in rows], first_index, count, not more)
