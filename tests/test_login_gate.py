"""
Tests for L{mcc.login_gate}: logins wait while the reactor is behind.
"""

from twisted.internet import defer, task

from mcc.login_gate import LoginGate


def gate_on(clock, **options):
    ran = []

    def run(function, *args):
        ran.append(function(*args))
        return defer.succeed(ran[-1])

    gate = LoginGate(run, clock, interval=0.02, threshold=0.01, per_tick=2, **options)
    gate.startService()
    return gate, ran


def results(deferreds):
    found = []
    for d in deferreds:
        d.addCallback(found.append)
    return found


def test_on_time_a_check_goes_straight_through():
    clock = task.Clock()
    gate, ran = gate_on(clock)
    for _ in range(5):
        clock.advance(0.02)
    assert results([gate(str.upper, "ann")]) == ["ANN"]
    assert not gate.behind and gate.held == 0


def test_behind_checks_wait_then_go_oldest_first_more_each_tick_on_time():
    clock = task.Clock()
    gate, ran = gate_on(clock)
    assert gate.allowance == 2
    # The reactor runs the look 50 ms late: it is behind, and the
    # allowance halves.
    clock.advance(0.07)
    assert gate.behind and gate.allowance == 1
    found = results([gate(str.upper, name) for name in "abcde"])
    assert ran == [] and found == []
    clock.advance(0.02)
    assert not gate.behind
    assert found == ["A"] and gate.allowance == 2
    # Late again: nobody goes, and the allowance halves again.
    clock.advance(0.05)
    assert gate.behind and found == ["A"] and gate.allowance == 1
    # A new check waits behind the others even once on time.
    last = results([gate(str.upper, "f")])
    clock.advance(0.02)
    assert found == ["A", "B"]
    clock.advance(0.02)
    assert found == ["A", "B", "C", "D"]
    clock.advance(0.02)
    assert (found, last) == (["A", "B", "C", "D", "E"], ["F"])
    assert gate.held == 6 and not gate.waiting
    assert results([gate(str.upper, "g")]) == ["G"]


def test_with_time_to_spare_a_long_queue_drains_within_a_few_ticks():
    clock = task.Clock()
    gate, ran = gate_on(clock, most_per_tick=50)
    clock.advance(0.07)
    found = results([gate(str.upper, str(n)) for n in range(300)])
    ticks = 0
    while gate.waiting:
        clock.advance(0.02)
        ticks += 1
    assert len(found) == 300 and found[:3] == ["0", "1", "2"]
    # 1 + 2 + 3 + ... : 24 ticks carry 300; the allowance never passes 50.
    assert ticks == 24 and gate.allowance <= 50
    # Without anyone waiting, ticks on time leave the allowance be.
    allowance = gate.allowance
    for _ in range(10):
        clock.advance(0.02)
    assert gate.allowance == allowance


def test_stopping_lets_every_waiting_check_go():
    clock = task.Clock()
    gate, ran = gate_on(clock)
    clock.advance(0.1)
    found = results([gate(str.upper, name) for name in ("a", "b", "c")])
    gate.stopService()
    assert found == ["A", "B", "C"]
    assert clock.getDelayedCalls() == []


def test_a_failed_check_fails_its_waiter():
    clock = task.Clock()

    def run(function, *args):
        return defer.fail(ValueError("no such key"))

    gate = LoginGate(run, clock, interval=0.02, threshold=0.01)
    gate.startService()
    clock.advance(0.05)
    failures = []
    gate(str.upper, "a").addErrback(failures.append)
    clock.advance(0.02)
    assert [f.type for f in failures] == [ValueError]
    gate.stopService()
