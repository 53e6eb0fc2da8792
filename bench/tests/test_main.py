"""
The command line of the benchmark.
"""

import io

from bench.__main__ import _chat_plans, _loads, _parser, main
from bench.roundtrip import Plan


def test_default_loads_are_200_and_1000_users():
    loads = _loads(_parser().parse_args([]))
    assert [load.users for load in loads] == [200, 1000]
    assert {(load.chat_seconds, load.message_interval) for load in loads} == {(30.0, 1.0)}


def test_smoke_is_small():
    (load,) = _loads(_parser().parse_args(["--smoke"]))
    assert load.users == 20
    assert load.chat_seconds + load.arrival_seconds + load.drain_seconds < 20


def test_default_chats_are_100_and_1000():
    arguments = _parser().parse_args([])
    assert _chat_plans(arguments) == [Plan(100, 20, 2.0), Plan(1000, 20, 2.0)]
    assert arguments.idle_visitors == 10_000


def test_chats_can_be_chosen_or_skipped():
    arguments = _parser().parse_args(
        ["--chats", "50", "--visitor-messages", "3", "--visitor-interval", "0.5"]
    )
    assert _chat_plans(arguments) == [Plan(50, 3, 0.5)]
    assert _chat_plans(_parser().parse_args(["--chats", "0"])) == []


def test_smoke_has_about_ten_chats():
    assert _chat_plans(_parser().parse_args(["--smoke"])) == [Plan(10, 5, 0.5)]


def test_missing_tools_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = io.StringIO()
    assert main(["--smoke"], out=out) == 1
    assert "missing tsung, erl, epmd, prosody" in out.getvalue()


def test_the_peer_and_archive_runs_take_the_first_size_unless_told():
    from bench.__main__ import _peer_plan

    arguments = _parser().parse_args([])
    assert _peer_plan(arguments, _chat_plans(arguments)) == _chat_plans(arguments)[0]
    assert arguments.detached_sessions == 1000
    chosen = _parser().parse_args(["--peer-chats", "300"])
    assert _peer_plan(chosen, _chat_plans(chosen)) == Plan(300, 20, 2.0)
    skipped = _parser().parse_args(["--peer-chats", "0"])
    assert _peer_plan(skipped, _chat_plans(skipped)) is None
    smoke = _parser().parse_args(["--smoke"])
    assert _peer_plan(smoke, _chat_plans(smoke)) == Plan(10, 5, 0.5)


def test_the_login_flood_runs_at_100_and_1000_chats_unless_told():
    from bench.__main__ import _flood_plan
    from bench.flood import FloodPlan

    arguments = _parser().parse_args([])
    assert _flood_plan(arguments) == FloodPlan(2000, 10.0, 5)
    assert _chat_plans(arguments, arguments.flood_chats) == [Plan(100, 20, 2.0), Plan(1000, 20, 2.0)]
    chosen = _parser().parse_args(["--flood-chats", "300", "--flood-logins", "500"])
    assert _chat_plans(chosen, chosen.flood_chats) == [Plan(300, 20, 2.0)]
    assert _flood_plan(chosen).logins == 500
    assert _flood_plan(_parser().parse_args(["--flood-logins", "0"])) is None
    smoke = _parser().parse_args(["--smoke"])
    assert _chat_plans(smoke, smoke.flood_chats) == [Plan(10, 5, 0.5)]
    assert _flood_plan(smoke) == FloodPlan(100, 1, 0.5)
