# -*- test-case-name: tests.test_xmpp_sasl -*-
"""
The server side of the SASL mechanisms mcc offers (RFC 6120 section 6).

An exchange is fed the client's messages one by one and answers with a
L{Challenge} or a L{Success}, or raises L{SaslFailure} with the RFC's
condition name.  SCRAM itself is done by C{scramp}.

Every exchange calls C{admit(name)} once it knows the name to log in as and
before it reveals or checks anything of that account; C{admit} raises
L{SaslFailure} to refuse (for example while the name is throttled).

PLAIN derives the keys of the password it is given (PBKDF2, thousands of
rounds): through C{run_check}, which may run it in a thread pool; its step
then answers a Deferred of the outcome.
"""

from dataclasses import dataclass

from scramp import ScramException, ScramMechanism
from twisted.internet.defer import Deferred

from mcc.credentials import SCRAM_MECHANISMS
from mcc.routing.errors import UsernameError, normalize_username

PLAIN = "PLAIN"


@dataclass(frozen=True)
class Challenge:
    data: bytes


@dataclass(frozen=True)
class Success:
    username: str
    data: bytes = b""


class SaslFailure(Exception):
    def __init__(self, condition, text=None):
        Exception.__init__(self, condition, text)
        self.condition = condition
        self.text = text


def _decode(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslFailure("malformed-request", "not UTF-8") from None


def _known_username(name):
    try:
        return normalize_username(name)
    except UsernameError:
        return None


def _admit_everyone(name):
    pass


def _call_now(function, *args):
    return function(*args)


def _lookup(name, find_credentials, made_up_credentials, admit):
    """
    The account's name and credentials; for a name no account has, C{None}
    and the made-up credentials of the name, which still cost the hashing
    of a real check.
    """
    username = _known_username(name)
    key = username or name
    admit(key)
    credentials = username and find_credentials(username)
    if credentials is None:
        return None, made_up_credentials(key)
    return username, credentials


class ScramExchange:
    """
    SCRAM-SHA-1 or SCRAM-SHA-256 without channel binding.

    Unknown users get made-up credentials, so they fail at the proof like a
    wrong password and the exchange does not tell which names exist.
    """

    def __init__(self, mechanism, find_credentials, made_up_credentials, admit=_admit_everyone):
        self._mechanism = mechanism
        self._find_credentials = find_credentials
        self._made_up_credentials = made_up_credentials
        self._admit = admit
        self._server = ScramMechanism(mechanism).make_server(self._auth_info)
        self._username = None
        self._step = self._client_first

    def _auth_info(self, name):
        self._username, credentials = _lookup(
            name, self._find_credentials, self._made_up_credentials, self._admit
        )
        return credentials.auth_info(self._mechanism)

    def step(self, data):
        try:
            return self._step(_decode(data))
        except ScramException as e:
            # scramp wraps what the account lookup raised, a refusal included.
            if isinstance(e.__cause__, SaslFailure):
                raise e.__cause__ from None
            raise SaslFailure("not-authorized", str(e)) from None

    def _client_first(self, message):
        self._server.set_client_first(message)
        self._step = self._client_final
        return Challenge(self._server.get_server_first().encode("utf-8"))

    def _client_final(self, message):
        self._step = self._finished
        self._server.set_client_final(message)
        final = self._server.get_server_final().encode("utf-8")
        if self._username is None:
            raise SaslFailure("not-authorized")
        return Success(self._username, final)

    def _finished(self, message):
        raise SaslFailure("malformed-request", "the exchange is over")


class PlainExchange:
    """
    PLAIN (RFC 4616): one message carrying authzid, authcid and password.

    An unknown user's password is checked against made-up credentials, so
    the answer takes as long as a wrong password's and does not tell which
    names exist.
    """

    def __init__(
        self, find_credentials, domain, made_up_credentials, admit=_admit_everyone,
        run_check=_call_now,
    ):
        """
        @param run_check: C{run_check(function, *args)} calls C{function},
            the password check, and returns its result or a Deferred of it.
        """
        self._find_credentials = find_credentials
        self._domain = domain
        self._made_up_credentials = made_up_credentials
        self._admit = admit
        self._run_check = run_check

    def step(self, data):
        """
        A L{Success}, or a Deferred of one when C{run_check} answers a
        Deferred; a failure raises (or fails with) L{SaslFailure}.
        """
        try:
            authzid, authcid, password = _decode(data).split("\0")
        except ValueError:
            raise SaslFailure("malformed-request", "PLAIN needs three fields") from None
        username, credentials = _lookup(
            authcid, self._find_credentials, self._made_up_credentials, self._admit
        )
        verified = self._run_check(credentials.verify, password)
        if isinstance(verified, Deferred):
            return verified.addCallback(self._outcome, authzid, username, password)
        return self._outcome(verified, authzid, username, password)

    def _outcome(self, verified, authzid, username, password):
        if username is None or not password or not verified:
            raise SaslFailure("not-authorized")
        if authzid and authzid.lower() != f"{username}@{self._domain}":
            raise SaslFailure("invalid-authzid")
        return Success(username)


def mechanisms(plain_allowed):
    """
    The mechanism names to offer, strongest first.
    """
    return list(SCRAM_MECHANISMS) + ([PLAIN] if plain_allowed else [])


def start_exchange(
    mechanism, find_credentials, domain, made_up_credentials, admit=_admit_everyone,
    run_check=_call_now,
):
    """
    An exchange of C{mechanism}; C{made_up_credentials} is C{name ->
    Credentials} for names no account has, the same for the same name
    (see L{mcc.credentials.MadeUpCredentials}); C{run_check} runs PLAIN's
    password check (see L{PlainExchange}).
    """
    if mechanism in SCRAM_MECHANISMS:
        return ScramExchange(mechanism, find_credentials, made_up_credentials, admit)
    if mechanism == PLAIN:
        return PlainExchange(find_credentials, domain, made_up_credentials, admit, run_check)
    raise SaslFailure("invalid-mechanism")
