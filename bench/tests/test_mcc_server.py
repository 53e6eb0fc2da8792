"""
The private mcc: its accounts and its command line.
"""

from mcc.config import Config, Options
from mcc.store import Store

from bench import mcc_server


def test_accounts_are_created_with_their_passwords(tmp_path):
    accounts = [("bench1", "secret1"), ("bench2", "secret2")]
    mcc_server.create_accounts(tmp_path, accounts, now=lambda: 7)
    store = Store.open(Config(data_dir=tmp_path).database_path)
    try:
        users = store.users.all()
        assert [user.username for user in users] == ["bench1", "bench2"]
        assert users[0].credentials.verify("secret1")
        assert not users[0].credentials.verify("secret2")
    finally:
        store.close()


def test_command_allows_plaintext_on_loopback_only(tmp_path):
    argv = mcc_server.command(
        tmp_path, "bench.test", 5999, 6000, tls_port=6001, component_port=6002
    )
    assert argv[0].endswith("twistd")
    assert argv[argv.index("mcc"):] == [
        "mcc",
        "--data-dir", str(tmp_path),
        "--domain", "bench.test",
        "--interface", "127.0.0.1",
        "--xmpp-port", "5999",
        "--http-port", "6000",
        "--xmpp-tls-port", "6001",
        "--component-listen", "tcp:6002:interface=127.0.0.1",
        "--allow-plaintext-on-loopback",
        "--no-federation",
        "--max-xmpp-connections-per-address", "1000000",
        "--max-http-connections-per-address", "1000000",
        "--auth-failures-allowed", "1000000",
        "--logins-in-progress-per-address", "1000000",
    ]
    assert not any(arg.startswith("--profile") for arg in argv)


def test_the_limits_per_address_parse(tmp_path):
    argv = mcc_server.command(tmp_path, "bench.test", 5999, 6000, options=["--no-message-archive"])
    options = Options()
    options.parseOptions(argv[argv.index("mcc") + 1:])
    config = options.to_config()
    assert config.max_xmpp_connections_per_address == 1_000_000
    assert config.auth_failures_allowed == 1_000_000
    assert config.no_message_archive is True


def test_command_can_profile(tmp_path):
    argv = mcc_server.command(tmp_path, "bench.test", 5999, 6000, profile=tmp_path / "p")
    twistd_options = argv[1:argv.index("mcc")]
    assert f"--profile={tmp_path / 'p'}" in twistd_options
    assert "--savestats" in twistd_options


def test_queues_get_their_operators(tmp_path):
    mcc_server.create_accounts(tmp_path, [("op1", "pw1"), ("op2", "pw2")], now=lambda: 7)
    queues = [("queue1", ["op1"]), ("queue2", ["op2", "op1"])]
    mcc_server.create_queues(tmp_path, queues, now=lambda: 8)
    store = Store.open(Config(data_dir=tmp_path).database_path)
    try:
        queues = {queue.name: queue.operators for queue in store.queues.all()}
        assert queues == {"queue1": ("op1",), "queue2": ("op1", "op2")}
    finally:
        store.close()


def test_options_go_to_mcc_and_it_understands_them(tmp_path):
    argv = mcc_server.command(
        tmp_path, "bench.test", 5999, 6000, options=["--chat-start-limit", "1000"]
    )
    options = Options()
    options.parseOptions(argv[argv.index("mcc") + 1:])
    config = options.to_config()
    assert (config.chat_start_limit, config.allow_plaintext_on_loopback) == (1000, True)
    options = Options()
    options.parseOptions(["--data-dir", str(tmp_path)])
    assert options.to_config().chat_start_limit == 10


def test_the_other_ports_are_free_ones_unless_given(tmp_path):
    argv = mcc_server.command(tmp_path, "bench.test", 5999, 6000)
    tls_port = int(argv[argv.index("--xmpp-tls-port") + 1])
    assert tls_port not in (5223, 5999, 6000)
    assert argv[argv.index("--component-listen") + 1].startswith("tcp:")
    assert "tcp:5347:" not in argv[argv.index("--component-listen") + 1]
