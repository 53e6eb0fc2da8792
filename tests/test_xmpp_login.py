"""
Tests for what a client may send while logging in that the server must
refuse without losing the stream: passwords SASLprep forbids, over the
in-memory negotiation of L{tests.test_xmpp_negotiation}.
"""

import pytest

from tests.memory_xmpp import make_server
from tests.test_xmpp_negotiation import Client, sasl_condition


@pytest.fixture
def server():
    server = make_server(users=["alice"])
    yield server
    server.stopService()
    server.store.close()


@pytest.fixture
def client(server):
    client = Client(server)
    client.starttls()
    client.features()
    return client


def test_plain_password_saslprep_refuses_is_a_counted_failure(server, client):
    for _ in range(server.config.auth_failures_allowed):
        assert sasl_condition(client.auth("PLAIN", b"\0alice\0ec\x07ila")) == "not-authorized"
    assert not client.transport.disconnecting
    assert sasl_condition(client.auth("PLAIN", b"\0alice\0ecila")) == "temporary-auth-failure"
