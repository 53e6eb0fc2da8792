"""
The benchmark's BOSH client: its wrappers and parsing on their own, then a
login, a message each way and the end of a session against a real
Prosody with BOSH.
"""

import asyncio
import shutil

import pytest

from bench import bosh, prosody
from bench.processes import Processes, free_port
from bench.xmpp_client import BODY, Session
from tests.conftest import asyncio_test

DOMAIN = "bench.test"


def test_body_wraps_stanzas_and_names_its_attributes():
    assert bosh.body(7, "s1") == (
        b"<body xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'"
        b' rid="7" sid="s1"/>'
    )
    wrapped = bosh.body(8, "s1", b"<presence/>", xmpp_restart="true", xml_lang="en", type="x")
    assert b' xmpp:restart="true" xml:lang="en" type="x">' in wrapped
    assert wrapped.endswith(b"><presence/></body>")
    fields, children = bosh.parse_body(wrapped)
    assert fields["rid"] == "8" and fields["{urn:xmpp:xbosh}restart"] == "true"
    assert [bosh.local_name(child.tag) for child in children] == ["presence"]


def test_an_answer_gives_its_stanzas():
    content = (
        b"<body xmlns='http://jabber.org/protocol/httpbind' sid='a' wait='60'>"
        b"<message xmlns='jabber:client' from='o@d' type='chat'><body>hi &amp; bye</body>"
        b"</message><presence xmlns='jabber:client'/></body>"
    )
    fields, (message, presence) = bosh.parse_body(content)
    assert fields["sid"] == "a"
    assert message.findtext("{jabber:client}body") == "hi & bye"
    assert bosh.local_name(presence.tag) == "presence"


@pytest.mark.parametrize(
    "content, complaint",
    [
        (b"<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' "
         b"condition='item-not-found'/>", "ended the session: item-not-found"),
        (b"<html/>", "not a BOSH body"),
        (b"<body", "not XML"),
    ],
)
def test_what_ends_a_session(content, complaint):
    with pytest.raises(bosh.BoshError, match=complaint):
        bosh.parse_body(content)


def test_messages_are_escaped():
    assert bosh.chat_message("o@d", "<&>") == (
        b"<message xmlns='jabber:client' to=\"o@d\" type='chat'><body>&lt;&amp;&gt;</body>"
        b"</message>"
    )


@pytest.fixture
def bosh_prosody(tmp_path):
    if shutil.which(prosody.PROSODY) is None:
        pytest.skip("prosody is not installed")
    processes = Processes()
    port, http_port = free_port(), free_port()
    accounts = [("operator1", "secret1"), ("visitor1", "visitor-secret1")]
    try:
        prosody.start(processes, tmp_path, DOMAIN, port, accounts, http_port=http_port)
        yield port, http_port
    finally:
        processes.stop_all()


async def exchange(port, http_port):
    operator = await Session.open(port, DOMAIN, "operator1", "secret1", resource="desk")
    visitor = await bosh.BoshSession.open(http_port, DOMAIN, "visitor1", "visitor-secret1")
    try:
        arrived = asyncio.Queue()
        visitor.run(arrived.put_nowait)
        visitor.send(bosh.chat_message(f"operator1@{DOMAIN}", "hello"))
        stanza = await operator.next_stanza(10)
        while stanza.findtext(BODY) is None:
            stanza = await operator.next_stanza(10)
        operator.send_message(stanza.get("from").split("/")[0], "welcome")
        while True:
            answer = await asyncio.wait_for(arrived.get(), 10)
            if answer.findtext("{jabber:client}body") is not None:
                break
        visitor.terminate()
        return visitor.jid, stanza.get("from"), stanza.findtext(BODY), answer
    finally:
        visitor.close()
        operator.close()


@asyncio_test
async def test_a_message_each_way_through_prosody(bosh_prosody):
    jid, sender, text, answer = await exchange(*bosh_prosody)
    assert jid == sender == f"visitor1@{DOMAIN}/bosh"
    assert text == "hello"
    assert answer.get("from").startswith(f"operator1@{DOMAIN}/")
    assert answer.findtext("{jabber:client}body") == "welcome"


@asyncio_test
async def test_a_wrong_password_is_refused(bosh_prosody):
    with pytest.raises(bosh.BoshError, match="login refused"):
        await bosh.BoshSession.open(bosh_prosody[1], DOMAIN, "visitor1", "nope")
