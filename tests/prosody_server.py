"""
Debian's Prosody as the other server of the federation tests: its own
config, data, pid file, certificates and log in a folder of the test,
listening on a loopback address of its own (c2s on a free port, s2s on
5269), started and stopped as a child process.

Prosody's resolver reads no /etc/hosts: L{LOOPBACK_DNS} (a small module
in C{tests/prosody}) answers its lookups from the names the test gives, so
that it reaches mcc by name and asks no nameserver anything.  Accounts are
written into its data folder the way bench.prosody does (SCRAM-SHA-1
keys, for C{internal_hashed}).
"""

import asyncio
import re
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

from bench.prosody import ITERATIONS, lua_string, write_accounts

PROSODY = "prosody"
S2S_PORT = 5269
LOOPBACK_DNS = Path(__file__).parent / "prosody"
MODULES = ("roster", "saslauth", "tls", "dialback", "disco", "ping", "offline", "loopback_dns")
START_TIMEOUT = 20


def installed():
    return shutil.which(PROSODY) is not None


def free_port(address):
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def lua_table(items):
    return "{ " + "; ".join(items) + " }"


def lua_strings(values):
    return lua_table(lua_string(str(value)) for value in values)


@dataclass
class ProsodySettings:
    """
    What one test asks of its Prosody.

    @ivar certificate: what Prosody shows its clients, and other servers
        unless C{s2s_certificate} (an L{Issued}) says otherwise.
    @ivar names: C{domain -> address} its resolver answers (A records).
    @ivar services: C{domain -> [(target, port)]}: its C{_xmpp-server._tcp}
        SRV records; a domain without any falls back to port 5269.
    """

    domain: str
    address: str
    certificate: Path
    key: Path
    cafile: Path
    secure_auth: bool = False
    s2s_certificate: object = None
    names: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    accounts: tuple = ()
    s2s_port: int = S2S_PORT
    extra: str = ""
    """
    More lines for the global section of the config, as Lua.
    """


def config_text(folder, settings, c2s_port):
    folder = Path(folder)
    names = lua_table(f"[{lua_string(name)}] = {lua_string(address)}" for name, address in settings.names.items())
    services = lua_table(
        f"[{lua_string('_xmpp-server._tcp.' + domain)}] = "
        + lua_table(lua_table([lua_string(target), str(port)]) for target, port in targets)
        for domain, targets in settings.services.items()
    )
    tls = lua_table(
        [
            f"certificate = {lua_string(str(settings.certificate))}",
            f"key = {lua_string(str(settings.key))}",
            f"cafile = {lua_string(str(settings.cafile))}",
        ]
    )
    s2s_tls = ""
    if settings.s2s_certificate is not None:
        s2s_tls = "s2s_ssl = " + lua_table(
            [
                f"certificate = {lua_string(str(settings.s2s_certificate.certificate))}",
                f"key = {lua_string(str(settings.s2s_certificate.key))}",
                f"cafile = {lua_string(str(settings.cafile))}",
            ]
        )
    return f"""\
-- Written by mcc's federation tests; removed with its folder.
run_as_root = true
pidfile = {lua_string(str(folder / "prosody.pid"))}
data_path = {lua_string(str(folder / "data"))}
log = {{ debug = {lua_string(str(folder / "prosody.log"))} }}
plugin_paths = {lua_strings([LOOPBACK_DNS])}
interfaces = {lua_strings([settings.address])}
c2s_ports = {{ {c2s_port} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ {settings.s2s_port} }}
s2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = true
s2s_require_encryption = true
s2s_secure_auth = {"true" if settings.secure_auth else "false"}
s2s_timeout = 10
authentication = "internal_hashed"
default_iteration_count = {ITERATIONS}
storage = "internal"
modules_enabled = {lua_strings(MODULES)}
ssl = {tls}
{s2s_tls}
loopback_hosts = {names}
loopback_srv = {services}
{settings.extra}

VirtualHost {lua_string(settings.domain)}
"""


class Prosody:
    """
    One run of Prosody for C{settings} in C{folder}: C{port} is its c2s
    port and C{certificate} the CA its clients trust (what
    L{tests.xmpp_client.login} needs).
    """

    def __init__(self, folder, settings):
        self.folder = Path(folder)
        self.settings = settings
        self.domain = settings.domain
        self.address = settings.address
        self.port = free_port(settings.address)
        self.certificate = settings.cafile
        self.config = self.folder / "prosody.cfg.lua"
        self.log_path = self.folder / "prosody.log"
        self.process = None

    async def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(config_text(self.folder, self.settings, self.port))
        write_accounts(self.folder / "data", self.domain, self.settings.accounts)
        with open(self.folder / "prosody.out", "wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                PROSODY, "--config", str(self.config), "-F",
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
            )
        try:
            for port in (self.port, self.settings.s2s_port):
                await self._wait_for_port(port)
        except BaseException:
            await self.stop()
            raise

    async def _wait_for_port(self, port):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while True:
            if self.process.returncode is not None:
                raise AssertionError(f"prosody exited with {self.process.returncode}:\n{self.output}")
            try:
                _, writer = await asyncio.open_connection(self.address, port)
            except OSError:
                if loop.time() > deadline:
                    raise AssertionError(f"prosody does not listen on {self.address}:{port}:\n{self.output}") from None
                await asyncio.sleep(0.1)
            else:
                writer.close()
                await writer.wait_closed()
                return

    @property
    def output(self):
        texts = []
        for path in (self.folder / "prosody.out", self.log_path):
            if path.exists():
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts)

    @property
    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def wait_for_log(self, pattern, timeout=5):
        """
        Wait until a line of Prosody's log matches C{pattern}; that line.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for line in self.log.splitlines():
                if re.search(pattern, line):
                    return line
            if loop.time() > deadline:
                raise AssertionError(f"no line matches {pattern!r} in Prosody's log:\n{self.log[-6000:]}")
            await asyncio.sleep(0.1)

    async def stop(self):
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
