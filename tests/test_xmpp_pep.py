"""
Tests for L{mcc.xmpp.pep} and L{mcc.xmpp.caps}: personal eventing
(XEP-0163) with publish-options, and notifications to the resources whose
capabilities (XEP-0115) ask for them.
"""

import pytest

from mcc.routing.rosters import RosterItem
from mcc.xmpp import caps
from mcc.xmpp.namespaces import (
    NS_CAPS,
    NS_DISCO_INFO,
    NS_PUBSUB,
    NS_PUBSUB_ERRORS,
    NS_PUBSUB_EVENT,
    NS_PUBSUB_OWNER,
)
from tests.memory_xmpp import DOMAIN, bind, make_server, send

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
CAROL = f"carol@{DOMAIN}"
NICK = "http://jabber.org/protocol/nick"
BOOKMARKS = "urn:xmpp:bookmarks:1"
DEVICES = "eu.siacs.conversations.axolotl.devicelist"


@pytest.fixture
def server():
    server = make_server(users=["alice", "bob", "carol"])
    # Bob sees Alice's presence; Carol does not.
    server.store.rosters.put("alice", RosterItem(BOB, subscription="from"))
    server.store.rosters.put("bob", RosterItem(ALICE, subscription="to"))
    yield server
    server.stopService()
    server.store.close()


def online(server, full, notify=()):
    """
    Bind C{full} and send presence with capabilities that ask for
    notifications of C{notify}, answering the server's disco#info question.
    """
    session = bind(server, full)
    features = [NS_DISCO_INFO] + [f"{node}+notify" for node in notify]
    identity = ("client", "pc", "", "test")
    ver = caps.verification([identity], features)
    send(session, f"<presence xmlns='jabber:client'><c xmlns='{NS_CAPS}' hash='sha-1'"
         f" node='https://client.example' ver='{ver}'/></presence>")
    questions = [s for s in session.xmlstream.take() if s.name == "iq"]
    if questions:
        (question,) = questions
        assert question["from"] == DOMAIN
        assert question.query["node"] == f"https://client.example#{ver}"
        answer = "".join(f"<feature var='{f}'/>" for f in features)
        send(session, f"<iq xmlns='jabber:client' type='result' id='{question['id']}' to='{DOMAIN}'>"
             f"<query xmlns='{NS_DISCO_INFO}' node='{question.query['node']}'>"
             f"<identity category='client' type='pc' name='test'/>{answer}</query></iq>")
    return session


def options(**values):
    fields = "".join(
        f"<field var='pubsub#{k}'><value>{v}</value></field>" for k, v in values.items()
    )
    return (
        "<publish-options><x xmlns='jabber:x:data' type='submit'>"
        "<field var='FORM_TYPE' type='hidden'>"
        "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
        f"{fields}</x></publish-options>"
    )


def iq(session, kind, payload, to=None, ns=NS_PUBSUB):
    to = f" to='{to}'" if to else ""
    send(session, f"<iq xmlns='jabber:client' type='{kind}' id='ps'{to}><pubsub xmlns='{ns}'>{payload}</pubsub></iq>")
    sent = session.xmlstream.take()
    (reply,) = [s for s in sent if s.name == "iq" and s.getAttribute("id") == "ps"]
    # What else came is left for the test to read.
    session.xmlstream.sent = [s for s in sent if s is not reply]
    return reply


def publish(session, node, payload, item_id=None, publish_options=""):
    item = f" id='{item_id}'" if item_id else ""
    return iq(session, "set", f"<publish node='{node}'><item{item}>{payload}</item></publish>{publish_options}")


def events(session):
    found = []
    for message in session.xmlstream.take():
        if message.name != "message":
            continue
        (event,) = message.elements(NS_PUBSUB_EVENT, "event")
        items = event.firstChildElement()
        for item in items.elements():
            found.append((message["from"], items["node"], item.name, item.getAttribute("id")))
    return found


def nick(text):
    return f"<nick xmlns='{NICK}'>{text}</nick>"


def test_published_items_reach_those_that_want_them(server):
    desk = online(server, f"{ALICE}/desk", [NICK])
    bob = online(server, f"{BOB}/laptop", [NICK])
    bob_other = online(server, f"{BOB}/other", [])
    carol = online(server, f"{CAROL}/x", [NICK])
    for session in (desk, bob, bob_other, carol):
        session.xmlstream.take()
    reply = publish(desk, NICK, nick("Alice"), "current")
    assert reply["type"] == "result"
    assert next(reply.pubsub.publish.elements())["id"] == "current"
    assert events(desk) == [(ALICE, NICK, "item", "current")]
    assert events(bob) == [(ALICE, NICK, "item", "current")]
    assert events(bob_other) == []
    assert events(carol) == []


def test_a_resource_that_comes_online_gets_the_last_items(server):
    desk = online(server, f"{ALICE}/desk")
    publish(desk, NICK, nick("Alice"), "current")
    bob = online(server, f"{BOB}/laptop", [NICK])
    assert events(bob) == [(ALICE, NICK, "item", "current")]


def test_items_are_read_within_the_access_model(server):
    desk = online(server, f"{ALICE}/desk")
    publish(desk, NICK, nick("Alice"))
    publish(desk, DEVICES, "<list xmlns='eu.siacs.conversations.axolotl'><device id='1'/></list>",
            "current", options(access_model="open"))
    bob = bind(server, f"{BOB}/laptop")
    carol = bind(server, f"{CAROL}/x")
    reply = iq(bob, "get", f"<items node='{NICK}'/>", to=ALICE)
    assert [str(i.firstChildElement()) for i in reply.pubsub.items.elements()] == ["Alice"]
    refused = iq(carol, "get", f"<items node='{NICK}'/>", to=ALICE)
    assert refused.error.firstChildElement().name == "not-authorized"
    assert next(refused.error.elements(NS_PUBSUB_ERRORS, "presence-subscription-required"))
    reply = iq(carol, "get", f"<items node='{DEVICES}'/>", to=ALICE)
    assert [i["id"] for i in reply.pubsub.items.elements()] == ["current"]
    missing = iq(carol, "get", "<items node='nothing'/>", to=ALICE)
    assert missing.error.firstChildElement().name == "item-not-found"


def test_bookmarks_stay_private_and_keep_every_item(server):
    desk = online(server, f"{ALICE}/desk", [BOOKMARKS])
    bob = online(server, f"{BOB}/laptop", [BOOKMARKS])
    private = options(persist_items="true", max_items="max", access_model="whitelist",
                      send_last_published_item="never")
    for room in ("a@conf.example", "b@conf.example"):
        reply = publish(desk, BOOKMARKS, f"<conference xmlns='{BOOKMARKS}' autojoin='true'/>",
                        room, private)
        assert reply["type"] == "result"
    assert [e[3] for e in events(desk)] == ["a@conf.example", "b@conf.example"]
    assert events(bob) == []
    reply = iq(desk, "get", f"<items node='{BOOKMARKS}'/>")
    assert [i["id"] for i in reply.pubsub.items.elements()] == ["a@conf.example", "b@conf.example"]
    refused = iq(bob, "get", f"<items node='{BOOKMARKS}'/>", to=ALICE)
    assert refused.error.firstChildElement().name == "not-allowed"

    retracted = iq(desk, "set", f"<retract node='{BOOKMARKS}' notify='true'><item id='a@conf.example'/></retract>")
    assert retracted["type"] == "result"
    assert events(desk) == [(ALICE, BOOKMARKS, "retract", "a@conf.example")]
    reply = iq(desk, "get", f"<items node='{BOOKMARKS}'/>")
    assert [i["id"] for i in reply.pubsub.items.elements()] == ["b@conf.example"]


def test_one_item_is_kept_by_default(server):
    desk = bind(server, f"{ALICE}/desk")
    publish(desk, NICK, nick("one"))
    publish(desk, NICK, nick("two"))
    reply = iq(desk, "get", f"<items node='{NICK}'/>")
    assert [str(i.firstChildElement()) for i in reply.pubsub.items.elements()] == ["two"]


def test_publish_options_that_differ_from_the_node_are_a_precondition_failure(server):
    desk = bind(server, f"{ALICE}/desk")
    publish(desk, NICK, nick("one"))
    reply = publish(desk, NICK, nick("two"), publish_options=options(access_model="whitelist"))
    assert reply.error.firstChildElement().name == "conflict"
    assert next(reply.error.elements(NS_PUBSUB_ERRORS, "precondition-not-met"))
    # Reconfigured by its owner, the node then takes the publication.
    form = ("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>http://jabber.org/protocol/pubsub#node_config</value></field>"
            "<field var='pubsub#access_model'><value>whitelist</value></field></x>")
    configured = iq(desk, "set", f"<configure node='{NICK}'>{form}</configure>", ns=NS_PUBSUB_OWNER)
    assert configured["type"] == "result"
    reply = publish(desk, NICK, nick("two"), publish_options=options(access_model="whitelist"))
    assert reply["type"] == "result"
    shown = iq(desk, "get", f"<configure node='{NICK}'/>", ns=NS_PUBSUB_OWNER)
    fields = {f["var"]: str(f.value) for f in shown.pubsub.configure.x.elements("jabber:x:data", "field")}
    assert fields["pubsub#access_model"] == "whitelist"


def test_bad_publications_are_refused(server):
    desk = bind(server, f"{ALICE}/desk")
    reply = publish(desk, NICK, nick("x"), publish_options=options(access_model="roster"))
    assert reply.error.firstChildElement().name == "not-acceptable"
    reply = iq(desk, "set", f"<publish node='{NICK}'><item/></publish>")
    assert reply.error.firstChildElement().name == "bad-request"
    bob = bind(server, f"{BOB}/laptop")
    reply = iq(bob, "set", f"<publish node='{NICK}'><item>{nick('x')}</item></publish>", to=ALICE)
    assert reply.error.firstChildElement().name == "forbidden"


def test_nodes_and_items_survive_a_restart(server):
    desk = bind(server, f"{ALICE}/desk")
    publish(desk, NICK, nick("Alice"), "current")
    assert [i.item_id for i in server.store.pep.items("alice", NICK)] == ["current"]


def test_a_deleted_node_is_gone(server):
    desk = online(server, f"{ALICE}/desk", [NICK])
    publish(desk, NICK, nick("Alice"))
    desk.xmlstream.take()
    reply = iq(desk, "set", f"<delete node='{NICK}'/>", ns=NS_PUBSUB_OWNER)
    assert reply["type"] == "result"
    missing = iq(desk, "get", f"<items node='{NICK}'/>")
    assert missing.error.firstChildElement().name == "item-not-found"
