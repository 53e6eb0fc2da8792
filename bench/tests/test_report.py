"""
The plain-text report.
"""

import cProfile
import select

from bench import report
from bench.chat import ChatRun
from bench.compare import ServerRun
from bench.idle import IdleRun
from bench.idle_visitors import IdleVisitors
from bench.roundtrip import Latency, Plan, RoundTrip
from bench.tsung import Load

LOAD = Load(users=200, chat_seconds=60, message_interval=2)


def server_run(server, **figures):
    values = dict(
        logged_in=200,
        sent=6000,
        delivered=6000,
        connect_ms=0.5,
        login_ms=2.0,
        latency_ms=1.0,
        latency_max_ms=10.0,
        errors=0,
        server_cpu_seconds=4.0,
        server_peak_rss_kib=20 * 1024,
        tsung_cpu_seconds=9.0,
        host_busy_cores=1.2,
    )
    values.update(figures)
    return ServerRun(server=server, load=LOAD, **values)


def test_ratio():
    assert report.ratio(3, 2) == "1.50"
    assert report.ratio(1, 0) == "-"


def test_table_shows_both_servers_and_the_ratio():
    lines = report.table(
        "title",
        report.THROUGHPUT_ROWS,
        server_run("Prosody"),
        server_run("mcc", server_cpu_seconds=10.0, server_peak_rss_kib=70 * 1024, errors=2),
    )
    assert lines[0] == "title"
    assert lines[1].split() == ["Prosody", "mcc", "mcc/Prosody"]
    rows = {line[:30].strip(): line[30:].split() for line in lines[2:]}
    assert rows["server CPU (s)"] == ["4.00", "10.00", "2.50"]
    assert rows["server peak RSS (MiB)"] == ["20.0", "70.0", "3.50"]
    assert rows["delivered per second"] == ["100.0", "100.0", "1.00"]
    assert rows["errors"] == ["0", "2"]
    assert rows["users logged in"] == ["200", "200"]


def test_report_says_what_it_measured_and_how():
    idle = (
        IdleRun("Prosody", 1000, 1000, 10240, 20480, 21504),
        IdleRun("mcc", 1000, 1000, 61440, 81920, 83968),
    )
    throughput = [(server_run("Prosody"), server_run("mcc"))]
    text = report.render("python -m bench", throughput, idle, 1000)
    assert "200 users, one chat message each every 2 s (100 msg/s offered) for 60 s" in text
    assert "Idle cost: 1000 idle XMPP sessions" in text
    assert "per session (KiB)                    10.2        20.5            2.00" in text
    assert "peak RSS (MiB)                       21.0        82.0            3.90" in text
    assert "--allow-plaintext-on-loopback" in text
    assert "Command: python -m bench" in text
    assert "Host: " in text and "cores" in text
    assert "Chat round trip" not in text and "no exact equivalent" not in text


def chat_run(chats, p50):
    trip = RoundTrip(
        plan=Plan(chats=chats, messages=30, interval=2.0),
        operators=chats,
        answered=chats,
        sent=30 * chats,
        to_operator=Latency(30 * chats, p50, 2 * p50, 3 * p50, 10 * p50),
        to_visitor=Latency(30 * chats, p50 / 2, p50, 2 * p50, 5 * p50),
        seconds=60.0,
        errors=0,
        server_cpu_seconds=30.0,
        server_peak_rss_kib=100 * 1024,
        load_cpu_seconds=6.0,
        host_busy_cores=0.8,
    )
    return ChatRun(trip, load_total_cpu_seconds=9.5)


def test_chat_round_trip_has_a_column_per_size():
    lines = report.chat_table([chat_run(100, 1.0), chat_run(1000, 4.0)])
    assert lines[0].startswith("Chat round trip: each visitor (HTTP long polling) sends 30")
    assert lines[1].split() == ["100", "chats", "1000", "chats"]
    rows = {line[:36].strip(): line[36:].split() for line in lines[2:]}
    assert rows["visitor messages offered"] == ["50/s", "500/s"]
    assert rows["visitor -> operator p99 (ms)"] == ["3.00", "12.00"]
    assert rows["operator -> visitor max (ms)"] == ["5.0", "20.0"]
    assert rows["delivered per second (both ways)"] == ["100.0", "1000.0"]
    assert rows["mcc busy (% of a core)"] == ["50", "50"]
    assert rows["load generator busy (% of a core)"] == ["10", "10"]
    assert rows["load generator CPU, whole run (s)"] == ["9.50", "9.50"]
    assert rows["mcc peak RSS (MiB)"] == ["100.0", "100.0"]


def test_report_with_the_chat_path():
    visitors = IdleVisitors(10_000, 10_000, 9_990, 7.5, 10, 70 * 1024, 220 * 1024)
    text = report.render(
        "python -m bench", [(server_run("Prosody"), server_run("mcc"))], None, 0,
        chats=[chat_run(100, 1.0)], idle_visitors=visitors,
    )
    assert "Idle cost: 10000 idle long-polling visitors" in text
    figures = {line[:40].strip(): line[40:].strip() for line in text.splitlines()}
    assert figures["per visitor (KiB)"] == "15.4"
    assert figures["polls waiting"] == "9990"
    assert "no exact equivalent in Prosody; its peer is Prosody's BOSH" in text
    assert "--chat-start-limit" in text
    order = [text.index(title) for title in ("Chat round trip", "Idle cost: 10000", "Both servers")]
    assert order == sorted(order)


def busy_for_the_report():
    return sum(i * i for i in range(200_000))


def test_hottest_names_the_busy_functions_and_leaves_waiting_out(tmp_path):
    profiler = cProfile.Profile()
    poller = select.epoll()
    profiler.runcall(lambda: (busy_for_the_report(), poller.poll(0.3)))
    poller.close()
    path = tmp_path / "mcc.prof"
    profiler.dump_stats(path)
    lines = report.hottest(path, LOAD, limit=5)
    assert lines[0].startswith("Where mcc's time goes: cProfile of mcc under the 200-user load")
    assert len(lines) == 2 + 5
    assert any("busy_for_the_report (bench/tests/test_report.py:" in line for line in lines)
    assert not any("poll" in line for line in lines[2:])


def test_host_lines_beside_each_section_and_the_new_tables():
    from bench.host import Calibration, Host
    from bench.idle import DetachedRun

    calibration = Calibration(200.0, 100.0, (2.0, 1.0, 0.5))
    detached = (DetachedRun("Prosody", 100, 100, 10240, 15360, 15360),
                DetachedRun("mcc", 100, 100, 61440, 64000, 63000))
    off, on = chat_run(100, 1.0), chat_run(100, 1.5)
    text = report.render(
        "python -m bench", [(server_run("Prosody"), server_run("mcc"))], None, 0,
        chats=[on], detached=detached, archive=(off, on), peer=(off, on),
        host=Host("Test CPU", 2, "Linux 6", "CPython 3.11.7"),
        beside={"start": calibration, "tsung-200": calibration, "detached": calibration,
                "chats-100": calibration, "archive": calibration, "peer": calibration},
    )
    lines = text.splitlines()
    assert lines[2].startswith("Host: Test CPU, 2 cores, Linux 6, CPython 3.11.7")
    assert "At the start, host now: calibration 200 ms Python loop" in text
    assert text.count("host now: calibration 200 ms") == 6
    assert "Resumable sessions: 100 XMPP sessions" in text
    assert any(line.startswith("per session detached (KiB)") and line.split()[-3:] == ["51.2", "15.6", "0.30"]
               for line in lines)
    assert "archive off   archive on  archive on/archive off" in text
    assert "Prosody+BOSH" in text and "mod_bosh" in text
    cpu = [line for line in lines if line.startswith("server CPU per message (ms)")]
    # 30 s of CPU over 6,000 messages, both tables; ratio 1.00.
    assert [line.split()[-3:] for line in cpu] == [["5.000", "5.000", "1.00"]] * 2


def test_the_login_flood_table_sets_the_flood_beside_the_whole_phase():
    import dataclasses

    from bench.flood import FloodPlan
    from bench.roundtrip import FloodRun

    run = chat_run(100, 1.0)
    flooded = FloodRun(
        plan=FloodPlan(2000, 10.0, 5.0), logins=1998, failed=2, seconds=10.2,
        login_mean_ms=5.25, login_p99_ms=21.5, login_max_ms=54.0,
        to_operator=Latency(500, 1.3, 3.0, 4.9, 12.0), to_visitor=Latency(500, 1.4, 2.7, 5.1, 8.8),
        server_cpu_seconds=7.65, host_busy_cores=1.09,
    )
    run = dataclasses.replace(run, trip=dataclasses.replace(run.trip, flood=flooded))
    text = report.render(
        "python -m bench", [(server_run("Prosody"), server_run("mcc"))], None, 0, flood=[run],
    )
    assert ("Login flood: 2000 XMPP logins in 10 s, 5 s into the chat round trip of 100 chats"
            in text)
    rows = {line[:30].strip(): line[30:].split() for line in text.splitlines()}
    assert rows["logins completed"] == ["1998"] and rows["logins failed"] == ["2"]
    assert rows["login time p99 (ms)"] == ["21.5"]
    assert rows["chat messages sent"] == ["3000", "500"]
    assert rows["visitor -> operator max (ms)"] == ["10.0", "12.0"]
    assert rows["mcc busy (% of a core)"] == ["50", "75"]
    assert "keeps them until the" in text
