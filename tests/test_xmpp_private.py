"""
Tests for L{mcc.xmpp.private}: private XML storage (XEP-0049).
"""

import pytest

from mcc.xmpp.namespaces import NS_PRIVATE
from tests.memory_xmpp import DOMAIN, bind, make_server, send

ALICE = f"alice@{DOMAIN}"
BOOKMARKS = "<storage xmlns='storage:bookmarks'><conference jid='room@conf.example' name='Team'/></storage>"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob"])
    yield server
    server.stopService()
    server.store.close()


def private(session, kind, child, to=None):
    to = f" to='{to}'" if to else ""
    query = f"<query xmlns='{NS_PRIVATE}'>{child}</query>"
    send(session, f"<iq xmlns='jabber:client' type='{kind}' id='p1'{to}>{query}</iq>")
    (reply,) = session.xmlstream.take()
    assert reply["id"] == "p1"
    return reply


def test_stored_elements_are_read_back_by_another_resource(server):
    desk = bind(server, f"{ALICE}/desk")
    assert private(desk, "set", BOOKMARKS)["type"] == "result"
    phone = bind(server, f"{ALICE}/phone")
    reply = private(phone, "get", "<storage xmlns='storage:bookmarks'/>")
    (storage,) = reply.query.elements("storage:bookmarks", "storage")
    assert next(storage.elements())["name"] == "Team"


def test_nothing_stored_reads_as_the_empty_element(server):
    desk = bind(server, f"{ALICE}/desk")
    reply = private(desk, "get", "<prefs xmlns='urn:example:prefs'/>")
    (prefs,) = reply.query.elements("urn:example:prefs", "prefs")
    assert list(prefs.elements()) == []


def test_bad_requests_are_refused(server):
    desk = bind(server, f"{ALICE}/desk")
    for child in ("", "<a xmlns='urn:x'/><b xmlns='urn:x'/>", "<query xmlns='jabber:iq:roster'/>"):
        reply = private(desk, "set", child)
        assert reply.error.firstChildElement().name == "not-acceptable"
    reply = private(desk, "get", "<storage xmlns='storage:bookmarks'/>", to=f"bob@{DOMAIN}")
    assert reply.error.firstChildElement().name == "forbidden"
