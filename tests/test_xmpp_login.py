"""
Tests for what a client may send while logging in that the server must
refuse without losing the stream: passwords SASLprep forbids and resources
no JID can carry, over the in-memory negotiation of
L{tests.test_xmpp_negotiation}.
"""

import pytest

from mcc.xmpp import jids
from tests.test_xmpp_negotiation import client, sasl_condition, server  # noqa: F401 (fixtures)


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
