"""
The chat round trip against a real mcc: visitors on its HTTP API,
operators on its XMPP port, all in this process.
"""

import dataclasses
import json
import os
import random

import pytest

from bench import flood, roundtrip
from bench.flood import FloodPlan
from bench.roundtrip import FloodRun, Latency, Plan, RoundTrip, Timings
from tests.conftest import asyncio_test
from tests.conftest import test_config as mcc_test_config


@pytest.fixture
def server_config(tmp_path):
    return mcc_test_config(tmp_path / "data", allow_plaintext_on_loopback=True)


def staff(server, chats):
    people = []
    for number in range(1, chats + 1):
        username, password, queue = f"op{number}", f"pw{number}", f"queue{number}"
        server.add_user(username, password)
        created = server.store.queues.add(queue, "", now=0)
        server.store.queues.set_operators(created.id, [username])
        people.append((username, password, queue))
    return people


@asyncio_test
async def test_every_message_and_reply_is_timed(server):
    plan = Plan(chats=3, messages=2, interval=0.2)
    result = await roundtrip.run(
        plan, server.port, server.http_port, server.domain, staff(server, 3),
        os.getpid(), random.Random(7),
    )
    assert (result.operators, result.answered, result.sent, result.errors) == (3, 3, 6, 0)
    assert result.to_operator.count == result.to_visitor.count == 6
    assert result.lost == 0
    assert 0 < result.to_operator.p50_ms <= result.to_operator.max_ms < 5000
    assert 0 < result.to_visitor.p50_ms <= result.to_visitor.max_ms < 5000
    assert 0.2 <= result.seconds < 5
    chats = [server.store.chats.by_id(number) for number in (1, 2, 3)]
    assert {(chat.state, chat.closed_by) for chat in chats} == {("closed", "visitor")}
    assert sorted(chat.operator for chat in chats) == ["op1", "op2", "op3"]
    (first,) = [chat for chat in chats if chat.visitor_name == "visitor1"]
    assert first.queue == "queue1"
    events = server.store.chats.events_after(first.id, 0)
    texts = [event.data["text"] for event in events if event.kind == "message"]
    assert texts == [
        roundtrip.GREETING,
        "visitor1 says 0", "Re: visitor1 says 0",
        "visitor1 says 1", "Re: visitor1 says 1",
    ]


def test_percentiles_are_nearest_rank():
    latency = Latency.of([n / 1000 for n in range(100, 0, -1)])
    assert latency.count == 100
    assert [latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.max_ms] == pytest.approx(
        [50, 95, 99, 100]
    )
    assert Latency.of([0.002]) == Latency(1, 2.0, 2.0, 2.0, 2.0)
    assert Latency.of([]) == Latency(0, 0.0, 0.0, 0.0, 0.0)


def test_timings_pair_each_message_with_its_delivery():
    now = [10.0]
    timings = Timings(lambda: now[0])
    timings.posting("a")
    timings.posting("b")
    now[0] = 10.5
    assert timings.operator_read("a")
    assert not timings.operator_read("a")
    assert not timings.operator_read("unknown")
    timings.replying("Re: a")
    timings.post_failed("b")
    assert timings.in_flight == 1
    now[0] = 10.75
    assert timings.visitor_read("Re: a")
    assert (timings.to_operator, timings.to_visitor) == ([0.5], [0.25])
    assert (timings.in_flight, timings.errors, timings.last_delivery) == (0, 1, 10.75)
    assert timings.sent_between(timings.to_operator, 9, 10) == [0.5]
    assert timings.sent_between(timings.to_operator, 10.1, 11) == []
    assert timings.sent_between(timings.to_visitor, 10.5, 10.5) == [0.25]


def result(**fields):
    values = dict(
        plan=Plan(chats=10, messages=3, interval=2.0),
        operators=10,
        answered=10,
        sent=30,
        to_operator=Latency(30, 1.0, 2.0, 3.0, 4.0),
        to_visitor=Latency(28, 0.5, 1.0, 1.5, 2.0),
        seconds=5.8,
        errors=0,
        server_cpu_seconds=0.5,
        server_peak_rss_kib=70_000,
        load_cpu_seconds=0.2,
        host_busy_cores=0.3,
    )
    values.update(fields)
    return RoundTrip(**values)


def test_result_figures_and_its_json_form():
    trip = result()
    assert trip.plan.offered_rate == 5.0
    assert trip.delivered_per_second == pytest.approx(58 / 5.8)
    assert trip.lost == 2
    assert result(seconds=0).delivered_per_second == 0.0
    assert RoundTrip.from_dict(json.loads(json.dumps(dataclasses.asdict(trip)))) == trip
    flooded = result(flood=FloodRun(
        plan=FloodPlan(100, 1.0, 0.5), logins=99, failed=1, seconds=1.1,
        login_mean_ms=5.0, login_p99_ms=9.0, login_max_ms=12.0,
        to_operator=Latency(3, 1.0, 2.0, 3.0, 4.0), to_visitor=Latency(3, 1.0, 2.0, 3.0, 4.0),
        server_cpu_seconds=0.4, host_busy_cores=0.9,
    ))
    assert RoundTrip.from_dict(json.loads(json.dumps(dataclasses.asdict(flooded)))) == flooded


@asyncio_test
async def test_a_login_flood_during_the_round_trip(server):
    plan = Plan(chats=2, messages=6, interval=0.25)
    for username, password in flood.accounts(20):
        server.add_user(username, password)
    result = await roundtrip.run(
        plan, server.port, server.http_port, server.domain, staff(server, 2),
        os.getpid(), random.Random(7), flood=FloodPlan(20, 0.5, 0.25),
    )
    assert (result.sent, result.errors, result.lost) == (12, 0, 0)
    run = result.flood
    assert (run.logins, run.failed) == (20, 0)
    assert 0.4 < run.seconds < 5
    assert 0 < run.login_mean_ms <= run.login_p99_ms <= run.login_max_ms
    # The messages sent while the flood lasted, a part of all of them.
    assert 0 < run.to_operator.count < result.to_operator.count
