"""
Debian's go-sendxmpp, an XMPP client written elsewhere in Go, sends through
mcc over STARTTLS to an account connected with slixmpp.
"""

import os

from tests.conftest import asyncio_test
from tests.tools import requires_tool, run_tool
from tests.xmpp_client import login


@requires_tool("go-sendxmpp")
@asyncio_test
async def test_go_sendxmpp_message_reaches_a_connected_account(server, tmp_path):
    server.add_user("alice", "wonderland")
    server.add_user("bob", "builder")
    home = tmp_path / "home"
    home.mkdir()
    config = home / "sendxmpprc"
    # The server's name must match the certificate, which is for "localhost".
    config.write_text(
        "username: alice@localhost\n"
        "password: wonderland\n"
        f"jserver: localhost:{server.port}\n"
    )
    config.chmod(0o600)
    # Go reads its trusted roots from SSL_CERT_FILE: the self-signed
    # certificate is verified rather than verification switched off.
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "SSL_CERT_FILE": str(server.certificate),
        "SSL_CERT_DIR": str(home),
    }
    bob = await login(server, "bob@localhost/desk", "builder")
    try:
        status, out, err = await run_tool(
            "go-sendxmpp", "-f", str(config), "bob@localhost",
            env=env, stdin=b"hello from go-sendxmpp\n",
        )
        assert status == 0, (out, err)
        message = await bob.next_message()
        assert message["body"] == "hello from go-sendxmpp"
        assert message["from"].bare == "alice@localhost"
    finally:
        await bob.close()
