"""
Tests for L{mcc.throttle}, with the clock moved by hand.
"""

from twisted.internet.task import Clock

from mcc.throttle import Throttle


def make(limit=3, window=60):
    clock = Clock()
    return clock, Throttle(clock, limit, window)


def test_blocked_at_the_limit_only():
    clock, throttle = make()
    for _ in range(2):
        throttle.record("192.0.2.1")
        clock.advance(1)
    assert not throttle.blocked("192.0.2.1")
    throttle.record("192.0.2.1")
    assert throttle.blocked("192.0.2.1")


def test_addresses_are_counted_apart():
    _, throttle = make(limit=1)
    throttle.record("192.0.2.1")
    assert throttle.blocked("192.0.2.1")
    assert not throttle.blocked("192.0.2.2")


def test_failures_leave_the_window_one_by_one():
    clock, throttle = make()
    throttle.record("a")  # t=0
    clock.advance(10)
    throttle.record("a")  # t=10
    clock.advance(10)
    throttle.record("a")  # t=20
    clock.advance(39.9)
    assert throttle.blocked("a")
    clock.advance(0.1)  # t=60: the first failure is exactly one window old
    assert not throttle.blocked("a")
    throttle.record("a")
    assert throttle.blocked("a")
    clock.advance(30)  # t=90: the failures of t=10 and t=20 are gone
    assert not throttle.blocked("a")


def test_everything_forgotten_after_a_window():
    clock, throttle = make()
    for _ in range(5):
        throttle.record("a")
    clock.advance(60)
    assert not throttle.blocked("a")
    throttle.record("a")
    throttle.record("a")
    assert not throttle.blocked("a")


def test_addresses_with_nothing_recent_are_pruned(monkeypatch):
    monkeypatch.setattr("mcc.throttle.PRUNE_ABOVE", 3)
    clock = Clock()
    throttle = Throttle(clock, limit=2, window=10)
    for address in ("a", "b", "c", "d"):
        throttle.record(address)
    assert len(throttle) == 4
    clock.advance(11)
    throttle.record("e")
    assert len(throttle) == 1
