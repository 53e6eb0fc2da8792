"""
The private mcc: its accounts and its command line.
"""

from mcc.config import Config
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
    argv = mcc_server.command(tmp_path, "bench.test", 5999, 6000)
    assert argv[0].endswith("twistd")
    assert argv[argv.index("mcc"):] == [
        "mcc",
        "--data-dir", str(tmp_path),
        "--domain", "bench.test",
        "--interface", "127.0.0.1",
        "--xmpp-port", "5999",
        "--http-port", "6000",
        "--allow-plaintext-on-loopback",
    ]
    assert not any(arg.startswith("--profile") for arg in argv)


def test_command_can_profile(tmp_path):
    argv = mcc_server.command(tmp_path, "bench.test", 5999, 6000, profile=tmp_path / "p")
    twistd_options = argv[1:argv.index("mcc")]
    assert f"--profile={tmp_path / 'p'}" in twistd_options
    assert "--savestats" in twistd_options
