"""
Tests for what a client may send while logging in that the server must
refuse without losing the stream: passwords SASLprep forbids and resources
no JID can carry, over the in-memory negotiation of
L{tests.test_xmpp_negotiation}.
"""

import pytest
from twisted.internet.defer import fail

from mcc.xmpp import jids
from mcc.xmpp.namespaces import NS_SASL
from tests.memory_xmpp import make_server
from tests.test_xmpp_negotiation import (  # noqa: F401 (fixtures)
    AUTH_TIMEOUT,
    Client,
    b64,
    client,
    sasl_condition,
    server,
)
from tests.test_xmpp_sasl import Later


def test_plain_password_saslprep_refuses_is_a_counted_failure(server, client):
    client.starttls()
    client.features()
    for _ in range(server.config.auth_failures_allowed):
        assert sasl_condition(client.auth("PLAIN", b"\0alice\0ec\x07ila")) == "not-authorized"
    assert not client.transport.disconnecting
    assert sasl_condition(client.auth("PLAIN", b"\0alice\0ecila")) == "temporary-auth-failure"


@pytest.mark.parametrize("resource", ["x" * 2000, "\u00e9" * 512])
def test_resource_over_1023_bytes_is_a_bad_request(server, client, resource):
    client.login()
    client.features()
    result = client.bind(resource)
    assert result["type"] == "error"
    assert result.error.firstChildElement().name == "bad-request"
    assert len(server.sessions) == 0
    assert client.bind("desk")["type"] == "result"


def test_resource_of_1023_bytes_is_bound(server, client):
    client.login()
    client.features()
    result = client.bind("x" * 1023)
    assert str(result.bind.jid) == "alice@example.org/" + "x" * 1023
    (session,) = server.sessions.all()
    assert server.sessions.get(jids.parse(session.jid.full())) is session


# PLAIN's password checked elsewhere (in a thread pool, in the service)


@pytest.fixture
def later():
    return Later()


@pytest.fixture
def checking_client(later):
    server = make_server(users=["alice"], auth_timeout=AUTH_TIMEOUT, password_checks=later)
    client = Client(server)
    client.starttls()
    client.features()
    yield client
    server.stopService()
    server.store.close()


def plain_auth(client, password="ecila"):
    initial = b64(b"\0alice\0" + password.encode())
    client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{initial}</auth>")


def test_plain_login_waits_for_the_check_run_elsewhere(later, checking_client):
    plain_auth(checking_client)
    ((function, args, _),) = later.calls
    assert (function.__self__, args) == (checking_client.server.find_credentials("alice"), ("ecila",))
    assert checking_client.elements() == []
    later.finish()
    assert checking_client.only().name == "success"
    checking_client.features()
    assert checking_client.bind("desk")["type"] == "result"


def test_a_wrong_password_checked_elsewhere_fails(later, checking_client):
    plain_auth(checking_client, "wrong")
    later.finish()
    assert sasl_condition(checking_client.only()) == "not-authorized"


def test_a_response_while_the_check_runs_is_a_policy_violation(later, checking_client):
    plain_auth(checking_client)
    checking_client.send(f"<response xmlns='{NS_SASL}'>AAAA</response>")
    assert checking_client.stream_error() == "policy-violation"
    written = checking_client.transport.value()
    later.finish()
    assert checking_client.transport.value() == written
    assert checking_client.stream.authenticator.username is None


def test_an_exchange_aborted_while_the_check_runs_does_not_log_in(later, checking_client):
    plain_auth(checking_client)
    checking_client.send(f"<abort xmlns='{NS_SASL}'/>")
    assert sasl_condition(checking_client.only()) == "aborted"
    later.finish()
    assert checking_client.elements() == []
    assert checking_client.stream.authenticator.username is None


def test_a_connection_lost_while_the_check_runs_gets_nothing(later, checking_client):
    plain_auth(checking_client)
    checking_client.lose()
    written = checking_client.transport.value()
    later.finish()
    assert checking_client.transport.value() == written
    assert checking_client.stream.authenticator.username is None


def test_a_check_that_breaks_is_a_temporary_failure(checking_client):
    checking_client.server.password_checks = lambda function, *args: fail(RuntimeError("pool gone"))
    plain_auth(checking_client)
    assert sasl_condition(checking_client.only()) == "temporary-auth-failure"
