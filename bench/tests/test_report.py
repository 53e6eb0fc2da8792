"""
The plain-text report.
"""

import cProfile
import select

from bench import report
from bench.compare import ServerRun
from bench.idle import IdleRun
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
    idle = (IdleRun("Prosody", 1000, 1000, 10240, 20480), IdleRun("mcc", 1000, 1000, 61440, 81920))
    throughput = [(server_run("Prosody"), server_run("mcc"))]
    text = report.render("python -m bench", throughput, idle, 1000)
    assert "200 users, one chat message each every 2 s (100 msg/s offered) for 60 s" in text
    assert "Idle cost: 1000 idle XMPP sessions" in text
    assert "per session (KiB)                    10.2        20.5            2.00" in text
    assert "--allow-plaintext-on-loopback" in text
    assert "chat round trip" in text
    assert "Command: python -m bench" in text
    assert "Machine: " in text


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
