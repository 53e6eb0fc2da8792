"""
Bad input over real loopback sockets: each class gets the stream, stanza or
SASL error RFC 6120/6121 prescribes, and the server keeps serving everyone
else.

The misbehaving client is mallory, a L{RawClient} that can send any bytes.
alice and bob are slixmpp clients logged in before the bad input arrives;
every test ends by having them exchange messages.
"""

import asyncio
import contextlib

import pytest

from tests.conftest import asyncio_test
from tests.conftest import test_config as make_config
from tests.raw_xmpp import (
    NS_CLIENT,
    NS_SASL,
    NS_TLS,
    XML_DECLARATION,
    RawClient,
    condition,
    stanza_error,
    stream_header,
    tag,
)
from tests.xmpp_client import login

LIMIT = 4096
AUTH_TIMEOUT = 1.0
FAILURES_ALLOWED = 3
FAILURE_WINDOW = 1.0

MALLORY = "mallory@localhost/raw"
MALLORY_PASSWORD = "mallory's password"
MESSAGE_TO_BOB = "<message to='bob@localhost/phone' type='chat'><body>hi</body></message>"
PING = "<ping xmlns='urn:xmpp:ping'/>"


@pytest.fixture
def server_config(tmp_path):
    return make_config(
        tmp_path / "data",
        max_stanza_size=LIMIT,
        auth_timeout=AUTH_TIMEOUT,
        auth_failures_allowed=FAILURES_ALLOWED,
        auth_failure_window=FAILURE_WINDOW,
    )


@contextlib.asynccontextmanager
async def witnesses(server):
    """
    alice and bob, logged in before anything bad happens; mallory's account
    exists too.
    """
    server.add_user("alice", "alice's password")
    server.add_user("bob", "bob's password")
    server.add_user("mallory", MALLORY_PASSWORD)
    async with contextlib.AsyncExitStack() as stack:
        alice = await login(server, "alice@localhost/desk", "alice's password")
        stack.push_async_callback(alice.close)
        bob = await login(server, "bob@localhost/phone", "bob's password")
        stack.push_async_callback(bob.close)
        yield alice, bob


@contextlib.asynccontextmanager
async def mallory(server, until="bound", source="127.0.0.1"):
    client = await RawClient.login(server, "mallory", MALLORY_PASSWORD, until, source)
    try:
        yield client
    finally:
        await client.close()


async def assert_still_served(alice, bob):
    """
    alice and bob still talk, and nothing else reached them meanwhile.
    """
    alice.send_message(mto="bob@localhost/phone", mbody="still there?", mtype="chat")
    question = await bob.next_message()
    assert (question["from"].full, question["body"]) == ("alice@localhost/desk", "still there?")
    bob.send_message(mto="alice@localhost", mbody="still here", mtype="chat")
    answer = await alice.next_message()
    assert (answer["from"].full, answer["body"]) == ("bob@localhost/phone", "still here")


@pytest.mark.parametrize(
    "until, payload",
    [
        pytest.param("connected", b"GET / HTTP/1.1\r\n\r\n", id="not-xml"),
        pytest.param("bound", b"<message><body>hi</message>", id="mismatched-tag"),
        pytest.param("bound", b"<message to=bob@localhost/>", id="unquoted-attribute"),
        pytest.param("bound", b"<message><body>&what;</body></message>", id="undeclared-entity"),
        pytest.param("bound", b"<message><body>\xff\xfe</body></message>", id="not-utf-8"),
    ],
)
@asyncio_test
async def test_not_well_formed_xml_ends_the_stream(server, until, payload):
    async with witnesses(server) as (alice, bob):
        async with mallory(server, until) as client:
            client.send(payload)
            assert await client.stream_error() == "not-well-formed"
        await assert_still_served(alice, bob)


_BEFORE_HEADER = XML_DECLARATION + "{}" + stream_header()


@pytest.mark.parametrize(
    "until, payload",
    [
        pytest.param("connected", _BEFORE_HEADER.format("<!DOCTYPE stream>"), id="doctype"),
        pytest.param(
            "connected",
            _BEFORE_HEADER.format("<!DOCTYPE stream [<!ENTITY name 'value'>]>"),
            id="entity-declaration",
        ),
        pytest.param("connected", _BEFORE_HEADER.format("<!-- hello -->"), id="comment-in-prolog"),
        pytest.param("connected", _BEFORE_HEADER.format("<?app hello?>"), id="pi-in-prolog"),
        pytest.param("bound", "<!-- hello -->", id="comment-between-stanzas"),
        pytest.param(
            "bound",
            "<message to='bob@localhost/phone'><!-- hello --><body>hi</body></message>",
            id="comment-in-stanza",
        ),
        pytest.param("bound", "<?app hello?>", id="pi-between-stanzas"),
        pytest.param(
            "bound",
            "<message to='bob@localhost/phone'><body>h<?app i?>i</body></message>",
            id="pi-in-stanza",
        ),
    ],
)
@asyncio_test
async def test_restricted_xml_ends_the_stream(server, until, payload):
    async with witnesses(server) as (alice, bob):
        async with mallory(server, until) as client:
            client.send(payload)
            assert await client.stream_error() == "restricted-xml"
        await assert_still_served(alice, bob)


def billion_laughs(levels=10):
    """
    Entities that expand to 10**levels "lol"s, and a stanza that uses them.
    """
    entities = ["<!ENTITY lol0 'lol'>"] + [
        f"<!ENTITY lol{level} '{f'&lol{level - 1};' * 10}'>" for level in range(1, levels)
    ]
    return (
        f"{XML_DECLARATION}<!DOCTYPE stream [{''.join(entities)}]>{stream_header()}"
        f"<message to='bob@localhost/phone'><body>&lol{levels - 1};</body></message>"
    )


@asyncio_test
async def test_entity_expansion_bomb_is_refused_at_once(server):
    async with witnesses(server) as (alice, bob):
        async with mallory(server, "connected") as client:
            client.send(billion_laughs())
            assert await client.stream_error(timeout=2) == "restricted-xml"
        await assert_still_served(alice, bob)


def chat_message(to, size, filler="x"):
    """
    A chat message of exactly C{size} bytes of UTF-8, its body made of
    C{filler} (padded with "x").
    """
    head, tail = f"<message to='{to}' type='chat'><body>", "</body></message>"
    room = size - len(head + tail)
    width = len(filler.encode("utf-8"))
    return f"{head}{filler * (room // width)}{'x' * (room % width)}{tail}"


@pytest.mark.parametrize("filler", ["x", "é"])
@asyncio_test
async def test_stanza_of_the_size_limit_is_delivered(server, filler):
    async with witnesses(server) as (alice, bob):
        async with mallory(server) as client:
            stanza = chat_message("bob@localhost/phone", LIMIT, filler)
            assert len(stanza.encode("utf-8")) == LIMIT
            client.send(stanza)
            received = await bob.next_message()
            assert received["from"].full == MALLORY
            assert received["body"] == stanza.partition("<body>")[2].partition("</body>")[0]
        await assert_still_served(alice, bob)


@pytest.mark.parametrize("filler", ["x", "é"])
@asyncio_test
async def test_stanza_over_the_size_limit_ends_the_stream(server, filler):
    async with witnesses(server) as (alice, bob):
        async with mallory(server) as client:
            # With "é" it is far under the limit in characters.
            client.send(chat_message("bob@localhost/phone", LIMIT + 1, filler))
            assert await client.stream_error() == "policy-violation"
        await assert_still_served(alice, bob)


CHUNK = 512


@pytest.mark.parametrize(
    "until, opening",
    [
        pytest.param("bound", "<message to='bob@localhost/phone'><body>", id="text"),
        pytest.param("bound", "<message to='bob@localhost/phone' id='", id="stanza-attribute"),
        pytest.param("bound", "<message><body xml:lang='", id="child-attribute"),
        pytest.param("connected", XML_DECLARATION + "<stream:stream id='", id="stream-header"),
    ],
)
@asyncio_test
async def test_huge_stanza_in_chunks_is_cut_off_early(server, until, opening):
    async with witnesses(server) as (alice, bob):
        async with mallory(server, until) as client:
            answer = asyncio.ensure_future(client.stream_error())
            client.send(opening)
            sent = len(opening)
            while not answer.done() and sent < 64 * LIMIT:
                client.send("x" * CHUNK)
                sent += CHUNK
                await asyncio.wait([answer], timeout=0.02)
            assert await answer == "policy-violation"
            assert sent <= LIMIT + 4 * CHUNK
        await assert_still_served(alice, bob)


@pytest.mark.parametrize(
    "address",
    [
        "bob@@localhost",
        "bob@",
        "b ob@localhost",
        "bob@local host",
        "@localhost",
        "bob@localhost/",
        "b" * 1024 + "@localhost",
        "bob@localhost/" + "r" * 1024,
    ],
)
@asyncio_test
async def test_invalid_recipient_gets_jid_malformed(server, address):
    async with witnesses(server) as (alice, bob):
        async with mallory(server) as client:
            client.send(
                f"<message to='{address}' id='m1' type='chat'><body>hi</body></message>"
                f"<iq to='{address}' id='q1' type='get'>{PING}</iq>"
            )
            for kind, stanza_id in [("message", "m1"), ("iq", "q1")]:
                reply = await client.receive()
                assert reply.tag == tag(NS_CLIENT, kind)
                assert stanza_error(reply) == "jid-malformed"
                assert (reply.get("id"), reply.get("to"), reply.get("from")) == (
                    stanza_id,
                    MALLORY,
                    None,
                )
            # A stanza error leaves the stream open.
            client.send(MESSAGE_TO_BOB)
            assert (await bob.next_message())["from"].full == MALLORY
        await assert_still_served(alice, bob)


@pytest.mark.parametrize(
    "until, element, expected",
    [
        pytest.param("bound", "<unknown/>", "unsupported-stanza-type", id="client-namespace"),
        pytest.param(
            "bound",
            "<message xmlns='urn:example:other'><body>hi</body></message>",
            "unsupported-stanza-type",
            id="other-namespace",
        ),
        pytest.param(
            "encrypted",
            "<auth xmlns='urn:example:other' mechanism='PLAIN'/>",
            "unsupported-stanza-type",
            id="before-authentication",
        ),
    ],
)
@asyncio_test
async def test_unknown_top_level_element_ends_the_stream(server, until, element, expected):
    async with witnesses(server) as (alice, bob):
        async with mallory(server, until) as client:
            client.send(element)
            assert await client.stream_error() == expected
        await assert_still_served(alice, bob)


@pytest.mark.parametrize(
    "header, expected",
    [
        pytest.param(stream_header(namespace="jabber:server"), "invalid-namespace", id="content"),
        pytest.param(stream_header(streams="urn:example:x"), "invalid-namespace", id="stream"),
        pytest.param(stream_header(to="example.org"), "host-unknown", id="other-domain"),
        # The server's answer must stay well-formed whatever the client's prefix.
        pytest.param(
            stream_header(to="example.org", prefix="s"), "host-unknown", id="other-prefix"
        ),
    ],
)
@asyncio_test
async def test_bad_stream_header_ends_the_stream(server, header, expected):
    async with witnesses(server) as (alice, bob):
        async with mallory(server, "connected") as client:
            client.send(XML_DECLARATION + header)
            assert await client.stream_error() == expected
        await assert_still_served(alice, bob)


# Requests nobody handles, with the error each gets and the reply's 'from'.
_UNKNOWN = "<query xmlns='urn:example:unknown'/>"
IQ_REQUESTS = [
    ("get", None, _UNKNOWN, "service-unavailable"),
    ("set", None, _UNKNOWN, "service-unavailable"),
    ("get", "localhost", _UNKNOWN, "service-unavailable"),
    ("set", "localhost", _UNKNOWN, "service-unavailable"),
    ("set", "localhost", PING, "service-unavailable"),
    ("get", "bob@localhost", _UNKNOWN, "service-unavailable"),
    ("get", "mallory@localhost", _UNKNOWN, "service-unavailable"),
    ("get", "mallory@localhost/elsewhere", PING, "service-unavailable"),
    ("get", "nobody@localhost", PING, "service-unavailable"),
    ("get", "nobody@localhost/phone", PING, "service-unavailable"),
    ("get", "someone@example.org", PING, "remote-server-not-found"),
    ("get", "localhost", "", "bad-request"),
    ("set", "localhost", _UNKNOWN + PING, "bad-request"),
]


@asyncio_test
async def test_every_iq_request_gets_an_answer(server):
    async with witnesses(server) as (alice, bob):
        async with mallory(server) as client:
            for number, (kind, to, payload, _) in enumerate(IQ_REQUESTS):
                address = "" if to is None else f" to='{to}'"
                client.send(f"<iq type='{kind}' id='q{number}'{address}>{payload}</iq>")
            replies = [await client.receive() for _ in IQ_REQUESTS]
            answers = {
                reply.get("id"): (reply.get("from"), stanza_error(reply)) for reply in replies
            }
            assert answers == {
                f"q{number}": (to, expected)
                for number, (_, to, _, expected) in enumerate(IQ_REQUESTS)
            }
        await assert_still_served(alice, bob)


@pytest.mark.parametrize(
    "forged",
    ["alice@localhost/desk", "alice@localhost", "mallory@localhost/elsewhere", "localhost"],
)
@asyncio_test
async def test_forged_from_ends_the_stream(server, forged):
    async with witnesses(server) as (alice, bob):
        async with mallory(server) as client:
            client.send(
                f"<message from='{forged}' to='bob@localhost/phone' type='chat'>"
                "<body>trust me</body></message>"
            )
            assert await client.stream_error() == "invalid-from"
        await assert_still_served(alice, bob)


@pytest.mark.parametrize("until", ["opened", "encrypted", "authenticated"])
@asyncio_test
async def test_stanza_before_binding_is_not_authorized(server, until):
    async with witnesses(server) as (alice, bob):
        async with mallory(server, until) as client:
            client.send(MESSAGE_TO_BOB)
            assert await client.stream_error() == "not-authorized"
        await assert_still_served(alice, bob)


@asyncio_test
async def test_plain_before_tls_requires_encryption(server):
    async with witnesses(server) as (alice, bob):
        client = await RawClient.connect(server)
        try:
            features = await client.open_stream()
            assert [(child.tag, [c.tag for c in child]) for child in features] == [
                (tag(NS_TLS, "starttls"), [tag(NS_TLS, "required")])
            ]
            failure = await client.authenticate("mallory", MALLORY_PASSWORD)
            assert failure.tag == tag(NS_SASL, "failure")
            assert condition(failure, NS_SASL) == "encryption-required"
            # A SASL failure leaves the stream open: the client may go on.
            await client.starttls(server.certificate)
            await client.open_stream()
            success = await client.authenticate("mallory", MALLORY_PASSWORD)
            assert success.tag == tag(NS_SASL, "success")
        finally:
            await client.close()
        await assert_still_served(alice, bob)


@asyncio_test
async def test_repeated_authentication_failures_are_throttled_per_address(server):
    async with witnesses(server) as (alice, bob):
        async with mallory(server, "encrypted") as client:
            for _ in range(FAILURES_ALLOWED):
                failure = await client.authenticate("mallory", "guess")
                assert condition(failure, NS_SASL) == "not-authorized"
            failure = await client.authenticate("mallory", MALLORY_PASSWORD)
            assert condition(failure, NS_SASL) == "temporary-auth-failure"
        async with mallory(server, "encrypted") as again:
            failure = await again.authenticate("mallory", MALLORY_PASSWORD)
            assert condition(failure, NS_SASL) == "temporary-auth-failure"
        async with mallory(server, "bound", source="127.0.0.2") as elsewhere:
            elsewhere.send(MESSAGE_TO_BOB)
            assert (await bob.next_message())["from"].full == MALLORY
        await asyncio.sleep(FAILURE_WINDOW)
        async with mallory(server) as client:
            client.send(MESSAGE_TO_BOB)
            assert (await bob.next_message())["from"].full == MALLORY
        await assert_still_served(alice, bob)


@asyncio_test
async def test_unauthenticated_connections_time_out(server):
    loop = asyncio.get_running_loop()
    async with witnesses(server) as (alice, bob):
        connected = loop.time()
        async with (
            mallory(server, "connected") as silent,
            mallory(server, "encrypted") as stalled,
            mallory(server) as punctual,
        ):
            for client in (silent, stalled):
                assert await client.stream_error(timeout=AUTH_TIMEOUT + 2) == "connection-timeout"
                assert loop.time() - connected >= AUTH_TIMEOUT - 0.05
            await asyncio.sleep(connected + AUTH_TIMEOUT + 0.3 - loop.time())
            punctual.send(f"<iq type='get' id='ping' to='localhost'>{PING}</iq>")
            pong = await punctual.receive()
            assert (pong.get("id"), pong.get("type")) == ("ping", "result")
        await assert_still_served(alice, bob)
