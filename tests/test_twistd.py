"""
The real process: accounts made with the C{mcc} command, then C{twistd mcc}
started as a newcomer would, and clients logging into it.
"""

import asyncio
import gc
import os
import socket
import stat
import threading
from types import SimpleNamespace

from mcc.collector import NEVER
from mcc.store import checkpoints
from tests.conftest import asyncio_test
from tests.twistd_process import BIN, Twistd, run
from tests.xmpp_client import login


@asyncio_test
async def test_the_service_checkpoints_the_wal_in_a_thread_of_its_own(server, monkeypatch):
    seen = []
    real_checkpoint = checkpoints.WALCheckpointer.__call__

    def recorded(self):
        seen.append(threading.current_thread().name)
        return real_checkpoint(self)

    monkeypatch.setattr(checkpoints.WALCheckpointer, "__call__", recorded)
    # Commits never copy the WAL back themselves: SQLite would do it on the
    # reactor's thread.
    assert server.store.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    server.add_user("carol", "wonderland")
    running = server.service.getServiceNamed("checkpoints").checkpoint_if_written()
    pages, copied = await running.asFuture(asyncio.get_running_loop())
    assert pages == copied > 0
    assert len(seen) == 1 and seen[0].startswith("PoolThread-mcc-checkpoint-")


@asyncio_test
async def test_accounts_added_with_the_command_log_into_twistd(data_dir):
    for name, password in (("alice", "wonderland"), ("bob", "builder")):
        status, output = await run(
            str(BIN / "mcc"), "--data-dir", str(data_dir), "user", "add", name,
            "--password", password,
        )
        assert status == 0, output
    status, output = await run(str(BIN / "mcc"), "user", "list", "--data-dir", str(data_dir))
    assert output.split() == ["alice", "bob"]

    twistd = Twistd(data_dir)
    await twistd.start()
    try:
        match = [line for line in twistd.lines if "created the administrator" in line]
        password = (data_dir / "first-admin.txt").read_text().strip()
        assert f"admin@localhost with password {password}" in match[0]

        alice = await login(twistd, "alice@localhost/laptop", "wonderland")
        bob = await login(twistd, "bob@localhost/phone", "builder")
        admin = await login(twistd, "admin@localhost", password)
        alice.send_message(mto="bob@localhost", mbody="through twistd", mtype="chat")
        assert (await bob.next_message())["body"] == "through twistd"
        # A test's process talks with no other server: another domain is
        # refused at once, without a lookup.
        errors = asyncio.Queue()
        alice.add_event_handler("message_error", errors.put_nowait)
        alice.send_message(mto="someone@example.org", mbody="hello", mtype="chat")
        error = await asyncio.wait_for(errors.get(), 5)
        assert error["error"]["condition"] == "remote-server-not-found"
        assert "XMPP servers on" not in twistd.log
        for client in (alice, bob, admin):
            await client.close()
    finally:
        await twistd.stop()

    again = Twistd(data_dir)
    await again.start()
    await again.stop()
    assert "created the administrator" not in again.log
    assert f"password in {data_dir / 'first-admin.txt'}" in again.log


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@asyncio_test
async def test_a_second_service_on_the_same_data_dir_refuses_to_start(data_dir):
    first = Twistd(data_dir)
    await first.start()
    try:
        second = Twistd(data_dir)
        status, output = await run(*second.command())
        assert status != 0, output
        assert f"mcc: the data dir {data_dir} is in use" in output
        assert "Traceback" not in output and "starting on" not in output
        # The command still works beside the running service.
        status, output = await run(
            str(BIN / "mcc"), "--data-dir", str(data_dir), "user", "add", "carol",
            "--password", "pw",
        )
        assert (status, output) == (0, "added carol\n")
    finally:
        await first.stop()
    # The lock goes with the process.
    again = Twistd(data_dir)
    await again.start()
    await again.stop()


@asyncio_test
async def test_a_port_in_use_ends_twistd_with_an_error(data_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        twistd = Twistd(data_dir, port=taken.getsockname()[1])
        status, output = await run(*twistd.command())
    assert status != 0, output
    assert (
        f"mcc cannot listen for XMPP on tcp:{twistd.port}:interface=127.0.0.1:"
        in output
    ), output
    assert "Address already in use" in output


@asyncio_test
async def test_the_data_dir_and_its_secrets_are_private(data_dir):
    old = os.umask(0o022)
    try:
        twistd = Twistd(data_dir)
        await twistd.start()
        await twistd.stop()
    finally:
        os.umask(old)
    assert mode(data_dir) == 0o700
    for name in ("mcc.sqlite", "first-admin.txt", "tls/key.pem", "service.lock"):
        assert mode(data_dir / name) == 0o600, name


@asyncio_test
async def test_twistd_mcc_help_shows_the_defaults():
    status, output = await run(str(BIN / "twistd"), "mcc", "--help")
    assert status == 0, output
    text = " ".join(output.split())
    for shown in (
        "--xmpp-port= XMPP client port (STARTTLS). [default: 5222]",
        "--auth-failures-allowed=",
        "--xmpp-listen=",
        "[default: 300.0]",
    ):
        assert shown in text, output


@asyncio_test
async def test_the_service_checks_plain_passwords_in_a_pool_of_two_threads(server):
    running = server.xmpp.password_checks(lambda: threading.current_thread().name)
    name = await running.asFuture(asyncio.get_running_loop())
    assert name.startswith("PoolThread-mcc-login-")
    assert server.service.getServiceNamed("login-threads").pool.max == 2


@asyncio_test
async def test_the_service_leaves_the_visitor_apis_polls_out_of_the_access_log(server):
    site = server.service.getServiceNamed("http-listener").factory
    poll = SimpleNamespace(method=b"GET", uri=b"/api/chats/t0k3n/events?after=1", code=200)
    assert not site.logged(poll)
    assert site.logged(SimpleNamespace(method=b"GET", uri=b"/admin/", code=200))


@asyncio_test
async def test_the_service_freezes_its_start_up_last_and_collects_the_oldest_itself(server):
    assert list(server.service)[-1].name == "garbage-collection"
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[2] == NEVER
