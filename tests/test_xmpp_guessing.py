"""
Password and account-name guessing over real loopback sockets: what SCRAM's
first answer tells of a name, and how failed logins are throttled per
address and per account without locking the owner out.
"""

import base64
import contextlib

import pytest
from scramp import ScramClient

from tests.conftest import asyncio_test
from tests.conftest import test_config as make_config
from tests.raw_xmpp import NS_SASL, RawClient, condition, tag

FAILURES_ALLOWED = 3
ACCOUNT_FAILURES_ALLOWED = 10  # LoginThrottle's default


@pytest.fixture
def server_config(tmp_path):
    return make_config(tmp_path / "data", auth_failures_allowed=FAILURES_ALLOWED)


@contextlib.asynccontextmanager
async def encrypted(server, source):
    client = await RawClient.login(server, None, None, "encrypted", source)
    try:
        yield client
    finally:
        await client.close()


async def scram_first(client, name, mechanism="SCRAM-SHA-256"):
    """
    Send SCRAM's first message for C{name}; return the server's answer.
    """
    first = ScramClient([mechanism], name, "any password").get_client_first()
    data = base64.b64encode(first.encode("utf-8")).decode("ascii")
    client.send(f"<auth xmlns='{NS_SASL}' mechanism='{mechanism}'>{data}</auth>")
    return await client.receive()


def salt_and_iterations(challenge):
    assert challenge.tag == tag(NS_SASL, "challenge")
    attributes = base64.b64decode(challenge.text).decode("utf-8").split(",")
    return attributes[1], attributes[2]


async def log_in(server, name, password, source):
    """
    The condition of a PLAIN login from C{source}: C{"success"} or the
    failure's.
    """
    async with encrypted(server, source) as client:
        answer = await client.authenticate(name, password)
        if answer.tag == tag(NS_SASL, "success"):
            return "success"
        return condition(answer, NS_SASL)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
@asyncio_test
async def test_scram_first_answer_for_an_unknown_name_is_the_same_each_time(server, mechanism):
    server.add_user("alice", "alice's password")
    answers = {}
    for n, name in enumerate(["alice", "nobody", "alice", "nobody"]):
        async with encrypted(server, f"127.0.3.{n}") as client:
            answers.setdefault(name, set()).add(
                salt_and_iterations(await scram_first(client, name, mechanism))
            )
    assert [len(answers["alice"]), len(answers["nobody"])] == [1, 1]
    assert answers["alice"] != answers["nobody"]


@asyncio_test
async def test_scram_exchanges_given_up_after_the_salt_count_as_failures(server):
    server.add_user("mallory", "mallory's password")
    for _ in range(FAILURES_ALLOWED):
        async with encrypted(server, "127.0.0.3") as client:
            salt_and_iterations(await scram_first(client, "mallory"))
    assert await log_in(server, "mallory", "mallory's password", "127.0.0.3") == (
        "temporary-auth-failure"
    )
    async with encrypted(server, "127.0.0.3") as client:
        refused = await scram_first(client, "nobody")
        assert condition(refused, NS_SASL) == "temporary-auth-failure"
    assert await log_in(server, "mallory", "mallory's password", "127.0.0.4") == "success"


@asyncio_test
async def test_guesses_spread_over_addresses_lock_the_account_but_not_its_owner(server):
    server.add_user("alice", "alice's password")
    assert await log_in(server, "alice", "alice's password", "127.0.0.5") == "success"
    for n in range(ACCOUNT_FAILURES_ALLOWED):
        assert await log_in(server, "alice", "guess", f"127.0.1.{n}") == "not-authorized"
    assert await log_in(server, "alice", "alice's password", "127.0.2.1") == (
        "temporary-auth-failure"
    )
    # Other accounts are not locked, and the owner's known address passes.
    server.add_user("bob", "bob's password")
    assert await log_in(server, "bob", "bob's password", "127.0.2.1") == "success"
    assert await log_in(server, "alice", "alice's password", "127.0.0.5") == "success"


@asyncio_test
async def test_guesses_from_a_shared_address_do_not_lock_out_an_owner_known_there(server):
    server.add_user("alice", "alice's password")
    server.add_user("bob", "bob's password")
    assert await log_in(server, "alice", "alice's password", "127.0.0.6") == "success"
    for _ in range(FAILURES_ALLOWED):
        assert await log_in(server, "bob", "guess", "127.0.0.6") == "not-authorized"
    assert await log_in(server, "bob", "bob's password", "127.0.0.6") == (
        "temporary-auth-failure"
    )
    assert await log_in(server, "alice", "alice's password", "127.0.0.6") == "success"
