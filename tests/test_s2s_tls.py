"""
The TLS of server-to-server streams with what real servers send: Prosody
offers ALPN C{xmpp-server} on every s2s TLS handshake (XEP-0368), and the
handshake must go through whether or not the peer shows a certificate.
"""

import pytest

from mcc.tap import bound_port
from tests.conftest import asyncio_test
from tests.federation.dialback_peer import DialbackPeer


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
