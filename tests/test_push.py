"""
Push (XEP-0357) from a slixmpp client over real sockets (slixmpp has no
plugin for it, so the client sends the IQs itself): enabling and
disabling is kept, the account's disco#info names the feature, and a
message for an account with no connected session says in the log why no
notification went.
"""

from xml.etree import ElementTree

import pytest
from twisted.logger import globalLogPublisher

from tests.conftest import asyncio_test
from tests.xmpp_client import login, until

PUSH = ()


async def push(client, verb, app, node=None):
    iq = client.make_iq_set()
    element = ElementTree.Element("{urn:xmpp:push:0}" + verb, jid=app)
    if node is not None:
        element.set("node", node)
    iq.append(element)
    return await iq.send(timeout=10)


@pytest.fixture
def logged():
    lines = []

    def observe(event):
        if "log_format" in event and "push to" in event["log_format"]:
            lines.append(event["log_format"].format(**event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


@asyncio_test
async def test_push_is_enabled_and_a_missed_message_is_logged(server, logged):
    server.add_user("alice", "alice-pw")
    server.add_user("bob", "bob-pw")
    alice = await login(server, "alice@localhost/phone", "alice-pw", plugins=PUSH)
    bob = await login(server, "bob@localhost/desk", "bob-pw")
    try:
        info = await alice["xep_0030"].get_info(jid="alice@localhost")
        assert "urn:xmpp:push:0" in info["disco_info"]["features"]
        await push(alice, "enable", "push.example.org", "device-1")
        await push(alice, "enable", "push.example.org", "device-2")
        await push(alice, "enable", "push.other.example", "tablet")
        assert server.store.push.of("alice") == [
            ("push.example.org", "device-1"), ("push.example.org", "device-2"),
            ("push.other.example", "tablet"),
        ]
        await push(alice, "disable", "push.other.example")
        # Connected: nothing to push.
        bob.send_message(mto="alice@localhost", mbody="here?", mtype="chat")
        assert str((await alice.next_message())["body"]) == "here?"
        assert logged == []
        await alice.close()
        await until(lambda: not server.xmpp.sessions.is_connected("alice@localhost"))
        bob.send_message(mto="alice@localhost", mbody="still there?", mtype="chat")
        await until(lambda: logged)
        assert logged == ["push to push.example.org not sent: no server-to-server links"]
        # Kept across sessions until disabled.
        alice = await login(server, "alice@localhost/phone", "alice-pw", plugins=PUSH)
        await push(alice, "disable", "push.example.org", "device-1")
        assert server.store.push.of("alice") == [("push.example.org", "device-2")]
    finally:
        await alice.close()
        await bob.close()
