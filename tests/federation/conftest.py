"""
Two real servers on loopback for the federation tests: mcc as C{mcc.test}
on 127.0.0.2 and Debian's Prosody as C{remote.test} on 127.0.0.3, each on
port 5269 for server-to-server links, with certificates from one
throwaway test CA that both trust.

The names must be in /etc/hosts, as .ci/run writes them: the fixtures add
them when running as root, and skip the tests otherwise (or when Prosody
is not installed).  Nothing is resolved through DNS: Prosody's lookups are
answered by tests/prosody/mod_loopback_dns.lua.
"""

import asyncio
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.logger import formatEvent, globalLogPublisher

from tests.certificates import TestCA
from tests.conftest import RunningServer, test_config
from tests.federation.names import LoopbackResolver
from tests.prosody_server import S2S_PORT, Prosody, ProsodySettings, installed

HOSTS_FILE = Path("/etc/hosts")
MCC = ("mcc.test", "127.0.0.2")
REMOTE = ("remote.test", "127.0.0.3")
NAMES = dict([MCC, REMOTE])


def missing_names(text):
    """
    The names of L{NAMES} that the hosts file C{text} lacks (or gives
    another address).
    """
    listed = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        for name in fields[1:]:
            listed.setdefault(name.lower(), fields[0])
    return [name for name, address in NAMES.items() if listed.get(name) != address]


def ensure_hosts(hosts_file=HOSTS_FILE):
    """
    Have the hosts file name both servers: read it (never resolve the
    names, which would ask a nameserver), add the lines as root, skip
    otherwise.
    """
    missing = missing_names(hosts_file.read_text())
    if not missing:
        return
    if os.geteuid() != 0:
        pytest.skip(
            f"{hosts_file} lacks " + ", ".join(f"{NAMES[name]} {name}" for name in missing)
            + " (.ci/run adds them as root)"
        )
    with hosts_file.open("a") as hosts:
        hosts.writelines(f"{NAMES[name]} {name}\n" for name in missing)


def check_free(address, port=S2S_PORT):
    """
    Fail clearly when C{address}:C{port} is taken: most likely a system
    Prosody listening on every address (C{service prosody stop}).
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as problem:
            pytest.fail(f"{address}:{port} is taken ({problem}): is a system prosody running? (ss -ltnp)")


def on_loop(coroutine):
    """
    An asyncio coroutine as a Deferred, for the fixtures (which
    pytest-twisted drives as Deferreds, not as asyncio tasks).
    """
    return defer.Deferred.fromFuture(asyncio.ensure_future(coroutine))


@pytest.fixture
def loopback_names():
    if not installed():
        pytest.skip("Debian's prosody is not installed")
    ensure_hosts()
    for _, address in NAMES.items():
        check_free(address)


@pytest.fixture
def test_ca(tmp_path):
    return TestCA(tmp_path / "ca")


@pytest.fixture
def remote_settings(test_ca):
    """
    Override in a test module (or change in a test before asking for
    C{prosody}) to run Prosody otherwise.
    """
    issued = test_ca.issue(REMOTE[0])
    return ProsodySettings(
        domain=REMOTE[0], address=REMOTE[1], certificate=issued.certificate, key=issued.key,
        cafile=test_ca.certificate, names={MCC[0]: MCC[1]},
        accounts=(("juliet", "juliet's secret"), ("romeo", "romeo's secret")),
    )


@pytest_twisted.async_yield_fixture
async def prosody(loopback_names, remote_settings, tmp_path):
    running = Prosody(tmp_path / "prosody", remote_settings)
    await on_loop(running.start())
    yield running
    await on_loop(running.stop())


@dataclass
class Mcc:
    """
    mcc running in the test's process as C{mcc.test}: what
    L{tests.xmpp_client.login} needs (C{port}, and the CA of its
    certificate as C{certificate}), the L{RunningServer} and the resolver
    it asks.
    """

    running: RunningServer
    certificate: Path
    resolver: LoopbackResolver
    domain: str = MCC[0]
    address: str = MCC[1]

    @property
    def port(self):
        return self.running.port

    @property
    def store(self):
        return self.running.store

    lines: list = field(default_factory=list)
    """
    What the service logged while the test ran.
    """

    async def wait_for_log(self, pattern, timeout=5):
        """
        Wait until a line of mcc's log matches C{pattern}; that line.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for line in self.lines:
                if re.search(pattern, line):
                    return line
            if loop.time() > deadline:
                raise AssertionError(f"no line matches {pattern!r} in mcc's log:\n" + "\n".join(self.lines[-60:]))
            await asyncio.sleep(0.05)


@pytest.fixture
def mcc_certificate(test_ca):
    """
    The certificate mcc shows, for its clients and for other servers.
    """
    return test_ca.issue(MCC[0])


@pytest.fixture
def mcc_federation():
    """
    Federation settings of mcc (fields of mcc.config.Config) that a test class
    changes: see L{federation_options}.
    """
    return {}


def federation_options(cafile, address, **settings):
    """
    mcc's federation options for the tests: server-to-server on
    C{address}:5269, the test CA trusted, and C{settings} (fields of
    L{Config}).
    """
    return {"s2s_listen": f"tcp:{S2S_PORT}:interface={address}", "s2s_ca_file": cafile, **settings}


@pytest.fixture
def mcc_resolver():
    return LoopbackResolver({REMOTE[0]: REMOTE[1], MCC[0]: MCC[1]})


async def start_mcc(config, resolver):
    from twisted.internet import reactor

    from mcc.tap import bound_port, makeService

    service = makeService(config, reactor, resolver=resolver)
    service.startService()
    return RunningServer(
        config, service, bound_port(service, "xmpp-listener"), bound_port(service, "http-listener")
    )


@pytest_twisted.async_yield_fixture
async def mcc(loopback_names, test_ca, mcc_certificate, mcc_federation, mcc_resolver, tmp_path):
    config = test_config(
        tmp_path / "mcc", domain=MCC[0], interface=MCC[1],
        tls_cert=mcc_certificate.certificate, tls_key=mcc_certificate.key,
        component_listen=f"tcp:0:interface={MCC[1]}",
        **federation_options(test_ca.certificate, MCC[1], **mcc_federation),
    )
    lines = []
    log_file = (tmp_path / "mcc.log").open("a")

    def observe(event):
        text = formatEvent(event) or ""
        if event.get("log_failure") is not None:
            text += "\n" + event["log_failure"].getTraceback()
        lines.append(text)
        log_file.write(text + "\n")
        log_file.flush()

    globalLogPublisher.addObserver(observe)
    try:
        running = await start_mcc(config, mcc_resolver)
        yield Mcc(running, mcc_certificate.ca, mcc_resolver, lines=lines)
        await running.service.stopService()
        running.store.close()
    finally:
        globalLogPublisher.removeObserver(observe)
        log_file.close()
