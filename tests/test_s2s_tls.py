"""
The TLS of server-to-server streams with what real servers send: Prosody
offers ALPN C{xmpp-server} on every s2s TLS handshake (XEP-0368), and the
handshake must go through whether or not the peer shows a certificate.
And the test servers' own rule: they federate only when a test asks.
"""

import asyncio

import pytest
from twisted.internet import defer

from mcc.tap import bound_port
from tests.conftest import asyncio_test, test_config
from tests.federation.dialback_peer import DialbackPeer
from tests.xmpp_client import login


@pytest.fixture
def server_config(tmp_path):
    return test_config(tmp_path / "data", s2s_listen="tcp:0:interface=127.0.0.1")


@pytest.mark.parametrize("alpn", [(), ("xmpp-server",)])
@asyncio_test
async def test_starttls_takes_a_peer_offering_alpn(server, alpn):
    peer = DialbackPeer(
        "127.0.0.1", claimed="remote.test", receiving=server.domain, cafile=server.certificate,
        port=bound_port(server.service, "s2s-listener"), alpn=alpn,
    )
    try:
        features = await peer.connect()
        assert "dialback" in features
        assert peer.alpn_selected == ("xmpp-server" if alpn else None)
    finally:
        await peer.close()


@asyncio_test
async def test_the_default_s2s_listener_is_on_the_interface_only(tmp_path):
    from tests.conftest import start_server

    config = test_config(tmp_path / "data", s2s_listen="", s2s_port=0, interface="127.0.0.2")
    running = await start_server(config)
    try:
        port = bound_port(running.service, "s2s-listener")
        _, writer = await asyncio.open_connection("127.0.0.2", port)
        writer.close()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
    finally:
        await defer.maybeDeferred(running.service.stopService).asFuture(asyncio.get_running_loop())
        running.store.close()


def test_test_servers_federate_only_when_asked(tmp_path):
    assert test_config(tmp_path).no_federation
    assert not test_config(tmp_path, s2s_ca_file=tmp_path / "ca.pem").no_federation
    assert not test_config(tmp_path, no_federation=False).no_federation


@asyncio_test
async def test_a_default_test_server_refuses_other_domains_at_once(tmp_path):
    """
    No lookup, no connection: the sender hears at once that no server of
    the other domain is reached.
    """
    from tests.conftest import start_server

    running = await start_server(test_config(tmp_path / "data"))
    try:
        assert "federation" not in [part.name for part in running.service]
        running.add_user("alice", "alice-pw")
        alice = await login(running, "alice@localhost/desk", "alice-pw")
        try:
            errors = asyncio.Queue()
            alice.add_event_handler("message_error", errors.put_nowait)
            alice.send_message(mto="someone@example.org", mbody="hello", mtype="chat")
            error = await asyncio.wait_for(errors.get(), 5)
            assert error["error"]["condition"] == "remote-server-not-found"
        finally:
            await alice.close()
    finally:
        await defer.maybeDeferred(running.service.stopService).asFuture(asyncio.get_running_loop())
        running.store.close()
