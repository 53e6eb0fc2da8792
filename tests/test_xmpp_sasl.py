"""
Tests for L{mcc.xmpp.sasl}: the server's side of SCRAM and PLAIN, against
scramp's SCRAM client.
"""

import pytest
from scramp import ScramClient
from twisted.internet.defer import Deferred

from mcc.credentials import ITERATIONS, Credentials, MadeUpCredentials
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
MADE_UP = MadeUpCredentials(b"s" * 32)


def find_credentials(username):
    return ACCOUNTS.get(username)


def scram(mechanism, username, password):
    """
    Run a client's side of SCRAM against a new exchange; return the client
    and the server's last answer, or raise L{SaslFailure}.
    """
    exchange = start_exchange(mechanism, find_credentials, DOMAIN, MADE_UP)
    client = ScramClient([mechanism], username, password)
    challenge = exchange.step(client.get_client_first().encode())
    assert isinstance(challenge, Challenge)
    client.set_server_first(challenge.data.decode())
    return client, exchange.step(client.get_client_final().encode())


def plain(message):
    return PlainExchange(find_credentials, DOMAIN, MADE_UP).step(message)


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
    exchange = start_exchange(mechanism, find_credentials, DOMAIN, MADE_UP)
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


def first_answer(name, made_up=MADE_UP, mechanism="SCRAM-SHA-256"):
    """
    The salt and iteration count of SCRAM's first answer for C{name}.
    """
    exchange = ScramExchange(mechanism, find_credentials, made_up)
    client = ScramClient([mechanism], name, "pw")
    attributes = exchange.step(client.get_client_first().encode()).data.decode().split(",")
    return attributes[1], attributes[2]


@pytest.mark.parametrize("mechanism", SCRAM)
def test_scram_first_answer_for_an_unknown_user_is_stable_like_a_real_one(mechanism):
    assert first_answer("alice", mechanism=mechanism) == first_answer("alice", mechanism=mechanism)
    nobody = first_answer("nobody", mechanism=mechanism)
    assert first_answer("nobody", mechanism=mechanism) == nobody
    assert first_answer("NOBODY", mechanism=mechanism) == nobody
    assert nobody[1] == f"i={ITERATIONS}"


def test_scram_salts_of_unknown_users_differ_by_name_and_secret():
    salts = {
        first_answer("nobody")[0],
        first_answer("somebody")[0],
        first_answer("nobody", MadeUpCredentials(b"t" * 32))[0],
    }
    assert len(salts) == 3


class Admissions:
    """
    An C{admit} that notes the names, refusing those in C{refused}.
    """

    def __init__(self, refused=()):
        self.names = []
        self.refused = refused

    def __call__(self, name):
        self.names.append(name)
        if name in self.refused:
            raise SaslFailure("temporary-auth-failure")


@pytest.mark.parametrize("mechanism", SCRAM)
@pytest.mark.parametrize("name, key", [("ALICE", "alice"), ("nobody", "nobody"), ("a b", "a b")])
def test_scram_admits_the_name_before_showing_the_salt(mechanism, name, key):
    admit = Admissions(refused={key})
    exchange = start_exchange(mechanism, find_credentials, DOMAIN, MADE_UP, admit)
    client = ScramClient([mechanism], name, "wonderland")
    assert condition_of(lambda: exchange.step(client.get_client_first().encode())) == (
        "temporary-auth-failure"
    )
    assert admit.names == [key]


@pytest.mark.parametrize("message", [b"\0alice\0wonderland", b"\0Nobody\0wonderland"])
def test_plain_admits_the_name_before_checking_the_password(message):
    made_up = CheckedCredentials()
    admit = Admissions(refused={"alice", "nobody"})
    exchange = PlainExchange(find_credentials, DOMAIN, made_up.credentials, admit)
    assert condition_of(lambda: exchange.step(message)) == "temporary-auth-failure"
    assert made_up.checked == []


@pytest.mark.parametrize("mechanism", SCRAM)
def test_scram_garbage(mechanism):
    exchange = start_exchange(mechanism, find_credentials, DOMAIN, MADE_UP)
    assert condition_of(lambda: exchange.step(b"hello")) == "not-authorized"


@pytest.mark.parametrize("mechanism", SCRAM)
def test_scram_not_utf8(mechanism):
    exchange = start_exchange(mechanism, find_credentials, DOMAIN, MADE_UP)
    assert condition_of(lambda: exchange.step(b"n,,n=\xff,r=abc")) == "malformed-request"


def test_scram_after_the_end():
    exchange = start_exchange("SCRAM-SHA-256", find_credentials, DOMAIN, MADE_UP)
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


class Later:
    """
    A runner that runs nothing until told to: what it was given, and the
    Deferreds it answered.
    """

    def __init__(self):
        self.calls = []

    def __call__(self, function, *args):
        self.calls.append((function, args, deferred := Deferred()))
        return deferred

    def finish(self):
        for function, args, deferred in self.calls:
            deferred.callback(function(*args))


@pytest.mark.parametrize(
    "message, outcome",
    [
        (b"\0alice\0wonderland", Success("alice")),
        (b"\0alice\0looking-glass", "not-authorized"),
        (b"\0nobody\0wonderland", "not-authorized"),
        (b"bob@example.org\0alice\0wonderland", "invalid-authzid"),
    ],
)
def test_plain_checks_the_password_through_the_runner(message, outcome):
    runner = Later()
    results = []
    PlainExchange(find_credentials, DOMAIN, MADE_UP, run_check=runner).step(message).addBoth(
        results.append
    )
    ((function, (password,), _),) = runner.calls
    assert function.__func__ is Credentials.verify
    assert password == message.split(b"\0")[2].decode()
    assert results == []
    runner.finish()
    (result,) = results
    if isinstance(outcome, Success):
        assert result == outcome
    else:
        assert result.value.condition == outcome


def test_plain_password_saslprep_refuses_is_a_wrong_password():
    assert condition_of(lambda: plain(b"\0alice\0wonder\x07land")) == "not-authorized"


class CheckedCredentials:
    """
    Stands for made-up credentials and notes the passwords checked.
    """

    def __init__(self):
        self.checked = []
        self.names = []

    def credentials(self, name):
        self.names.append(name)
        return self

    def verify(self, password):
        self.checked.append(password)
        return False


@pytest.mark.parametrize("authcid", [b"nobody", b"not a name", b""])
def test_plain_unknown_user_is_checked_against_made_up_credentials(authcid):
    made_up = CheckedCredentials()
    exchange = PlainExchange(find_credentials, DOMAIN, made_up_credentials=made_up.credentials)
    assert condition_of(lambda: exchange.step(b"\0" + authcid + b"\0wonderland")) == (
        "not-authorized"
    )
    assert made_up.checked == ["wonderland"]
    assert made_up.names == [authcid.decode()]


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
        condition_of(lambda: start_exchange(name, find_credentials, DOMAIN, MADE_UP))
        == "invalid-mechanism"
    )
