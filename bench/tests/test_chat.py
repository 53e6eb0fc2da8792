"""
The chat benchmarks' driver: mcc's options, the open-files check, and one
small run of each benchmark through real processes (twistd and the load
generator).
"""

import os
import resource

import pytest

from bench import chat
from bench.processes import ProcessFailed, Processes
from bench.roundtrip import Plan


def test_options_let_every_chat_in():
    assert chat.mcc_options(1000) == ["--chat-start-limit", "1000"]
    assert chat.mcc_options(5, archive=False) == [
        "--chat-start-limit", "5", "--no-message-archive"
    ]
    assert chat.mcc_options(10_000, 3600) == [
        "--chat-start-limit", "10000", "--answer-timeout", "3600"
    ]
    assert chat.mcc_options(10_000, 3600)[-2:] == ["--answer-timeout", "3600"]


def test_too_few_open_files_are_reported_with_the_remedy():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    chat.check_open_files(os.getpid(), soft - chat.SPARE_FILES)
    with pytest.raises(ProcessFailed, match=r"mcc may open \d+ files.*ulimit -n"):
        chat.check_open_files(os.getpid(), soft)


@pytest.fixture
def processes():
    running = Processes()
    yield running
    running.stop_all()


def test_a_small_round_trip(tmp_path, processes):
    run = chat.measure_round_trip(processes, tmp_path, Plan(chats=2, messages=2, interval=0.2))
    trip = run.trip
    assert (trip.operators, trip.answered, trip.sent, trip.errors, trip.lost) == (2, 2, 4, 0, 0)
    assert trip.to_operator.count == trip.to_visitor.count == 4
    assert trip.server_peak_rss_kib > 10_000
    assert run.load_total_cpu_seconds > trip.load_cpu_seconds > 0
    assert (tmp_path / "chat-2" / "round-trip.json").exists()


def test_more_idle_visitors_than_the_default_flood_limit(tmp_path, processes):
    run = chat.measure_idle_visitors(processes, tmp_path, 15)
    assert (run.visitors, run.started, run.polling, run.errors) == (15, 15, 15, 0)
    assert run.rss_after_kib > run.rss_before_kib > 10_000


def test_a_small_round_trip_against_prosody_with_bosh(tmp_path, processes):
    run = chat.measure_bosh_round_trip(processes, tmp_path, Plan(chats=2, messages=2, interval=0.2))
    trip = run.trip
    assert (trip.operators, trip.answered, trip.sent, trip.errors, trip.lost) == (2, 2, 4, 0, 0)
    assert trip.to_operator.count == trip.to_visitor.count == 4
    assert trip.server_cpu_seconds >= 0 and trip.server_peak_rss_kib > 5_000
    assert (tmp_path / "bosh-2" / "bosh-round-trip.json").exists()


def test_a_small_round_trip_without_the_archive(tmp_path, processes):
    run = chat.measure_round_trip(
        processes, tmp_path, Plan(chats=2, messages=2, interval=0.2), archive=False
    )
    assert (run.trip.answered, run.trip.lost, run.trip.errors) == (2, 0, 0)
    assert (tmp_path / "chat-2-no-archive" / "round-trip.json").exists()
