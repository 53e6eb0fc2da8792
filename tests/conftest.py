"""
Fixtures shared by the tests: a running mcc on loopback, and real XMPP
clients (slixmpp) that log into it.

pytest runs on Twisted's asyncio reactor (see setup.cfg), so the server and
slixmpp share one event loop; test bodies are asyncio coroutines wrapped by
L{asyncio_test}.
"""

import asyncio
import functools
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer

from mcc.config import Config


def asyncio_test(test):
    """
    Run an asyncio coroutine test on the reactor's loop.
    """

    @functools.wraps(test)
    @pytest_twisted.ensureDeferred
    async def run(*args, **kwargs):
        return await defer.Deferred.fromFuture(asyncio.ensure_future(test(*args, **kwargs)))

    return run


@dataclass
class RunningServer:
    config: Config
    service: object
    port: int
    http_port: int

    @property
    def xmpp(self):
        return self.service.getServiceNamed("xmpp-server")

    @property
    def tls_port(self):
        """
        The direct TLS port (XEP-0368).
        """
        from mcc.tap import bound_port

        return bound_port(self.service, "xmpp-tls-listener")

    @property
    def store(self):
        """
        The store behind the routing layer; the adapters never see it.
        """
        return self.chats.store

    @property
    def chats(self):
        return self.service.getServiceNamed("chats")

    @property
    def http_url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def domain(self):
        return self.config.domain

    @property
    def certificate(self):
        return self.config.certificate_path

    def add_user(self, name, password, **kwargs):
        return self.store.users.add(name, password, now=0, **kwargs)


def test_config(data_dir, **overrides):
    """
    A server on loopback ports chosen by the system.  It federates only
    when C{overrides} name a server-to-server option (C{s2s_...}) or say
    C{no_federation=False}: otherwise a stanza to another domain would
    have the service look that domain up in the system's DNS and connect
    to it, off this machine.
    """
    federates = any(name.startswith("s2s_") for name in overrides)
    return replace(
        Config(
            data_dir=data_dir, xmpp_port=0, xmpp_tls_port=0, http_port=0, interface="127.0.0.1",
            component_listen="tcp:0:interface=127.0.0.1", s2s_listen="tcp:0:interface=127.0.0.1",
            no_federation=not federates,
        ),
        **overrides,
    )


async def start_server(config):
    # Imported here: wokkel imports the global reactor, which must not
    # happen before pytest-twisted installs the asyncio one.
    from twisted.internet import reactor

    from mcc.tap import bound_port, makeService

    service = makeService(config, reactor)
    service.startService()
    return RunningServer(
        config, service, bound_port(service, "xmpp-listener"), bound_port(service, "http-listener")
    )


@pytest.fixture
def server_config(tmp_path):
    """
    Override in a test module to change the server's settings.
    """
    return test_config(tmp_path / "data")


@pytest_twisted.async_yield_fixture
async def server(server_config):
    running = await start_server(server_config)
    yield running
    await running.service.stopService()
    running.store.close()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"
