"""
The tsung scenario the benchmark writes and the figures it reads back.
"""

import xml.etree.ElementTree as ElementTree

import pytest

from bench import tsung
from bench.tsung import Load, Sample, Stats

# Two dumps of a real run (20 users), trimmed: the second interval is the
# end of the run, where most samples got nothing new.
TSUNG_LOG = """\
# stats: dump at 1795605427
stats: users 10 10
stats: {cpu,"tsung_controller_bench1@vm"} 1 5.63 0 5.63 5.63 0 0
stats: connect 10 1.2656 0.68 2.642 0.427 0 0
stats: tr_chat 60 0.2046 0.12 0.457 0.017 0 0
stats: tr_login 10 1.3044 0.93 3.892 0.578 0 0
stats: match 8 8
stats: xmpp_msg_latency 55 1.4 0.73 3.664 0.152 0 0
stats: connected 10 10
# stats: dump at 1795605430
stats: users 0 10
stats: connect 0 0 0 2.642 0.427 1.2656 10
stats: tr_chat 20 0.1 0.1 0.457 0.017 0.2046 60
stats: tr_login 0 0 0 3.892 0.578 1.3044 10
stats: match 0 8
stats: nomatch 2 2
stats: error_connect_econnrefused 3 3
stats: xmpp_msg_latency 25 2.2 0.5 9.5 0.152 1.4 55
stats: connected -10 0
EndMonitor:{1795,605430,708475}
"""


def test_samples_add_up_the_intervals():
    stats = Stats.parse(TSUNG_LOG)
    mean = (0.1 * 20 + 0.2046 * 60) / 80
    assert stats.sample("tr_chat") == Sample(80, pytest.approx(mean), 0.457)
    latency = stats.sample("xmpp_msg_latency")
    assert (latency.count, latency.max) == (80, 9.5)
    assert latency.mean == pytest.approx((2.2 * 25 + 1.4 * 55) / 80)
    assert stats.sample("connect") == Sample(10, pytest.approx(1.2656), 2.642)


def test_counters_and_gauges_keep_their_largest_value():
    stats = Stats.parse(TSUNG_LOG)
    assert stats.counter("match") == 8
    assert stats.counter("connected") == 10
    assert stats.counter("users") == 10


def test_errors_are_tsung_errors_and_failed_logins():
    assert Stats.parse(TSUNG_LOG).errors == 3 + 2


def test_missing_figures_are_zero():
    stats = Stats.parse("")
    assert stats.sample("xmpp_msg_latency") == Sample(0, 0.0, 0.0)
    assert stats.counter("match") == 0
    assert stats.errors == 0


def test_load_derives_the_phases():
    load = Load(users=1000, chat_seconds=60, message_interval=2, arrival_rate=100)
    assert load.arrival_seconds == 15
    assert load.messages_per_user == 30
    assert load.offered_rate == 500
    assert load.hard_stop_seconds == 2 * (15 + 60 + 3) + 30


def test_accounts_are_the_ones_tsung_logs_in_with():
    assert tsung.accounts(3) == [
        ("bench1", "secret1"), ("bench2", "secret2"), ("bench3", "secret3")
    ]


def test_scenario_fills_every_field():
    load = Load(users=200, chat_seconds=30, message_interval=0.5, arrival_rate=50)
    text = tsung.scenario(load, "bench.test", 5999)
    assert "$" not in text
    root = ElementTree.fromstring(text)
    server = root.find("servers/server").attrib
    assert server == {"host": "127.0.0.1", "port": "5999", "type": "tcp"}
    phase = root.find("load/arrivalphase")
    assert phase.get("duration") == "9"
    users = phase.find("users").attrib
    assert users == {"maxnumber": "200", "arrivalrate": "50", "unit": "second"}
    options = {o.get("name"): o.get("value") for o in root.iter("option")}
    assert options == {
        "global_number": "200",
        "global_ack_timeout": "10000",
        "userid_max": "200",
        "domain": "bench.test",
        "username": "bench",
        "passwd": "secret",
    }
    loop = root.find("sessions/session/for")
    assert (loop.get("from"), loop.get("to")) == ("1", "60")
    assert loop.find("thinktime").attrib == {"value": "0.5", "random": "false"}
    chat = loop.find("transaction/request/jabber")
    assert chat.get("stamped") == "true" and chat.get("size") == "64"


def test_environment_disables_nagle_and_keeps_erlang_on_loopback(tmp_path):
    env = tsung.environment(tmp_path, 4444)
    assert "inet_default_connect_options [{nodelay,true}]" in env["ERL_ZFLAGS"]
    assert "inet_dist_use_interface {127,0,0,1}" in env["ERL_ZFLAGS"]
    assert (env["ERL_EPMD_ADDRESS"], env["ERL_EPMD_PORT"]) == ("127.0.0.1", "4444")
    assert env["HOME"] == str(tmp_path)
