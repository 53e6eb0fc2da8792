"""
Tests for L{mcc.xmpp.archive} and L{mcc.routing.archive}: accounts' message
archives (XEP-0313) with stanza ids (XEP-0359), paged with RSM (XEP-0059).
"""

import pytest

from mcc.routing.chats import Visitor
from mcc.xmpp.namespaces import NS_CARBONS, NS_FORWARD, NS_MAM, NS_RSM, NS_SID
from tests.memory_xmpp import DOMAIN, available, bind, make_server, send

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob"])
    yield server
    server.stopService()
    server.store.close()


def chat(session, to, text, extra=""):
    send(session, f"<message xmlns='jabber:client' type='chat' to='{to}'><body>{text}</body>{extra}</message>")


def query(session, form="", rsm="", to=None):
    """
    The archived messages a query returns and its C{<fin/>} (or the error).
    """
    to = f" to='{to}'" if to else ""
    send(
        session,
        f"<iq xmlns='jabber:client' type='set' id='q1'{to}>"
        f"<query xmlns='{NS_MAM}' queryid='f27'>{form}{rsm}</query></iq>",
    )
    sent = session.xmlstream.take()
    iq = sent[-1]
    assert (iq.name, iq["id"]) == ("iq", "q1")
    if iq["type"] == "error":
        return [], iq
    results = []
    for message in sent[:-1]:
        (result,) = message.elements(NS_MAM, "result")
        assert result["queryid"] == "f27"
        (forwarded,) = result.elements(NS_FORWARD, "forwarded")
        inner = next(forwarded.elements("jabber:client", "message"))
        results.append((result["id"], str(inner.body)))
    (fin,) = iq.elements(NS_MAM, "fin")
    return results, fin


def paging(fin):
    (page,) = fin.elements(NS_RSM, "set")
    values = {child.name: str(child) for child in page.elements()}
    first = next(page.elements(NS_RSM, "first"), None)
    return values, (first and first["index"]), fin.getAttribute("complete")


def form(**fields):
    values = "".join(f"<field var='{k}'><value>{v}</value></field>" for k, v in fields.items())
    return (
        "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
        f"<value>{NS_MAM}</value></field>{values}</x>"
    )


def rsm(**values):
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in values.items())
    return f"<set xmlns='{NS_RSM}'>{inner}</set>"


def test_messages_both_ways_are_archived_for_both_accounts(server):
    alice = bind(server, f"{ALICE}/desk")
    bob = bind(server, f"{BOB}/laptop")
    chat(alice, f"{BOB}/laptop", "hello")
    server.clock.advance(5)
    chat(bob, f"{ALICE}/desk", "hi there")
    (delivered,) = alice.xmlstream.take()
    (stamp,) = delivered.elements(NS_SID, "stanza-id")
    assert stamp["by"] == ALICE
    bob.xmlstream.take()

    results, fin = query(alice)
    assert [body for _, body in results] == ["hello", "hi there"]
    assert results[1][0] == stamp["id"]
    values, index, complete = paging(fin)
    assert (values["count"], index, complete) == ("2", "0", "true")
    assert [body for _, body in query(bob)[0]] == ["hello", "hi there"]


def test_a_sender_cannot_forge_the_recipients_stanza_id(server):
    alice = bind(server, f"{ALICE}/desk")
    bob = bind(server, f"{BOB}/laptop")
    chat(bob, f"{ALICE}/desk", "forged", f"<stanza-id xmlns='{NS_SID}' by='{ALICE}' id='fake'/>")
    (delivered,) = alice.xmlstream.take()
    (stamp,) = delivered.elements(NS_SID, "stanza-id")
    assert stamp["id"] != "fake"


def test_chat_states_and_no_store_messages_are_not_archived(server):
    alice = bind(server, f"{ALICE}/desk")
    bind(server, f"{BOB}/laptop")
    send(alice, f"<message xmlns='jabber:client' type='chat' to='{BOB}/laptop'>"
         "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
    chat(alice, f"{BOB}/laptop", "secret", "<no-store xmlns='urn:xmpp:hints'/>")
    assert query(alice)[0] == []


def test_messages_stored_offline_are_archived(server):
    alice = bind(server, f"{ALICE}/desk")
    chat(alice, BOB, "while you were out")
    bob = bind(server, f"{BOB}/laptop")
    assert [body for _, body in query(bob)[0]] == ["while you were out"]


def test_pages_forward_and_back(server):
    alice = bind(server, f"{ALICE}/desk")
    bind(server, f"{BOB}/laptop")
    for n in range(5):
        chat(alice, f"{BOB}/laptop", f"m{n}")
    first, fin = query(alice, rsm=rsm(max=2))
    assert [b for _, b in first] == ["m0", "m1"]
    values, index, complete = paging(fin)
    assert (values["first"], values["last"], values["count"], index, complete) == (
        first[0][0], first[1][0], "5", "0", None
    )
    second, fin = query(alice, rsm=rsm(max=2, after=values["last"]))
    assert [b for _, b in second] == ["m2", "m3"]
    assert paging(fin)[1] == "2"
    third, fin = query(alice, rsm=rsm(max=2, after=second[1][0]))
    assert [b for _, b in third] == ["m4"]
    assert paging(fin)[2] == "true"

    last, fin = query(alice, rsm=f"<set xmlns='{NS_RSM}'><max>2</max><before/></set>")
    assert [b for _, b in last] == ["m3", "m4"]
    assert paging(fin)[1:] == ("3", None)
    earlier, fin = query(alice, rsm=rsm(max=2, before=last[0][0]))
    assert [b for _, b in earlier] == ["m1", "m2"]
    oldest, fin = query(alice, rsm=rsm(max=2, before=earlier[0][0]))
    assert [b for _, b in oldest] == ["m0"]
    assert paging(fin)[2] == "true"


def test_filters_by_contact_and_time(server):
    alice = bind(server, f"{ALICE}/desk")
    bind(server, f"{BOB}/laptop")
    bind(server, f"carol@{DOMAIN}/x")
    server.accounts.add("carol", "lorac")
    chat(alice, f"{BOB}/laptop", "to bob")
    server.clock.advance(100)
    chat(alice, f"carol@{DOMAIN}/x", "to carol")
    assert [b for _, b in query(alice, form(**{"with": BOB}))[0]] == ["to bob"]
    assert [b for _, b in query(alice, form(start="1970-01-01T00:01:00Z"))[0]] == ["to carol"]
    assert [b for _, b in query(alice, form(end="1970-01-01T00:01:00Z"))[0]] == ["to bob"]


def test_bad_queries_get_clear_errors(server):
    alice = bind(server, f"{ALICE}/desk")
    _, reply = query(alice, rsm=rsm(after="nosuchid"))
    assert reply.error.firstChildElement().name == "item-not-found"
    _, reply = query(alice, form(start="yesterday"))
    assert reply.error.firstChildElement().name == "bad-request"
    _, reply = query(alice, to=BOB)
    assert reply.error.firstChildElement().name == "forbidden"


def test_retention_forgets_old_messages(server):
    server = make_server(users=["alice", "bob"], archive_options={"retention_days": 1})
    alice = bind(server, f"{ALICE}/desk")
    bind(server, f"{BOB}/laptop")
    chat(alice, f"{BOB}/laptop", "old")
    server.clock.advance(2 * 24 * 3600)
    chat(alice, f"{BOB}/laptop", "new")
    assert [b for _, b in query(alice)[0]] == ["new"]
    assert server.store.archive.count("alice") == 1
    server.stopService()


def test_chats_with_visitors_are_archived_and_the_copies_carry_the_id(server):
    desk = bind(server, f"{ALICE}/desk")
    phone = bind(server, f"{ALICE}/phone")
    available(desk)
    available(phone, priority=-1)
    send(phone, f"<iq xmlns='jabber:client' type='set' id='c'><enable xmlns='{NS_CARBONS}'/></iq>")
    record = server.chats.start(Visitor(name="Una", question="Where is my order?"), user="alice")
    guest = f"{record.guest}@{DOMAIN}/visitor"
    chat(desk, guest, "On its way")
    server.chats.visitor_says(record.token, "Thanks")
    desk.xmlstream.take()
    copies = [m for m in phone.xmlstream.take() if m.name == "message"]
    inner = next(copies[-1].elements(NS_CARBONS, "received")).firstChildElement().firstChildElement()
    (stamp,) = inner.elements(NS_SID, "stanza-id")
    results = query(phone, form(**{"with": f"{record.guest}@{DOMAIN}"}))[0]
    assert [b for _, b in results][-2:] == ["On its way", "Thanks"]
    assert results[-1][0] == stamp["id"]
