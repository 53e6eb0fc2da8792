"""
Tests for L{mcc.credentials}: SCRAM keys that a real SCRAM client accepts.
"""

import stat

import pytest
from scramp import ScramClient, ScramException, ScramMechanism

from mcc.credentials import (
    ITERATIONS,
    SALT_BYTES,
    SECRET_BYTES,
    Credentials,
    MadeUpCredentials,
    PasswordError,
    ensure_server_secret,
)

SALT = bytes(range(SALT_BYTES))


def scram_exchange(credentials, mechanism, password):
    """
    A whole exchange between scramp's client knowing C{password} and a
    server knowing only C{credentials}; the client checks the server too.
    Returns the server's final message.
    """
    server = ScramMechanism(mechanism).make_server(lambda name: credentials.auth_info(mechanism))
    client = ScramClient([mechanism], "alice", password)
    server.set_client_first(client.get_client_first())
    client.set_server_first(server.get_server_first())
    server.set_client_final(client.get_client_final())
    final = server.get_server_final()
    client.set_server_final(final)
    return final


def test_iterations_meet_rfc_7677():
    assert ITERATIONS >= 4096
    assert Credentials.from_password("pw").iterations >= 4096


def test_both_hashes_come_from_one_salt():
    credentials = Credentials.from_password("pencil", salt=SALT)
    assert credentials.salt == SALT
    assert len(credentials.stored_key_sha1) == len(credentials.server_key_sha1) == 20
    assert len(credentials.stored_key_sha256) == len(credentials.server_key_sha256) == 32
    for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
        expected = ScramMechanism(mechanism).make_auth_info(
            "pencil", iteration_count=ITERATIONS, salt=SALT
        )
        assert credentials.auth_info(mechanism) == expected


def test_fresh_salt_each_time():
    first = Credentials.from_password("pencil")
    second = Credentials.from_password("pencil")
    assert len(first.salt) == SALT_BYTES
    assert first.salt != second.salt
    assert first.stored_key_sha256 != second.stored_key_sha256


def test_unknown_mechanism_has_no_keys():
    with pytest.raises(ValueError):
        Credentials.from_password("pencil").auth_info("SCRAM-SHA-512")


@pytest.mark.parametrize("password", ["pencil", "pässwörd ∑", "x" * 200])
def test_verify(password):
    credentials = Credentials.from_password(password)
    assert credentials.verify(password)
    assert not credentials.verify(password + "!")
    assert not credentials.verify("")


PROHIBITED = ["a\x07b", "private-use-\ue000", "\u0627a"]
"""
Passwords SASLprep refuses: a control character, a private use character,
and right-to-left text mixed with left-to-right.
"""


@pytest.mark.parametrize("password", PROHIBITED)
def test_prohibited_password_verifies_as_wrong(password):
    assert not Credentials.from_password("pencil").verify(password)


@pytest.mark.parametrize("password", PROHIBITED)
def test_prohibited_password_makes_no_credentials(password):
    with pytest.raises(PasswordError, match="cannot be used with XMPP"):
        Credentials.from_password(password)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_client_with_the_right_password(mechanism):
    final = scram_exchange(Credentials.from_password("pencil"), mechanism, "pencil")
    assert final.startswith("v=")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_client_with_a_wrong_password(mechanism):
    with pytest.raises(ScramException, match="invalid_proof|proof"):
        scram_exchange(Credentials.from_password("pencil"), mechanism, "crayon")


def test_server_secret_is_made_once_and_kept(tmp_path):
    path = tmp_path / "data" / "server-secret"
    secret = ensure_server_secret(path)
    assert len(secret) == SECRET_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_server_secret(path) == secret


def test_a_truncated_server_secret_is_replaced(tmp_path):
    path = tmp_path / "server-secret"
    path.write_bytes(b"short")
    path.chmod(0o644)
    secret = ensure_server_secret(path, random_bytes=lambda n: b"r" * n)
    assert secret == b"r" * SECRET_BYTES
    assert path.read_bytes() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_made_up_credentials_depend_on_name_and_secret_only():
    made_up = MadeUpCredentials(b"s" * SECRET_BYTES)
    nobody = made_up("nobody")
    assert made_up("nobody") == MadeUpCredentials(b"s" * SECRET_BYTES)("nobody")
    assert (len(nobody.salt), nobody.iterations) == (SALT_BYTES, ITERATIONS)
    assert made_up("somebody").salt != nobody.salt
    assert MadeUpCredentials(b"t" * SECRET_BYTES)("nobody").salt != nobody.salt
    assert not nobody.verify("")
