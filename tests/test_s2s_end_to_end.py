"""
Federation over real sockets: two mcc servers in one reactor, on loopback,
each its own domain, finding each other through a resolver that answers
the SRV lookups from a table.  Users of one message users of the other; a
remote user chats with a queue's address that a slixmpp operator answers;
certificates decide between SASL EXTERNAL and Server Dialback, and a peer
whose certificate is not valid is refused unless allowed.
"""

import asyncio
from dataclasses import dataclass

import pytest_twisted
from twisted.internet import defer

from mcc.tap import bound_port
from mcc.xmpp.s2s.federation import StaticResolver
from tests.conftest import RunningServer, asyncio_test, test_config
from tests.s2s_certificates import Authority, dns_names, server_certificate
from tests.test_chat_end_to_end import close_all, has_body, message_matching, staff
from tests.xmpp_client import TIMEOUT, login

ONE, TWO = "one.test", "two.test"


@dataclass
class Pair:
    one: RunningServer
    two: RunningServer


async def start(config, table):
    from twisted.internet import reactor

    from mcc.tap import makeService

    service = makeService(config, reactor, resolver=StaticResolver(table))
    service.startService()
    running = RunningServer(
        config, service, bound_port(service, "xmpp-listener"), bound_port(service, "http-listener")
    )
    table[config.domain] = [("127.0.0.1", bound_port(service, "s2s-listener"))]
    return running


async def servers(tmp_path, trusted=(ONE, TWO), **options):
    """
    Two running servers; those in C{trusted} have a certificate of the
    test CA that both trust, the others a self-signed one.
    """
    ca = Authority()
    ca_file = ca.write(tmp_path / "ca.pem")
    table = {}
    running = []
    for domain in (ONE, TWO):
        cert, key = server_certificate(
            tmp_path / domain / "tls", dns_names(domain), ca if domain in trusted else None
        )
        config = test_config(
            tmp_path / domain / "data", domain=domain, tls_cert=cert, tls_key=key, s2s_ca_file=ca_file,
            **options.get(domain, {}),
        )
        running.append(await start(config, table))
    return Pair(*running)


async def stop(pair, wait=lambda d: d.asFuture(asyncio.get_running_loop())):
    """
    Stop both servers; C{wait} makes a Deferred awaitable where the caller
    runs (an asyncio task by default, a fixture passes C{lambda d: d}).
    """
    for server in (pair.one, pair.two):
        await wait(defer.maybeDeferred(server.service.stopService))
        server.store.close()


@pytest_twisted.async_yield_fixture
async def trusted_pair(tmp_path):
    pair = await servers(tmp_path)
    yield pair
    await stop(pair, wait=lambda d: d)


async def user(server, name):
    server.add_user(name, f"{name}-pw", display_name=name.title())
    return await login(server, f"{name}@{server.domain}/desk", f"{name}-pw")


def federation(server):
    return server.service.getServiceNamed("federation")


@asyncio_test
async def test_users_of_two_servers_message_each_other(trusted_pair):
    alice = await user(trusted_pair.one, "alice")
    bob = await user(trusted_pair.two, "bob")
    try:
        alice.send_message(mto=f"bob@{TWO}", mbody="Hello from one", mtype="chat")
        received = await message_matching(bob, has_body("Hello from one"))
        assert received["from"].full == f"alice@{ONE}/desk"

        bob.send_message(mto=received["from"], mbody="Hello back from two", mtype="chat")
        answer = await message_matching(alice, has_body("Hello back from two"))
        assert answer["from"].full == f"bob@{TWO}/desk"
        # Each server opened one stream to the other, authenticated by
        # certificate, and keeps it for what follows.
        assert set(federation(trusted_pair.one).links) == {TWO}
        assert set(federation(trusted_pair.two).links) == {ONE}
        assert federation(trusted_pair.one).external_allowed
    finally:
        await close_all(alice, bob)


@asyncio_test
async def test_a_remote_user_chats_with_a_queue_address(trusted_pair):
    one, two = trusted_pair.one, trusted_pair.two
    olga = await user(two, "olga")
    staff(two, "support", "olga")
    two.service.getServiceNamed("remote-visitors").set_identity("support", f"support@{TWO}")
    alice = await user(one, "alice")
    try:
        alice.send_message(mto=f"support@{TWO}", mbody="Are you open today?", mtype="chat")
        offer = await message_matching(olga, has_body("New chat for support"))
        guest = offer["from"].bare
        chat = two.store.chats.by_guest(guest.split("@")[0])
        assert chat.protocol == "xmpp"

        olga.send_message(mto=guest, mbody="Yes, until 9pm.", mtype="chat")
        reply = await message_matching(alice, has_body("Yes, until 9pm."))
        assert reply["from"].bare == f"support@{TWO}"

        alice.send_message(mto=f"support@{TWO}", mbody="Thanks!", mtype="chat")
        await message_matching(olga, has_body("Thanks!"))
        assert len(two.store.chats.unfinished()) == 1
    finally:
        await close_all(alice, olga)


async def error_reply(client, timeout=TIMEOUT):
    while True:
        message = await asyncio.wait_for(client.messages.get(), timeout)
        if message["type"] == "error":
            return message


@asyncio_test
async def test_a_self_signed_peer_is_refused_by_default(tmp_path):
    pair = await servers(tmp_path, trusted=(ONE,))
    alice = await user(pair.one, "alice")
    try:
        alice.send_message(mto=f"bob@{TWO}", mbody="Anyone?", mtype="chat")
        bounced = await error_reply(alice)
        assert bounced["error"]["condition"] == "remote-server-not-found"
        assert not federation(pair.one).links
    finally:
        await close_all(alice)
        await stop(pair)


@asyncio_test
async def test_dialback_authenticates_a_self_signed_peer_when_allowed(tmp_path):
    pair = await servers(
        tmp_path, trusted=(ONE,),
        **{ONE: dict(s2s_allow_unverified=True), TWO: dict(s2s_allow_unverified=True)},
    )
    alice = await user(pair.one, "alice")
    bob = await user(pair.two, "bob")
    try:
        assert not federation(pair.two).external_allowed
        # two's stream to one can only be proven by dialback: one asks two
        # back whether the key is right.
        bob.send_message(mto=f"alice@{ONE}", mbody="Dialback works", mtype="chat")
        received = await message_matching(alice, has_body("Dialback works"))
        assert received["from"].full == f"bob@{TWO}/desk"
        alice.send_message(mto=received["from"], mbody="So it does", mtype="chat")
        await message_matching(bob, has_body("So it does"))
    finally:
        await close_all(alice, bob)
        await stop(pair)


@asyncio_test
async def test_a_denied_domain_is_bounced(tmp_path):
    pair = await servers(tmp_path, **{ONE: dict(s2s_deny=(TWO,))})
    alice = await user(pair.one, "alice")
    try:
        alice.send_message(mto=f"bob@{TWO}", mbody="Hi", mtype="chat")
        bounced = await error_reply(alice)
        assert bounced["error"]["condition"] == "remote-server-not-found"
    finally:
        await close_all(alice)
        await stop(pair)


@asyncio_test
async def test_servers_that_close_before_authenticating_are_passed_over(trusted_pair):
    """
    The first SRV target of two.test accepts TCP and closes at once, the
    second closes once it has read our stream header; the third, the real
    server, carries the message.
    """
    async def close_at_once(reader, writer):
        writer.close()

    async def close_after_the_header(reader, writer):
        await reader.readuntil(b">")
        writer.close()

    closers = [await asyncio.start_server(handle, "127.0.0.1", 0) for handle in (close_at_once, close_after_the_header)]
    table = federation(trusted_pair.one).targets.resolver.table
    table[TWO] = [("127.0.0.1", closer.sockets[0].getsockname()[1]) for closer in closers] + table[TWO]
    alice = await user(trusted_pair.one, "alice")
    bob = await user(trusted_pair.two, "bob")
    try:
        alice.send_message(mto=f"bob@{TWO}", mbody="Past two closed doors", mtype="chat")
        received = await message_matching(bob, has_body("Past two closed doors"))
        assert received["from"].full == f"alice@{ONE}/desk"
    finally:
        await close_all(alice, bob)
        for closer in closers:
            closer.close()
