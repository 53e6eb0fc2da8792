"""
The login flood: its accounts, its even rate, its report, its command line.
"""

import asyncio
import io
import json
import sys

from bench import chatload, flood
from bench.flood import FloodPlan, Logins
from tests.conftest import asyncio_test


def test_accounts_of_their_own():
    assert flood.accounts(2) == [("flooder1", "flood-secret1"), ("flooder2", "flood-secret2")]


def test_the_command_line_parses_back():
    argv = flood.command(5222, "bench.test", FloodPlan(2000, 10.0, 5.0))
    assert argv[:4] == [sys.executable, "-m", "bench.chatload", "login-flood"]
    arguments = chatload._parser().parse_args(argv[3:])
    assert (arguments.kind, arguments.xmpp_port, arguments.domain) == (
        "login-flood", 5222, "bench.test",
    )
    assert (arguments.logins, arguments.seconds, str(arguments.output)) == (2000, 10.0, "-")


def test_the_round_trip_passes_its_flood_on(tmp_path):
    argv = chatload.command(
        "round-trip", 1, 2, "d", 3, tmp_path / "o", chats=10, flood_logins=200,
        flood_seconds=2.0, flood_after=1.0,
    )
    arguments = chatload._parser().parse_args(argv[3:])
    assert (arguments.flood_logins, arguments.flood_seconds, arguments.flood_after) == (
        200, 2.0, 1.0,
    )


@asyncio_test
async def test_logins_come_at_an_even_rate_and_failures_are_counted():
    loop_time = []

    async def open_session(port, domain, username, password, resource):
        loop_time.append(asyncio.get_running_loop().time())
        if username == "flooder3":
            raise ConnectionError("refused")
        await asyncio.sleep(0.01)
        return username

    logins, sessions = await flood.log_in_all(
        5222, "d", 4, 0.2, clock=asyncio.get_running_loop().time, open_session=open_session
    )
    assert sorted(sessions) == ["flooder1", "flooder2", "flooder4"]
    assert logins.failed == 1 and len(logins.durations) == 3
    assert all(0.009 < duration < 0.2 for duration in logins.durations)
    gaps = [later - earlier for earlier, later in zip(loop_time, loop_time[1:])]
    assert all(0.03 < gap < 0.09 for gap in gaps), gaps
    assert 0.15 < logins.ended - logins.started < 0.5


@asyncio_test
async def test_the_flood_process_reports_then_holds_until_told(monkeypatch):
    closed = []

    class Session:
        def close(self):
            closed.append(self)

    async def log_in_all(port, domain, count, seconds):
        return Logins(1.0, 2.0, [0.005] * count, 0), [Session(), Session()]

    monkeypatch.setattr(flood, "log_in_all", log_in_all)
    out, stop = io.StringIO(), asyncio.Event()
    task = asyncio.ensure_future(flood.flood_and_hold(1, "d", 3, 1.0, out=out, stop=stop))
    while not out.getvalue():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert not task.done() and closed == []
    stop.set()
    logins = await asyncio.wait_for(task, 5)
    assert json.loads(out.getvalue()) == {
        "started": 1.0, "ended": 2.0, "durations": [0.005] * 3, "failed": 0,
    }
    assert logins.failed == 0 and len(closed) == 2

