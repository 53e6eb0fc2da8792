"""
Tests for L{bench.monitor}: the administrator's client against a real mcc,
how the monitor's rows are read from what mcc renders, and the figures.
"""

import asyncio
import dataclasses
import datetime
import functools
import io
import json
import sys

import pytest

from bench import chat, chatload, monitor
from bench.roundtrip import Latency
from bench.visitor import Visitor
from bench.xmpp_client import Session
from mcc.admin.activity import fresh_section
from mcc.admin.pages import Pages
from mcc.routing.monitor import LiveChat, LiveQueue, Snapshot, elapsed
from tests.conftest import asyncio_test
from tests.conftest import test_config as mcc_test_config


@pytest.fixture
def server_config(tmp_path):
    return mcc_test_config(tmp_path / "data", allow_plaintext_on_loopback=True)


def rendered(*chats):
    """
    The monitor's answer as mcc renders it, for C{chats}.
    """
    snapshot = Snapshot(7, 1000.0, [LiveQueue("help", [], list(chats))], 60.0)
    pages = Pages()
    context = {"local": datetime.datetime.fromtimestamp, "elapsed": elapsed, "intervene": True}
    section = functools.partial(fresh_section, pages, snapshot, **context)
    return pages.render("activity/_live.html", snapshot=snapshot, section=section, **context).decode("utf-8")


def test_rows_are_found_by_visitor_with_their_state_and_last_message():
    html = rendered(
        LiveChat(3, "vic", "help", "", "web", "waiting", 990.0, None),
        LiveChat(4, "vicky", "help", "Olive", "web", "active", 900.0, 995.5),
    )
    assert monitor.row_of(html, "vic") == (3, "waiting", None)
    chat_id, state, last = monitor.row_of(html, "vicky")
    assert (chat_id, state) == (4, "active") and last.startswith("1970-01-01T")
    assert monitor.row_of(html, "vi") is None


def test_the_session_cookie_of_an_answer():
    assert monitor.cookie_of({"set-cookie": "mcc_admin=abc; Path=/admin; HttpOnly"}) == "mcc_admin=abc"
    assert monitor.cookie_of({}) is None


def test_the_share_of_a_core_at_rest():
    assert monitor.Rest(30.0, 0.6, 1.0).share == pytest.approx(0.02)
    assert monitor.Rest(0.0, 0.0, 0.0).share == 0.0


def run_of(**changes):
    return monitor.MonitorRun(
        chats=1000, active=999, unwatched=monitor.Rest(30.0, 0.3, 0.5), watched=monitor.Rest(30.0, 0.6, 0.7, 2),
        changes={what: Latency.of([0.01, 0.2]) for what in monitor.CHANGES}, missed=1,
        monitor_bytes=1_300_000, errors=0, mcc_peak_rss_kib=140_000, **changes,
    )


def test_a_run_goes_through_json_and_reads_as_text():
    run = run_of()
    assert monitor.MonitorRun.from_dict(json.loads(json.dumps(dataclasses.asdict(run)))) == run
    text = monitor.render(run)
    assert "999 of 1,000 chats under way" in text and "1,270 KiB" in text
    assert "at rest, nobody watching   mcc 1.0 % of a core over 30 s" in text
    assert "mcc 2.0 % of a core over 30 s (2 answers)" in text
    for what in monitor.CHANGES:
        assert f"{what:26} until shown: p50 10 ms, max 200 ms (2 times)" in text
    assert "never shown within 10 s: 1" in text


def test_the_load_generator_runs_the_monitor(tmp_path):
    argv = chatload.command("monitor", 1, 2, "d", 3, tmp_path / "o", chats=1000, rest=30.0, samples=10)
    arguments = chatload._parser().parse_args(argv[3:])
    assert (arguments.kind, arguments.chats, arguments.rest, arguments.samples) == ("monitor", 1000, 30.0, 10)
    assert argv[:3] == [sys.executable, "-m", "bench.chatload"]


def test_the_administrator_is_in_the_store_before_mcc_starts(tmp_path):
    from mcc.config import Config
    from mcc.store import Store

    chat.create_admin(tmp_path, "boss", "pw", now=lambda: 0)
    store = Store.open(Config(data_dir=tmp_path / "data").database_path)
    try:
        assert store.users.get("boss").is_admin
    finally:
        store.close()


@asyncio_test
async def test_an_administrator_watches_a_chat_start_be_taken_and_end(server):
    server.add_user("boss", "pw", is_admin=True)
    server.add_user("op", "pw")
    queue = server.store.queues.add("help", "", now=0)
    server.store.queues.set_operators(queue.id, ["op"])
    session = await Session.open(server.port, server.domain, "op", "pw")
    admin = await monitor.Admin.sign_in(server.http_port, "boss", "pw")
    operator = monitor.WatchedOperator(session)
    visitor = await Visitor.connect(server.http_port)
    shown = await admin.live_version()
    watcher = monitor.Watcher(admin, *await admin.news(-1))
    assert watcher.version == shown
    # One request at a time on the administrator's connection from here.
    tasks = [asyncio.ensure_future(operator.serve()), asyncio.ensure_future(watcher.follow())]
    try:
        assert monitor.row_of(watcher.html, "vic") is None
        await visitor.start("help", "vic")
        assert await watcher.until(lambda html: monitor.row_of(html, "vic") is not None, 10) is not None
        assert monitor.row_of(watcher.html, "vic")[1] == "waiting"
        operator.take(await asyncio.wait_for(operator.offers.get(), 10))
        assert await watcher.until(lambda html: (monitor.row_of(html, "vic") or (0, ""))[1] == "active", 10)
        await visitor.end()
        assert await watcher.until(lambda html: monitor.row_of(html, "vic") is None, 10)
        assert await watcher.until(lambda html: True, 0.2) is None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        visitor.close()
        session.close()
        admin.close()


@asyncio_test
async def test_signing_in_with_a_wrong_password_fails_clearly(server):
    server.add_user("boss", "pw", is_admin=True)
    with pytest.raises(monitor.SignInFailed, match="answered 403"):
        await monitor.Admin.sign_in(server.http_port, "boss", "nope")


def test_the_benchmark_offers_the_monitor(monkeypatch):
    from bench import __main__ as bench_main

    arguments = bench_main._parser().parse_args(["--monitor-chats", "1000"])
    assert arguments.monitor_chats == 1000
    assert bench_main._parser().parse_args([]).monitor_chats == 0
    assert "--chats" in io.StringIO(monitor._parser().format_help()).getvalue()
