"""
The garbage collector's oldest generation collected on a clock, and every
pause measured (L{mcc.collector}).
"""

import gc
import weakref

import pytest
from twisted.internet.task import Clock

from mcc.collector import NEVER, GarbageCollection, Pauses


class Collector:
    """
    The C{gc} module's calls the service makes, recorded; a collection
    takes C{took} seconds of the test's timer and tells its callbacks.
    """

    def __init__(self, timer):
        self.calls = []
        self.callbacks = []
        self.threshold = (700, 10, 10)
        self.timer = timer

    def collect(self, generation=2):
        self.calls.append(("collect", generation))
        for callback in list(self.callbacks):
            callback("start", {"generation": generation})
        self.timer.now += 0.150
        for callback in list(self.callbacks):
            callback("stop", {"generation": generation, "collected": 0, "uncollectable": 0})

    def freeze(self):
        self.calls.append("freeze")

    def unfreeze(self):
        self.calls.append("unfreeze")

    def get_threshold(self):
        return self.threshold

    def set_threshold(self, *threshold):
        self.threshold = threshold


class Timer:
    now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def collection():
    timer = Timer()
    clock = Clock()
    collector = Collector(timer)
    return GarbageCollection(clock, 60.0, collector, timer), collector, clock


def test_start_up_is_frozen_and_the_oldest_generation_left_to_the_clock(collection):
    service, collector, clock = collection
    service.startService()
    assert collector.calls == [("collect", 2), "freeze"]
    assert collector.threshold == (700, 10, NEVER)
    clock.advance(59)
    assert collector.calls == [("collect", 2), "freeze"]
    clock.advance(1)
    assert collector.calls[-1] == ("collect", 2)
    clock.advance(60)
    assert collector.calls.count(("collect", 2)) == 3


def test_every_pause_is_measured_by_generation(collection):
    service, collector, clock = collection
    service.startService()
    for callback in collector.callbacks:
        callback("start", {"generation": 0})
    collector.timer.now += 0.002
    for callback in collector.callbacks:
        callback("stop", {"generation": 0, "collected": 3, "uncollectable": 0})
    clock.advance(60)
    pauses = service.pauses
    assert pauses.count == [1, 0, 1]
    assert pauses.longest[0] == pytest.approx(2.0)
    assert pauses.longest[2] == pytest.approx(150.0)


def test_stopping_gives_the_collector_back_as_it_was(collection):
    service, collector, clock = collection
    service.startService()
    service.stopService()
    assert collector.calls[-1] == "unfreeze"
    assert collector.threshold == (700, 10, 10)
    assert collector.callbacks == []
    clock.advance(600)
    assert collector.calls.count(("collect", 2)) == 1


def test_the_summary_names_each_generation():
    pauses = Pauses()
    pauses.add(1, 6.25)
    pauses.add(1, 3.0)
    assert pauses.summary() == (
        "generation 0: 0 collections, 0 ms in all, the longest 0.0 ms; "
        "generation 1: 2 collections, 9 ms in all, the longest 6.2 ms; "
        "generation 2: 0 collections, 0 ms in all, the longest 0.0 ms"
    )


class Cycle:
    pass


def test_with_the_real_collector_cycles_of_the_oldest_generation_wait_for_the_clock():
    clock = Clock()
    service = GarbageCollection(clock, 60.0)
    service.startService()
    try:
        cycle = Cycle()
        cycle.itself = cycle
        ref = weakref.ref(cycle)
        gc.collect(1)  # Alive: now in the oldest generation.
        del cycle
        # Enough survivors that CPython, left alone, would collect the
        # oldest generation on its own: it does not.
        survivors = [[] for _ in range(300_000)]
        assert ref() is not None
        del survivors
        clock.advance(60)
        assert ref() is None
        assert service.pauses.count[2] >= 1
    finally:
        service.stopService()
    assert gc.get_threshold()[2] != NEVER
