"""
Tests for L{mcc.xmpp.sasl}: the server's side of SCRAM and PLAIN, against
scramp's SCRAM client.
"""

import pytest
from scramp import ScramClient

from mcc.credentials import ITERATIONS, Credentials
from mcc.xmpp.sasl import (
    Challenge,
    PlainExchange,
    SaslFailure,
    ScramExchange,
    Success,
    mechanisms,
    start_exchange,
)

DOMAIN = "example.org"
ACCOUNTS = {"alice": Credentials.from_password("wonderland")}
SCRAM = ["SCRAM-SHA-1", "SCRAM-SHA-256"]


def find_credentials(username):
    return ACCOUNTS.get(username)


def scram(mechanism, username, password):
    """
    Run a client's side of SCRAM against a new exchange; return the client
    and the server's last answer, or raise L{SaslFailure}.
    """
    exchange = start_exchange(mechanism, find_credentials, DOMAIN)
    client = ScramClient([mechanism], username, password)
    challenge = exchange.step(client.get_client_first().encode())
    assert isinstance(challenge, Challenge)
    client.set_server_first(challenge.data.decode())
    return client, exchange.step(client.get_client_final().encode())


def plain(message):
    return PlainExchange(find_credentials, DOMAIN).step(message)


def condition_of(call):
    with pytest.raises(SaslFailure) as failure:
        call()
    return failure.value.condition


def test_mechanisms_strongest_first():
    assert mechanisms(plain_allowed=False) == ["SCRAM-SHA-256", "SCRAM-SHA-1"]
    assert mechanisms(plain_allowed=True) == ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]


@pytest.mark.parametrize("mechanism", SCRAM)
def test_scram_success_is_verified_by_the_client(mechanism):
    client, outcome = scram(mechanism, "alice", "wonderland")
    assert isinstance(outcome, Success)
    assert outcome.username == "alice"
    client.set_server_final(outcome.data.decode())  # raises if the server lied


@pytest.mark.parametrize("mechanism", SCRAM)
def test_scram_username_is_normalized(mechanism):
    _, outcome = scram(mechanism, "ALICE", "wonderland")
    assert outcome.username == "alice"


@pytest.mark.parametrize("mechanism", SCRAM)
def test_scram_wrong_password(mechanism):
    assert condition_of(lambda: scram(mechanism, "alice", "looking-glass")) == "not-authorized"


@pytest.mark.parametrize("mechanism", SCRAM)
@pytest.mark.parametrize("username", ["nobody", "not a name"])
def test_scram_unknown_user_fails_like_a_wrong_password(mechanism, username):
    exchange = start_exchange(mechanism, find_credentials, DOMAIN)
    client = ScramClient([mechanism], username, "wonderland")
    challenge = exchange.step(client.get_client_first().encode())
    # The challenge has the shape of a real one: a salt and the usual count.
    attributes = dict(part.split("=", 1) for part in challenge.data.decode().split(","))
    assert set(attributes) == {"r", "s", "i"}
    assert attributes["i"] == str(ITERATIONS)
    client.set_server_first(challenge.data.decode())
    with pytest.raises(SaslFailure) as failure:
        exchange.step(client.get_client_final().encode())
    assert failure.value.condition == "not-authorized"


def test_scram_salt_of_an_unknown_user_changes():
    def salt():
        exchange = ScramExchange("SCRAM-SHA-256", find_credentials)
        client = ScramClient(["SCRAM-SHA-256"], "nobody", "pw")
        return exchange.step(client.get_client_first().encode()).data.split(b",")[1]

    assert salt() != salt()


@pytest.mark.parametrize("mechanism", SCRAM)
def test_scram_garbage(mechanism):
    exchange = start_exchange(mechanism, find_credentials, DOMAIN)
    assert condition_of(lambda: exchange.step(b"hello")) == "not-authorized"


@pytest.mark.parametrize("mechanism", SCRAM)
def test_scram_not_utf8(mechanism):
    exchange = start_exchange(mechanism, find_credentials, DOMAIN)
    assert condition_of(lambda: exchange.step(b"n,,n=\xff,r=abc")) == "malformed-request"


def test_scram_after_the_end():
    exchange = start_exchange("SCRAM-SHA-256", find_credentials, DOMAIN)
    client = ScramClient(["SCRAM-SHA-256"], "alice", "wonderland")
    client.set_server_first(exchange.step(client.get_client_first().encode()).data.decode())
    final = client.get_client_final().encode()
    assert isinstance(exchange.step(final), Success)
    assert condition_of(lambda: exchange.step(final)) == "malformed-request"


def test_plain_success():
    assert plain(b"\0alice\0wonderland") == Success("alice")
    assert plain(b"\0Alice\0wonderland") == Success("alice")


@pytest.mark.parametrize(
    "message",
    [
        b"\0alice\0looking-glass",
        b"\0alice\0",
        b"\0nobody\0wonderland",
        b"\0\0wonderland",
        b"\0not a name\0wonderland",
    ],
)
def test_plain_failure(message):
    assert condition_of(lambda: plain(message)) == "not-authorized"


def test_plain_password_saslprep_refuses_is_a_wrong_password():
    assert condition_of(lambda: plain(b"\0alice\0wonder\x07land")) == "not-authorized"


class CheckedCredentials:
    """
    Stands for made-up credentials and notes the passwords checked.
    """

    def __init__(self):
        self.checked = []

    def verify(self, password):
        self.checked.append(password)
        return False


@pytest.mark.parametrize("authcid", [b"nobody", b"not a name", b""])
def test_plain_unknown_user_is_checked_against_made_up_credentials(authcid):
    made_up = CheckedCredentials()
    exchange = PlainExchange(find_credentials, DOMAIN, made_up_credentials=lambda: made_up)
    assert condition_of(lambda: exchange.step(b"\0" + authcid + b"\0wonderland")) == (
        "not-authorized"
    )
    assert made_up.checked == ["wonderland"]


def test_plain_authzid_of_the_same_account():
    assert plain(b"alice@example.org\0alice\0wonderland") == Success("alice")
    assert plain(b"Alice@Example.org\0alice\0wonderland") == Success("alice")


@pytest.mark.parametrize("authzid", [b"bob@example.org", b"alice@other.org", b"alice"])
def test_plain_authzid_of_another_identity(authzid):
    assert condition_of(lambda: plain(authzid + b"\0alice\0wonderland")) == "invalid-authzid"


@pytest.mark.parametrize(
    "message", [b"", b"alice\0wonderland", b"\0alice\0wonder\0land", b"\0alice\0\xff"]
)
def test_plain_malformed(message):
    assert condition_of(lambda: plain(message)) == "malformed-request"


@pytest.mark.parametrize("name", ["DIGEST-MD5", "scram-sha-256", "", None, "X-OAUTH2"])
def test_invalid_mechanism(name):
    assert (
        condition_of(lambda: start_exchange(name, find_credentials, DOMAIN))
        == "invalid-mechanism"
    )
