"""
One server's figures, as read from tsung's statistics.
"""

import pytest

from bench.compare import ServerRun
from bench.tests.test_tsung import TSUNG_LOG
from bench.tsung import Load, Stats

MEASURED = dict(
    server_cpu_seconds=1.5,
    server_peak_rss_kib=2048,
    tsung_cpu_seconds=3.0,
    host_busy_cores=0.5,
)


def test_figures_come_from_the_matching_statistics():
    load = Load(users=10, chat_seconds=8)
    run = ServerRun.from_stats("mcc", load, Stats.parse(TSUNG_LOG), **MEASURED)
    assert (run.server, run.load) == ("mcc", load)
    assert run.logged_in == 8
    assert run.sent == 80
    assert run.delivered == 80
    assert run.connect_ms == pytest.approx(1.2656)
    assert run.login_ms == pytest.approx(1.3044)
    assert run.latency_ms == pytest.approx((2.2 * 25 + 1.4 * 55) / 80)
    assert run.latency_max_ms == 9.5
    assert run.errors == 5
    assert run.server_cpu_seconds == 1.5
    assert run.delivered_per_second == 10.0
