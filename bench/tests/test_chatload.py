"""
The load generator's command line and the staff it expects.
"""

import resource
import sys

from bench import chatload


def test_one_queue_per_operator():
    assert chatload.staff(2) == [
        ("operator1", "secret1", "queue1"),
        ("operator2", "secret2", "queue2"),
    ]


def test_the_command_line_parses_back(tmp_path):
    argv = chatload.command(
        "round-trip", 5222, 8080, "bench.test", 42, tmp_path / "out.json",
        chats=100, messages=30, interval=2.0,
    )
    assert argv[:4] == [sys.executable, "-m", "bench.chatload", "round-trip"]
    arguments = chatload._parser().parse_args(argv[3:])
    assert (arguments.kind, arguments.xmpp_port, arguments.http_port) == ("round-trip", 5222, 8080)
    assert (arguments.domain, arguments.server_pid) == ("bench.test", 42)
    assert arguments.output == tmp_path / "out.json"
    assert (arguments.chats, arguments.messages, arguments.interval) == (100, 30, 2.0)
    assert "--interval" in argv and argv[argv.index("--interval") + 1] == "2"


def test_idle_visitors_command(tmp_path):
    argv = chatload.command("idle-visitors", 1, 2, "d", 3, tmp_path / "o", visitors=10_000)
    arguments = chatload._parser().parse_args(argv[3:])
    assert (arguments.kind, arguments.visitors) == ("idle-visitors", 10_000)


def test_open_files_limit_is_raised_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
        assert chatload.raise_open_files_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_peers_visitors_have_accounts_of_their_own(tmp_path):
    assert chatload.bosh_visitors(2) == [
        ("visitor1", "visitor-secret1"),
        ("visitor2", "visitor-secret2"),
    ]
    argv = chatload.command("bosh-round-trip", 1, 2, "d", 3, tmp_path / "o", chats=5)
    arguments = chatload._parser().parse_args(argv[3:])
    assert (arguments.kind, arguments.chats, arguments.server_pid) == ("bosh-round-trip", 5, 3)
