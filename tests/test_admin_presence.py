"""
Tests for L{mcc.admin.presence}: long polling on presence changes.
"""

from twisted.internet import defer
from twisted.internet.task import Clock

from mcc.admin.presence import PresenceFeed
from mcc.routing.availability import Availability


def make_feed(timeout=25):
    clock = Clock()
    availability = Availability()
    return clock, availability, PresenceFeed(availability, clock, timeout)


def fired(deferred):
    results = []
    deferred.addBoth(results.append)
    return results


def test_every_change_counts():
    _, availability, feed = make_feed()
    availability.resource_available("olive", "desk")
    availability.resource_available("olive", "phone", show="away")
    availability.resource_gone("olive", "desk")
    assert feed.version == 3


def test_an_older_version_is_answered_at_once():
    _, availability, feed = make_feed()
    availability.resource_available("olive", "desk")
    assert fired(feed.wait(0)) == [1]
    assert fired(feed.wait(None)) == [1]


def test_waiters_hear_the_next_change():
    clock, availability, feed = make_feed()
    first, second = fired(feed.wait(0)), fired(feed.wait(0))
    assert first == second == []
    availability.resource_available("olive", "desk")
    assert first == second == [1]
    assert clock.getDelayedCalls() == []


def test_a_waiter_without_news_hears_the_same_version_after_the_timeout():
    clock, availability, feed = make_feed(timeout=25)
    result = fired(feed.wait(0))
    clock.advance(24)
    assert result == []
    clock.advance(1)
    assert result == [0]
    availability.resource_available("olive", "desk")
    assert result == [0]


def test_a_cancelled_waiter_is_forgotten():
    clock, availability, feed = make_feed()
    waiter = feed.wait(0)
    result = fired(waiter)
    waiter.cancel()
    assert result[0].check(defer.CancelledError)
    assert clock.getDelayedCalls() == []
    availability.resource_available("olive", "desk")
    assert len(result) == 1
