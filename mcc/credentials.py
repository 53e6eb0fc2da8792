# -*- test-case-name: tests.test_credentials,tests.test_xmpp_sasl -*-
"""
Password records that never hold the password.

One record keeps the SCRAM keys (RFC 5802) for SHA-1 and SHA-256 with a shared
salt and iteration count.  The same record answers a SCRAM exchange, checks a
PLAIN password, and later the web sign-in, so no hash of another kind exists.
"""

import hmac
import os
from dataclasses import dataclass

from scramp import ScramException, ScramMechanism

ITERATIONS = 4096
SALT_BYTES = 16
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-1")


class PasswordError(ValueError):
    """
    A password SASLprep (RFC 4013) refuses, such as one with a control
    character: no SCRAM client could send it.
    """


def _auth_info(mechanism, password, salt, iterations):
    try:
        return ScramMechanism(mechanism).make_auth_info(
            password, iteration_count=iterations, salt=salt
        )
    except ScramException as e:
        raise PasswordError(f"the password cannot be used with XMPP: {e.args[0]}") from None


@dataclass(frozen=True)
class Credentials:
    salt: bytes
    iterations: int
    stored_key_sha1: bytes
    server_key_sha1: bytes
    stored_key_sha256: bytes
    server_key_sha256: bytes

    @classmethod
    def from_password(cls, password, salt=None, iterations=ITERATIONS):
        """
        Derive the keys of both hashes from C{password}, or raise
        L{PasswordError}.
        """
        salt = os.urandom(SALT_BYTES) if salt is None else salt
        _, stored1, server1, _ = _auth_info("SCRAM-SHA-1", password, salt, iterations)
        _, stored256, server256, _ = _auth_info("SCRAM-SHA-256", password, salt, iterations)
        return cls(salt, iterations, stored1, server1, stored256, server256)

    def auth_info(self, mechanism):
        """
        The tuple a C{scramp} server asks for: salt, keys and iteration count.
        """
        if mechanism == "SCRAM-SHA-1":
            return self.salt, self.stored_key_sha1, self.server_key_sha1, self.iterations
        if mechanism == "SCRAM-SHA-256":
            return self.salt, self.stored_key_sha256, self.server_key_sha256, self.iterations
        raise ValueError(f"no keys for {mechanism}")

    def verify(self, password):
        """
        Whether C{password} derives the stored SHA-256 key; one SASLprep
        refuses derives none, as no account can have it.
        """
        try:
            _, stored_key, _, _ = _auth_info("SCRAM-SHA-256", password, self.salt, self.iterations)
        except PasswordError:
            return False
        return hmac.compare_digest(stored_key, self.stored_key_sha256)


SECRET_BYTES = 32


def ensure_server_secret(path, random_bytes=os.urandom):
    """
    The server's secret in C{path}, written on first start readable by its
    owner only, and kept from then on: what it derives (the made-up
    credentials of names no account has) must stay the same across
    restarts, or comparing answers before and after one would tell which
    names are real.
    """
    if path.exists():
        secret = path.read_bytes()
        if len(secret) >= SECRET_BYTES:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = random_bytes(SECRET_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "wb") as secret_file:
        secret_file.write(secret)
    return secret


class MadeUpCredentials:
    """
    C{name -> Credentials} for a name no account has, derived from the name
    and a server secret: asked twice, the same salt and iteration count come
    back, as they would for a real account, so SCRAM's first answer does
    not tell real names from unknown ones.  No password derives their keys.
    """

    def __init__(self, secret):
        self._secret = secret

    def _derive(self, purpose, name, size):
        digest = hmac.digest(self._secret, f"{purpose}\0{name}".encode(), "sha256")
        return digest[:size]

    def __call__(self, name):
        return Credentials(
            salt=self._derive("salt", name, SALT_BYTES),
            iterations=ITERATIONS,
            stored_key_sha1=self._derive("stored-sha1", name, 20),
            server_key_sha1=self._derive("server-sha1", name, 20),
            stored_key_sha256=self._derive("stored-sha256", name, 32),
            server_key_sha256=self._derive("server-sha256", name, 32),
        )
