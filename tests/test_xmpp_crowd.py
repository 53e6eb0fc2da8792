"""
Many logins at once from one address, over real loopback sockets: an office
behind one NAT address whose operators all reconnect in the same second
gets in, while guesses made in parallel from one address stay bounded.
"""

import asyncio
import contextlib
from dataclasses import replace

from twisted.internet import defer

from tests.conftest import asyncio_test, start_server
from tests.raw_xmpp import NS_SASL, RawClient, condition, tag

CROWD = 30


async def encrypted_clients(server, count):
    return await asyncio.gather(
        *(RawClient.login(server, None, None, "encrypted") for _ in range(count))
    )


async def outcomes(clients, logins):
    """
    Send every client's PLAIN login at once; the C{"success"} or failure
    condition of each.
    """
    answers = await asyncio.gather(
        *(client.authenticate(name, password) for client, (name, password) in zip(clients, logins))
    )
    return [
        "success" if answer.tag == tag(NS_SASL, "success") else condition(answer, NS_SASL)
        for answer in answers
    ]


async def close_all(clients):
    for client in clients:
        with contextlib.suppress(Exception):
            await client.close()


@asyncio_test
async def test_a_crowd_of_right_logins_at_once_from_one_address_all_get_in(server):
    # The defaults: far fewer failures allowed per address than logins here.
    assert server.config.auth_failures_allowed < CROWD
    # One more connection below stays within the connections per address.
    assert CROWD < server.config.max_xmpp_connections_per_address
    logins = [(f"operator{n}", f"password {n}") for n in range(CROWD)]
    for name, password in logins:
        server.add_user(name, password)
    clients = await encrypted_clients(server, CROWD)
    try:
        assert await outcomes(clients, logins) == ["success"] * CROWD
    finally:
        await close_all(clients)
    # Nothing of that counted against the address.
    clients = await encrypted_clients(server, 1)
    try:
        assert await outcomes(clients, [("operator0", "password 0")]) == ["success"]
    finally:
        await close_all(clients)


@asyncio_test
async def test_wrong_guesses_at_once_from_one_address_are_bounded(server_config):
    config = replace(server_config, auth_failures_allowed=3, logins_in_progress_per_address=10)
    server = await start_server(config)
    try:
        for n in range(CROWD):
            server.add_user(f"operator{n}", f"password {n}")
        clients = await encrypted_clients(server, CROWD)
        try:
            results = await outcomes(
                clients, [(f"operator{n}", "guess") for n in range(CROWD)]
            )
        finally:
            await close_all(clients)
        guessed = results.count("not-authorized")
        assert 0 < guessed <= 3 + 10
        assert results.count("temporary-auth-failure") == CROWD - guessed
        # The failures now hold the address off, a right password too.
        clients = await encrypted_clients(server, 1)
        try:
            assert await outcomes(clients, [("operator0", "password 0")]) == [
                "temporary-auth-failure"
            ]
        finally:
            await close_all(clients)
    finally:
        stopped = defer.maybeDeferred(server.service.stopService)
        await stopped.asFuture(asyncio.get_running_loop())
        server.store.close()
