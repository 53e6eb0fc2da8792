"""
The benchmark's XMPP client: its parser on its own, and logins and
messages against a real mcc.
"""

import asyncio

import pytest

from bench import tsung
from bench.xmpp_client import BODY, MESSAGE, LoginFailed, Session, bare, chat_message
from tests.conftest import asyncio_test
from tests.conftest import test_config as mcc_test_config


@pytest.fixture
def server_config(tmp_path):
    return mcc_test_config(tmp_path / "data", allow_plaintext_on_loopback=True)


class Written:
    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += data


STREAM = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='1' version='1.0'>"
    b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
    b"<message from='a@localhost/x' type='chat'><body>one &amp; two</body></message>"
    b"<presence from='a@localhost/x'/>"
)


def test_stanzas_come_whole_however_the_bytes_are_cut():
    writer = Written()
    session = Session(None, writer, "localhost")
    session._restart_stream()
    assert writer.data.startswith(b"<?xml version='1.0'?><stream:stream ")
    assert b'to="localhost"' in writer.data
    for offset in range(len(STREAM)):
        session._feed(STREAM[offset:offset + 1])
    features, message, presence = session._stanzas
    assert features.tag == "{http://etherx.jabber.org/streams}features"
    assert (message.tag, message.findtext(BODY)) == (MESSAGE, "one & two")
    assert presence.tag == "{jabber:client}presence"
    assert len(session._root) == 0


def test_messages_are_escaped():
    assert chat_message("g@h/v", "<&>") == (
        b"<message to=\"g@h/v\" type='chat'><body>&lt;&amp;&gt;</body></message>"
    )
    assert bare("guest.x@localhost/visitor") == "guest.x@localhost"


def add_accounts(server, count):
    accounts = tsung.accounts(count)
    for username, password in accounts:
        server.add_user(username, password)
    return accounts


@asyncio_test
async def test_login_binds_a_resource_and_messages_flow(server):
    add_accounts(server, 2)
    alice = await Session.open(server.port, server.domain, "bench1", "secret1", resource="desk")
    bob = await Session.open(server.port, server.domain, "bench2", "secret2")
    try:
        assert alice.jid == f"bench1@{server.domain}/desk"
        alice.send_message(f"bench2@{server.domain}", "hi <bob>")

        async def first_message():
            async for stanza in bob.stanzas():
                if stanza.tag == MESSAGE:
                    return stanza

        message = await asyncio.wait_for(first_message(), 10)
        assert message.findtext(BODY) == "hi <bob>"
        assert message.get("from") == alice.jid
    finally:
        alice.close()
        bob.close()


@asyncio_test
async def test_a_wrong_password_is_refused(server):
    add_accounts(server, 1)
    with pytest.raises(LoginFailed, match="bench1"):
        await Session.open(server.port, server.domain, "bench1", "wrong")


@asyncio_test
async def test_stanzas_end_when_the_server_closes(server):
    add_accounts(server, 1)
    session = await Session.open(server.port, server.domain, "bench1", "secret1")
    try:
        server.xmpp.disconnect_user("bench1", "bye")

        async def all_tags():
            return [stanza.tag async for stanza in session.stanzas()]

        seen = await asyncio.wait_for(all_tags(), 10)
        assert seen[-1] == "{http://etherx.jabber.org/streams}error"
    finally:
        session.close()
