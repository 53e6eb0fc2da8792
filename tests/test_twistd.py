"""
The real process: accounts made with the C{mcc} command, then C{twistd mcc}
started as a newcomer would, and clients logging into it.
"""

import asyncio
import re
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import asyncio_test
from tests.xmpp_client import login

BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def run(*command):
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, output.decode()


@dataclass
class Process:
    """
    What tests.xmpp_client.login needs to reach a server.
    """

    port: int
    certificate: Path
    log: list


async def wait_for_line(stream, pattern, lines, timeout=30):
    async def read():
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError("twistd exited:\n" + "".join(lines))
            lines.append(line)
            if re.search(pattern, line):
                return line

    return await asyncio.wait_for(read(), timeout)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


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

    port = free_port()
    twistd = await asyncio.create_subprocess_exec(
        str(BIN / "twistd"), "--nodaemon", "--pidfile=", "mcc",
        "--data-dir", str(data_dir), "--interface", "127.0.0.1",
        "--xmpp-port", str(port), "--http-port", str(free_port()),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    lines = []
    try:
        admin_line = await wait_for_line(twistd.stdout, r"created the administrator", lines)
        password = (data_dir / "first-admin.txt").read_text().strip()
        assert f"admin@localhost with password {password}" in admin_line
        await wait_for_line(twistd.stdout, r"starting on %d" % port, lines)

        process = Process(port, data_dir / "tls" / "cert.pem", lines)
        alice = await login(process, "alice@localhost/laptop", "wonderland")
        bob = await login(process, "bob@localhost/phone", "builder")
        admin = await login(process, "admin@localhost", password)
        alice.send_message(mto="bob@localhost", mbody="through twistd", mtype="chat")
        assert (await bob.next_message())["body"] == "through twistd"
        for client in (alice, bob, admin):
            await client.close()
    finally:
        twistd.terminate()
        rest, _ = await asyncio.wait_for(twistd.communicate(), 30)
        lines.append(rest.decode())
    log = "".join(lines)
    # twistd shuts down cleanly, then ends by the signal it was sent.
    assert "Server Shut Down." in log and "Traceback" not in log, log
    assert twistd.returncode == -15
