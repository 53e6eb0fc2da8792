"""
The command line of the benchmark.
"""

import io

from bench.__main__ import _loads, _parser, main


def test_default_loads_are_200_and_1000_users():
    loads = _loads(_parser().parse_args([]))
    assert [load.users for load in loads] == [200, 1000]
    assert {(load.chat_seconds, load.message_interval) for load in loads} == {(60.0, 1.0)}


def test_smoke_is_small():
    (load,) = _loads(_parser().parse_args(["--smoke"]))
    assert load.users == 20
    assert load.chat_seconds + load.arrival_seconds + load.drain_seconds < 20


def test_missing_tools_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = io.StringIO()
    assert main(["--smoke"], out=out) == 1
    assert "missing tsung, erl, epmd, prosody" in out.getvalue()
