"""
Limits a logged-in or connecting client meets over real loopback sockets,
with the server's default settings: how deeply a stanza may nest, and how
many connections one address may hold.
"""

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from twisted.internet import defer

from mcc.xmpp.server import MAX_CONNECTIONS_PER_ADDRESS, ClientConnectionFactory
from mcc.xmpp.stream import MAX_DEPTH
from tests.conftest import asyncio_test
from tests.raw_xmpp import (
    NS_STREAM_ERRORS,
    NS_STREAMS,
    RawClient,
    StreamClosed,
    condition,
    tag,
)
from tests.test_xmpp_bad_input import MALLORY, assert_still_served, mallory, witnesses


def nested(levels):
    """
    C{levels} elements, each inside the one before.
    """
    return "<x xmlns='urn:example:nest'>" + "<x>" * (levels - 1) + "</x>" * levels


DEEP = 1200

# Each reaches a different handler when it is not refused first.
DEEP_STANZAS = {
    "delivery": "<message to='bob@localhost/phone' type='chat'><body>hi</body>{}</message>",
    "offline-storage": "<message to='carol@localhost' type='chat'><body>hi</body>{}</message>",
    "vcard-set": "<iq type='set' id='v1'><vCard xmlns='vcard-temp'>{}</vCard></iq>",
    "presence": "<presence>{}</presence>",
    "error-reply": "<iq type='get' id='q1' to='localhost'>{}</iq>",
}


async def stream_error_text(client):
    error = await client.receive()
    assert error.tag == tag(NS_STREAMS, "error"), ET.tostring(error)
    await client.closed()
    return condition(error, NS_STREAM_ERRORS), error.findtext(tag(NS_STREAM_ERRORS, "text"))


@pytest.mark.parametrize("template", DEEP_STANZAS.values(), ids=DEEP_STANZAS.keys())
@asyncio_test
async def test_deeply_nested_stanza_ends_the_stream(server, template, caplog):
    server.add_user("carol", "carol's password")
    async with witnesses(server) as (alice, bob):
        async with mallory(server) as client:
            client.send(template.format(nested(DEEP)))
            assert await stream_error_text(client) == (
                "policy-violation",
                f"stanzas may nest elements {MAX_DEPTH} levels deep",
            )
        await assert_still_served(alice, bob)
    assert "RecursionError" not in caplog.text


@asyncio_test
async def test_stanza_of_the_depth_limit_is_delivered(server):
    async with witnesses(server) as (alice, bob):
        async with mallory(server) as client:
            # The message is level 1 and its body level 2.
            stanza = DEEP_STANZAS["delivery"].format(nested(MAX_DEPTH - 1))
            client.send(stanza)
            received = await bob.next_message()
            assert (received["from"].full, received["body"]) == (MALLORY, "hi")
        await assert_still_served(alice, bob)


def test_server_factory_caps_connections_per_address_by_default(server):
    assert server.xmpp.factory().max_connections_per_address == MAX_CONNECTIONS_PER_ADDRESS


@dataclass
class Listener:
    """
    What L{RawClient.connect} needs to know of a server: its port.
    """

    port: int
    certificate: object


@contextlib.asynccontextmanager
async def capped_listener(server, limit):
    from twisted.internet import reactor

    port = reactor.listenTCP(
        0,
        ClientConnectionFactory(server.xmpp, max_connections_per_address=limit),
        interface="127.0.0.1",
    )
    try:
        yield Listener(port.getHost().port, server.certificate)
    finally:
        await defer.maybeDeferred(port.stopListening).asFuture(asyncio.get_running_loop())


async def opened(listener, source):
    client = await RawClient.connect(listener, source)
    await client.open_stream()
    return client


@asyncio_test
async def test_connections_per_address_are_capped(server):
    limit = 3
    async with witnesses(server) as (alice, bob):
        async with capped_listener(server, limit) as listener:
            clients = [await opened(listener, "127.0.0.3") for _ in range(limit)]
            refused = await RawClient.connect(listener, "127.0.0.3")
            assert await stream_error_text(refused) == (
                "policy-violation",
                "too many connections from this address",
            )
            await refused.close()
            # Another address is not held to this one's count.
            other = await opened(listener, "127.0.0.4")
            await other.close()
            # A closed connection frees its place.
            await clients.pop().close()
            for _ in range(20):
                try:
                    again = await opened(listener, "127.0.0.3")
                    break
                except (StreamClosed, AssertionError):
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("no place freed")
            clients.append(again)
            for client in clients:
                await client.close()
        await assert_still_served(alice, bob)
