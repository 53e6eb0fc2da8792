"""
C{twistd mcc} as a real child process, for tests of the process as a whole.
"""

import asyncio
import re
import socket
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def run(*command):
    """
    Run a command to its end; its exit status and output.
    """
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, output.decode()


class Twistd:
    """
    One run of the service on fixed loopback ports; what tests.xmpp_client
    and tests.visitor_client need to reach it (port, certificate, http_url).
    C{bin}, C{env} and C{cwd} name another installation's C{twistd} and how
    to start it (tests.test_wheel); by default, the test run's own.

    It federates only when C{federation} is true (its server-to-server port
    then on loopback): otherwise a stanza to another domain would have it
    look that domain up in the system's DNS and connect to it, off this
    machine.  The same rule as tests.conftest.test_config.
    """

    def __init__(self, data_dir, port=None, http_port=None, bin=BIN, env=None, cwd=None, federation=False):
        self.data_dir = data_dir
        self.federation = federation
        self.bin = bin
        self.env = env
        self.cwd = cwd
        self.port = port or free_port()
        self.http_port = http_port or free_port()
        self.component_port = free_port()
        self.certificate = data_dir / "tls" / "cert.pem"
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        self.lines = []
        self.process = None

    async def start(self):
        self.process = await asyncio.create_subprocess_exec(
            *self.command(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env=self.env, cwd=self.cwd,
        )
        await self.wait_for_line(rf"starting on {self.http_port}")
        # An answered request means the reactor runs, and so handles
        # SIGTERM: before that, the signal would kill it outright.  (A mere
        # connection is not enough: the kernel accepts it on the listening
        # socket before the reactor starts.)
        reader, writer = await asyncio.open_connection("127.0.0.1", self.http_port)
        writer.write(b"HEAD /admin/sign-in HTTP/1.0\r\n\r\n")
        await asyncio.wait_for(reader.readline(), 30)
        writer.close()
        await writer.wait_closed()

    def command(self):
        """
        The command line of this run.
        """
        return [
            str(self.bin / "twistd"), "--nodaemon", "--pidfile=", "mcc",
            "--data-dir", str(self.data_dir), "--interface", "127.0.0.1",
            "--xmpp-port", str(self.port), "--http-port", str(self.http_port),
            "--xmpp-tls-port", "0",
            "--component-listen", f"tcp:{self.component_port}:interface=127.0.0.1",
            *(["--s2s-listen", "tcp:0:interface=127.0.0.1"] if self.federation else ["--no-federation"]),
        ]

    async def wait_for_line(self, pattern, timeout=30):
        """
        Read the log until a line matches C{pattern}; that line.
        """

        async def read():
            while True:
                line = (await self.process.stdout.readline()).decode()
                if not line:
                    raise AssertionError("twistd exited:\n" + self.log)
                self.lines.append(line)
                if re.search(pattern, line):
                    return line

        return await asyncio.wait_for(read(), timeout)

    @property
    def log(self):
        return "".join(self.lines)

    async def stop(self):
        """
        SIGTERM, as an init system would; twistd shuts down cleanly, then
        ends by that signal.
        """
        self.process.terminate()
        rest, _ = await asyncio.wait_for(self.process.communicate(), 30)
        self.lines.append(rest.decode())
        assert "Server Shut Down." in self.log and "Traceback" not in self.log, self.log
        assert self.process.returncode == -15
