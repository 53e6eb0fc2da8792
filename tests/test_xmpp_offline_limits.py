"""
Offline storage limits over a real socket: an operator cannot fill an
offline colleague's storage, and hears why a message was not kept.
"""

import asyncio

from mcc.routing.offline import MAX_BYTES, SENDER_LIMIT
from tests.conftest import asyncio_test
from tests.xmpp_client import login

BIG = 250_000


async def error_reply(client, timeout=10):
    async def wait_for():
        while True:
            message = await client.messages.get()
            if message["type"] == "error":
                return message

    return await asyncio.wait_for(wait_for(), timeout)


async def alice_and_offline_bob(server):
    server.add_user("alice", "alice-pw")
    server.add_user("bob", "bob-pw")
    return await login(server, "alice@localhost/desk", "alice-pw")


@asyncio_test
async def test_large_messages_fill_storage_up_to_its_bytes_and_no_further(server):
    alice = await alice_and_offline_bob(server)
    try:
        fit = MAX_BYTES // (BIG + 500)
        assert 1 <= fit < SENDER_LIMIT
        for number in range(fit + 1):
            alice.send_message(mto="bob@localhost", mbody=f"{number}" + "x" * BIG, mtype="chat")
        reply = await error_reply(alice)
        assert reply["error"]["condition"] == "service-unavailable"
        assert reply["error"]["type"] == "cancel"
        assert "no room" in reply["error"]["text"]
        assert reply["body"].startswith(str(fit))
        assert server.store.offline.count("bob") == fit
        assert server.store.offline.size("bob") <= MAX_BYTES
    finally:
        await alice.close()


@asyncio_test
async def test_a_flood_of_small_messages_is_slowed_down(server):
    alice = await alice_and_offline_bob(server)
    try:
        for number in range(SENDER_LIMIT + 1):
            alice.send_message(mto="bob@localhost", mbody=f"message {number}", mtype="chat")
        reply = await error_reply(alice)
        assert reply["error"]["condition"] == "resource-constraint"
        assert reply["error"]["type"] == "wait"
        assert reply["body"] == f"message {SENDER_LIMIT}"
        assert server.store.offline.count("bob") == SENDER_LIMIT
    finally:
        await alice.close()
