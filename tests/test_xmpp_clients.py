"""
Real XMPP clients (slixmpp) against a running mcc over loopback sockets.
"""

import asyncio

import pytest

from tests.conftest import asyncio_test
from tests.xmpp_client import AuthFailed, login, until


@asyncio_test
async def test_two_accounts_exchange_messages_to_bare_and_full_jids(server):
    server.add_user("alice", "wonderland")
    server.add_user("bob", "builder")
    alice = await login(server, "alice@localhost/desk", "wonderland")
    bob = await login(server, "bob@localhost/phone", "builder")
    try:
        assert alice.plugin["feature_mechanisms"].mech.name == "SCRAM-SHA-256"
        alice.send_message(mto="bob@localhost", mbody="to your bare JID", mtype="chat")
        received = await bob.next_message()
        assert received["body"] == "to your bare JID"
        assert received["from"].full == "alice@localhost/desk"

        bob.send_message(mto="alice@localhost/desk", mbody="to your full JID", mtype="chat")
        received = await alice.next_message()
        assert received["body"] == "to your full JID"
        assert received["from"].full == "bob@localhost/phone"
    finally:
        await alice.close()
        await bob.close()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "PLAIN"])
@asyncio_test
async def test_other_mechanisms_over_tls(server, mechanism):
    server.add_user("carol", "secret words")
    carol = await login(server, "carol@localhost", "secret words", mechanism=mechanism)
    try:
        assert carol.plugin["feature_mechanisms"].mech.name == mechanism
        assert carol.boundjid.bare == "carol@localhost"
    finally:
        await carol.close()


@asyncio_test
async def test_wrong_password_is_refused(server):
    server.add_user("dave", "right")
    with pytest.raises(AuthFailed):
        await login(server, "dave@localhost", "wrong")


@asyncio_test
async def test_subscribed_contacts_see_each_others_presence(server):
    server.add_user("alice", "a")
    server.add_user("bob", "b")
    alice = await login(server, "alice@localhost/desk", "a")
    bob = await login(server, "bob@localhost/phone", "b")
    try:
        alice.send_presence_subscription(pto="bob@localhost")
        await until(lambda: bob.client_roster["alice@localhost"]["subscription"] == "both")
        await until(lambda: alice.client_roster["bob@localhost"]["subscription"] == "both")
        bob.send_presence(pshow="away", pstatus="lunch")
        presence = await alice.presence_from("bob@localhost/phone", "away")
        assert presence["status"] == "lunch"
        await bob.close()
        await alice.presence_from("bob@localhost/phone", "unavailable")
    finally:
        await alice.close()


@asyncio_test
async def test_message_to_offline_account_arrives_at_next_login(server):
    server.add_user("alice", "a")
    server.add_user("bob", "b")
    alice = await login(server, "alice@localhost", "a")
    alice.send_message(mto="bob@localhost", mbody="while you were out", mtype="chat")
    await until(lambda: server.store.offline.count("bob") == 1)
    await alice.close()
    bob = await login(server, "bob@localhost", "b")
    try:
        received = await bob.next_message()
        assert received["body"] == "while you were out"
        assert received["delay"]["stamp"] is not None
        assert server.store.offline.count("bob") == 0
    finally:
        await bob.close()


@asyncio_test
async def test_same_resource_replaces_the_older_session(server):
    server.add_user("alice", "a")
    first = await login(server, "alice@localhost/desk", "a")
    second = await login(server, "alice@localhost/desk", "a")
    try:
        await asyncio.wait_for(first.ended.wait(), 10)
        assert [e["condition"] for e in first.stream_errors] == ["conflict"]
        assert second.boundjid.full == "alice@localhost/desk"
        assert len(server.xmpp.sessions.sessions("alice@localhost")) == 1
    finally:
        await second.close()
