"""
Tests for L{mcc.routing.waiter}: one long poll for every kind of news.
"""

from twisted.internet import defer
from twisted.internet.task import Clock

from mcc.routing.waiter import Waiter


def make_waiter(timeout=25):
    clock = Clock()
    return clock, Waiter(clock, timeout)


def fired(deferred):
    results = []
    deferred.addBoth(results.append)
    return results


def test_news_already_there_is_answered_at_once():
    clock, waiter = make_waiter()
    assert fired(waiter.wait("chat", 3, 5)) == [5]
    assert waiter.count() == 0
    assert clock.getDelayedCalls() == []


def test_a_cursor_of_another_kind_counts_as_old():
    _, waiter = make_waiter()
    assert fired(waiter.wait("feed", None, 0)) == [0]
    assert fired(waiter.wait("snippet", "", "ab12")) == ["ab12"]


def test_a_notify_wakes_the_listener_with_the_new_position():
    clock, waiter = make_waiter()
    result = fired(waiter.wait("chat", 3, 3))
    assert result == []
    waiter.notify("chat", 4)
    assert result == [4]
    assert waiter.count() == 0
    assert clock.getDelayedCalls() == []


def test_a_notify_of_the_same_position_keeps_the_listener_waiting():
    _, waiter = make_waiter()
    result = fired(waiter.wait("snippet", "ab12", "ab12"))
    waiter.notify("snippet", "ab12")
    assert result == []
    waiter.notify("snippet", "cd34")
    assert result == ["cd34"]


def test_a_notify_of_another_key_wakes_nobody():
    _, waiter = make_waiter()
    result = fired(waiter.wait("chat 1", 0, 0))
    waiter.notify("chat 2", 1)
    assert result == []
    assert waiter.count("chat 1") == 1


def test_a_notify_before_the_wait_is_not_lost():
    _, waiter = make_waiter()
    waiter.notify("chat", 4)
    # The client's cursor is behind the position it is told of.
    assert fired(waiter.wait("chat", 3, 4)) == [4]


def test_a_notify_after_an_answer_changes_nothing():
    clock, waiter = make_waiter()
    result = fired(waiter.wait("chat", 3, 3))
    waiter.notify("chat", 4)
    waiter.notify("chat", 5)
    clock.advance(25)
    assert result == [4]


def test_without_news_the_wait_ends_with_the_cursor_after_the_timeout():
    clock, waiter = make_waiter(timeout=25)
    result = fired(waiter.wait("chat", 3, 3))
    clock.advance(24)
    assert result == []
    clock.advance(1)
    assert result == [3]
    assert waiter.count() == 0
    waiter.notify("chat", 4)
    assert result == [3]


def test_a_wait_may_name_its_own_timeout():
    clock, waiter = make_waiter(timeout=25)
    short, default = fired(waiter.wait("k", 0, 0, timeout=5)), fired(waiter.wait("k", 0, 0))
    clock.advance(5)
    assert (short, default) == ([0], [])
    clock.advance(20)
    assert default == [0]


def test_a_cancelled_wait_frees_its_listener_and_timer():
    clock, waiter = make_waiter()
    waiting = waiter.wait("chat", 3, 3)
    result = fired(waiting)
    waiting.cancel()
    assert result[0].check(defer.CancelledError)
    assert waiter.count() == 0
    assert waiter.keys() == []
    assert clock.getDelayedCalls() == []
    waiter.notify("chat", 4)
    clock.advance(25)
    assert len(result) == 1


def test_cancelling_one_of_many_leaves_the_others_waiting():
    clock, waiter = make_waiter()
    first, second = waiter.wait("chat", 0, 0), waiter.wait("chat", 0, 0)
    first.addErrback(lambda failure: failure.trap(defer.CancelledError))
    first.cancel()
    result = fired(second)
    assert waiter.count("chat") == 1
    waiter.notify("chat", 1)
    assert result == [1]


def test_every_listener_of_a_key_hears_with_its_own_cursor_in_mind():
    clock, waiter = make_waiter()
    behind = [fired(waiter.wait("chat", 2, 2)) for _ in range(50)]
    ahead = fired(waiter.wait("chat", 3, 2))
    assert ahead == [2]
    waiter.notify("chat", 2)
    assert all(result == [] for result in behind)
    waiter.notify("chat", 3)
    assert all(result == [3] for result in behind)
    assert waiter.count() == 0
    assert clock.getDelayedCalls() == []


def test_an_answer_that_cancels_another_listener_does_not_answer_it_twice():
    _, waiter = make_waiter()
    first, second = waiter.wait("chat", 0, 0), waiter.wait("chat", 0, 0)
    first.addCallback(lambda _: second.cancel())
    result = fired(second)
    waiter.notify("chat", 1)
    assert len(result) == 1 and result[0].check(defer.CancelledError)


def test_an_answer_may_wait_again_for_the_next_change():
    _, waiter = make_waiter()
    results = []

    def answered(position):
        results.append(position)
        if len(results) < 3:
            waiter.wait("chat", position, position).addCallback(answered)

    waiter.wait("chat", 0, 0).addCallback(answered)
    waiter.notify("chat", 1)
    waiter.notify("chat", 2)
    waiter.notify("chat", 3)
    assert results == [1, 2, 3]
    assert waiter.count() == 0


def test_keys_name_what_somebody_waits_for():
    _, waiter = make_waiter()
    waiter.wait("a", 0, 0)
    waiter.wait("b", 0, 0)
    waiter.wait("b", 1, 1)
    assert sorted(waiter.keys()) == ["a", "b"]
    assert (waiter.count("a"), waiter.count("b"), waiter.count()) == (1, 2, 3)


def test_release_answers_everyone_with_their_cursor():
    clock, waiter = make_waiter()
    results = [fired(waiter.wait("a", 0, 0)), fired(waiter.wait("b", "x", "x"))]
    waiter.release()
    assert results == [[0], ["x"]]
    assert waiter.count() == 0
    assert clock.getDelayedCalls() == []
