"""
Guests as real contacts, over real sockets: what a slixmpp operator learns
from a chat's guest JID (disco, ping, vCard, roster), the ids and the
receipts and markers its messages carry, and an operator on two clients.
"""

import asyncio
import xml.etree.ElementTree as ET

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from tests.conftest import asyncio_test, start_server
from tests.test_chat_end_to_end import has_body, message_matching, operators, staff
from tests.visitor_client import Visitor, call, wait
from tests.xmpp_client import login

NS_RECEIPTS = "urn:xmpp:receipts"
NS_MARKERS = "urn:xmpp:chat-markers:0"
NS_SID = "urn:xmpp:sid:0"
NS_ROSTER = "jabber:iq:roster"
NS_VCARD = "vcard-temp"


def watch_roster(client):
    """
    The roster pushes C{client} gets, as C{(jid, name, subscription, groups)}.
    """
    pushes = asyncio.Queue()

    def on_push(iq):
        for item in iq.xml.iter(f"{{{NS_ROSTER}}}item"):
            groups = tuple(group.text for group in item.iter(f"{{{NS_ROSTER}}}group"))
            pushes.put_nowait((item.get("jid"), item.get("name"), item.get("subscription"), groups))

    client.add_event_handler("roster_update", on_push)
    return pushes


async def roster_items(client):
    """
    The roster C{client} gets now, as C{jid -> (name, subscription, groups)}.
    """
    answer = await client.make_iq_get(queryxmlns=NS_ROSTER).send()
    return {
        item.get("jid"): (
            item.get("name"), item.get("subscription"),
            tuple(group.text for group in item.iter(f"{{{NS_ROSTER}}}group")),
        )
        for item in answer.xml.iter(f"{{{NS_ROSTER}}}item")
    }


async def offered(server, *names, name="Vera Visitor", queue="reference", **fields):
    clients = await operators(server, *names)
    staff(server, queue, *names)
    visitor = Visitor(server, {"Referer": ["https://library.example/catalogue"]})
    code, body = await visitor.start(queue=queue, name=name, **fields)
    assert code == 201, body
    offers = [await message_matching(c, has_body("New chat")) for c in clients]
    return clients, visitor, offers[0]["from"].bare, offers


def every_message(client):
    """
    All messages C{client} gets from now, bodiless ones too (slixmpp's
    C{message} event has only those with a body).
    """
    queue = asyncio.Queue()
    client.register_handler(Callback("every message", MatchXPath("{jabber:client}message"), queue.put_nowait))
    return queue


async def next_matching(queue, predicate, timeout=10):
    async def wait_for():
        while True:
            message = await queue.get()
            if predicate(message):
                return message

    return await asyncio.wait_for(wait_for(), timeout)


def child(message, namespace, name):
    return message.xml.find(f"{{{namespace}}}{name}")


def ask_back(client, guest, text, *wanted):
    """
    Send C{text} with the receipt request and markable of C{wanted}; the
    message's id.
    """
    message = client.make_message(mto=guest, mbody=text, mtype="chat")
    message["id"] = client.new_id()
    for namespace, name in wanted:
        message.xml.append(ET.Element(f"{{{namespace}}}{name}"))
    message.send()
    return message["id"]


def acknowledging(namespace, name, ref):
    def matches(message):
        found = child(message, namespace, name)
        return found is not None and found.get("id") == ref

    return matches


@asyncio_test
async def test_a_guest_answers_disco_ping_and_vcard_and_ended_chats_are_gone(server):
    (alice,), visitor, guest, _ = await offered(
        server, "alice", email="vera@example.org", question="Do you hold\nthe 1902 atlas?"
    )
    try:
        info = await alice["xep_0030"].get_info(jid=guest)
        identities = info["disco_info"]["identities"]
        assert [(i[0], i[1], i[3]) for i in identities] == [("client", "web", "Vera Visitor")]
        features = set(info["disco_info"]["features"])
        assert {
            "http://jabber.org/protocol/chatstates", NS_RECEIPTS, NS_MARKERS,
            "urn:xmpp:ping", NS_VCARD, "http://jabber.org/protocol/disco#info",
        } <= features
        # Its ad-hoc commands (transfer, tags, e-mail, details, end).
        assert "http://jabber.org/protocol/commands" in features
        items = await alice["xep_0030"].get_items(jid=guest)
        assert list(items["disco_items"]["items"]) == []
        await alice["xep_0199"].send_ping(guest, timeout=5)

        card = (await alice["xep_0054"].get_vcard(guest))["vcard_temp"]
        assert card["FN"] == "Vera Visitor"
        assert card["URL"] == "https://library.example/catalogue"
        assert card["NOTE"] == "Queue: reference\nQuestion: Do you hold\nthe 1902 atlas?"
        assert card.xml.find(f"{{{NS_VCARD}}}EMAIL/{{{NS_VCARD}}}USERID").text == "vera@example.org"

        unknown = alice.make_iq_get(queryxmlns="jabber:iq:last", ito=guest)
        with pytest.raises(IqError) as refused:
            await unknown.send()
        assert refused.value.condition == "service-unavailable"
        setting = alice.make_iq_set(ito=guest)
        setting.append(ET.fromstring(f"<vCard xmlns='{NS_VCARD}'><FN>Not Vera</FN></vCard>"))
        with pytest.raises(IqError) as refused:
            await setting.send()
        assert refused.value.condition == "not-allowed"

        await visitor.end()
        await message_matching(alice, has_body("The visitor ended the chat."))
        for ask in (alice["xep_0030"].get_info(jid=guest), alice["xep_0054"].get_vcard(guest)):
            with pytest.raises(IqError) as refused:
                await ask
            assert refused.value.condition == "item-not-found"
    finally:
        await alice.close()


@asyncio_test
async def test_the_vcard_is_for_operators_the_chat_is_for(server):
    (alice,), _, guest, _ = await offered(server, "alice")
    server.add_user("mallory", "mallory-pw")
    mallory = await login(server, "mallory@localhost/desk", "mallory-pw")
    try:
        with pytest.raises(IqError) as refused:
            await mallory["xep_0054"].get_vcard(guest)
        assert refused.value.condition == "forbidden"
        info = await mallory["xep_0030"].get_info(jid=guest)
        assert [i[3] for i in info["disco_info"]["identities"]] == [None]
    finally:
        await alice.close()
        await mallory.close()


@asyncio_test
async def test_guest_messages_carry_unique_ids_and_stanza_ids(server):
    (alice,), visitor, guest, (offer,) = await offered(server, "alice")
    try:
        alice.send_message(mto=guest, mbody="Hello Vera", mtype="chat")
        await visitor.events_until("message", "Hello Vera")
        await visitor.say("One")
        await visitor.say("Two")
        said = [offer] + [await message_matching(alice, has_body(text)) for text in ("One", "Two")]
        ids = [message["id"] for message in said]
        assert all(ids) and len(set(ids)) == 3
        for message in said:
            assert child(message, NS_SID, "origin-id").get("id") == message["id"]
            stanza_id = child(message, NS_SID, "stanza-id")
            assert stanza_id.get("by") == "alice@localhost" and stanza_id.get("id")
        assert len({child(m, NS_SID, "stanza-id").get("id") for m in said}) == 3
        assert child(offer, "http://jabber.org/protocol/nick", "nick").text == "Vera Visitor \u00b7 reference"
        info = await alice["xep_0030"].get_info(jid="alice@localhost")
        assert NS_SID in info["disco_info"]["features"]
    finally:
        await alice.close()


@asyncio_test
async def test_receipts_after_the_widget_polls_and_markers_after_it_shows(server):
    (alice,), visitor, guest, _ = await offered(server, "alice")
    arriving = every_message(alice)
    try:
        both = ask_back(alice, guest, "Which atlas?", (NS_RECEIPTS, "request"), (NS_MARKERS, "markable"))
        plain = ask_back(alice, guest, "No receipt for this one")
        events = await visitor.events_until("message", "No receipt for this one")
        asked = next(e["seq"] for e in events if e.get("text") == "Which atlas?")
        assert not any(e["kind"].startswith("acknowledg") for e in events)
        # The widget's next poll asks for what follows: it has the message.
        await visitor.say("Let me see")
        await visitor.poll()
        received = await next_matching(arriving, acknowledging(NS_RECEIPTS, "received", both))
        assert received["from"].bare == guest and received["id"]

        code, body = await call("POST", f"{visitor.api}/chats/{visitor.token}/seen", {"seq": asked})
        assert code == 202, body
        displayed = await next_matching(arriving, acknowledging(NS_MARKERS, "displayed", both))
        assert displayed["from"].bare == guest
        with pytest.raises(asyncio.TimeoutError):
            await next_matching(
                arriving, lambda m: child(m, NS_RECEIPTS, "received") is not None
                or child(m, NS_MARKERS, "displayed") is not None, timeout=1,
            )
        assert plain

        for bad in ({"seq": "1"}, {}, {"seq": 999}):
            code, body = await call("POST", f"{visitor.api}/chats/{visitor.token}/seen", bad)
            assert code == 400 and body["error"] == "invalid-field", (bad, body)
    finally:
        await alice.close()


@asyncio_test
async def test_the_roster_names_the_guest_while_the_chat_is_open(server):
    alice, bob = await operators(server, "alice", "bob")
    pushes = {client: watch_roster(client) for client in (alice, bob)}
    staff(server, "reference", "alice", "bob")
    visitor = Visitor(server)
    await visitor.start(queue="reference", name="Vera Visitor")
    try:
        guest = (await message_matching(alice, has_body("New chat")))["from"].bare
        named = (guest, "Vera Visitor \u00b7 reference", "to", ("Chats",))
        for client in (alice, bob):
            assert await asyncio.wait_for(pushes[client].get(), 10) == named
        assert (await roster_items(bob))[guest] == named[1:]

        alice.send_message(mto=guest, mbody="Alice here", mtype="chat")
        assert await asyncio.wait_for(pushes[bob].get(), 10) == (guest, None, "remove", ())
        assert guest not in await roster_items(bob)
        assert (await roster_items(alice))[guest] == named[1:]

        await visitor.end()
        assert await asyncio.wait_for(pushes[alice].get(), 10) == (guest, None, "remove", ())
        assert guest not in await roster_items(alice)
        assert server.store.rosters.items("alice") == []

        refused = alice.make_iq_set(ito=None)
        query = ET.Element(f"{{{NS_ROSTER}}}query")
        ET.SubElement(query, f"{{{NS_ROSTER}}}item", jid=guest, name="Keep me")
        refused.append(query)
        with pytest.raises(IqError) as error:
            await refused.send()
        assert error.value.condition == "not-allowed"
    finally:
        await alice.close()
        await bob.close()


@asyncio_test
async def test_no_guest_is_left_in_a_roster_after_a_restart(server_config):
    server = await start_server(server_config)
    try:
        (olga,) = await operators(server, "olga")
        staff(server, "reference", "olga")
        staying, leaving = Visitor(server), Visitor(server)
        await staying.start(queue="reference", name="Stays")
        stays = (await message_matching(olga, has_body("from Stays")))["from"].bare
        await leaving.start(queue="reference", name="Leaves")
        leaves = (await message_matching(olga, has_body("from Leaves")))["from"].bare
        for guest in (stays, leaves):
            olga.send_message(mto=guest, mbody="Taken", mtype="chat")
        await staying.events_until("message", "Taken")
        await leaving.events_until("message", "Taken")
        await olga.close()
        await leaving.end()
    finally:
        await wait(server.service.stopService())
        server.store.close()

    server = await start_server(server_config)
    try:
        olga = await login(server, "olga@localhost/desk", "olga-pw")
        items = await roster_items(olga)
        assert items == {stays: ("Stays \u00b7 reference", "to", ("Chats",))}
        await olga.close()
    finally:
        await wait(server.service.stopService())
        server.store.close()


@asyncio_test
async def test_typing_before_the_first_reply_shows_an_operator_looking(server):
    (alice,), visitor, guest, _ = await offered(server, "alice")
    try:
        state = alice.make_message(mto=guest, mtype="chat")
        state["chat_state"] = "composing"
        state.send()
        events = await visitor.events_until("typing")
        assert (events[-1]["from"], events[-1]["state"]) == ("operator", "looking")
    finally:
        await alice.close()


@asyncio_test
async def test_an_operator_on_two_clients_is_rung_on_both_and_both_see_the_reply(server):
    (desk,), visitor, guest, _ = await offered(server, "alice")
    phone = await login(server, "alice@localhost/phone", "alice-pw")
    try:
        # The phone came after the offer: it rings there too, once.
        late = await message_matching(phone, has_body("New chat for reference from Vera Visitor"))
        assert late["from"].bare == guest
        with pytest.raises(asyncio.TimeoutError):
            await message_matching(desk, has_body("New chat"), timeout=0.5)
        # A chat that comes now rings both at once.
        second = Visitor(server)
        await second.start(queue="reference", name="Wren")
        offers = [await message_matching(c, has_body("from Wren")) for c in (desk, phone)]
        assert offers[0]["id"] == offers[1]["id"]
        wren = offers[0]["from"].bare

        phone.send_message(mto=wren, mbody="Answered on the phone", mtype="chat")
        await second.events_until("message", "Answered on the phone")
        echo = await message_matching(desk, has_body("Answered on the phone"))
        assert echo["body"] == "[Alice, from phone] Answered on the phone"
        assert echo["from"].bare == wren

        await second.say("Thanks!")
        for client in (desk, phone):
            assert (await message_matching(client, has_body("Thanks!")))["body"] == "Thanks!"
        with pytest.raises(asyncio.TimeoutError):
            await message_matching(phone, has_body("Answered on the phone"), timeout=1)
        assert guest != wren

        # A third client meets the chat under way, and the one still ringing.
        tablet = await login(server, "alice@localhost/tablet", "alice-pw")
        met = {
            (await message_matching(tablet, lambda m: m["from"].bare in (guest, wren)))["body"]
            for _ in range(2)
        }
        assert "[mcc] Alice has this chat; it goes on here too." in met
        assert any(text.startswith("New chat for reference from Vera Visitor") for text in met)
        await tablet.close()
        # The same resource connecting again meets the chats again.
        tablet = await login(server, "alice@localhost/tablet", "alice-pw")
        again = await message_matching(tablet, lambda m: m["from"].bare == wren)
        assert again["body"] == "[mcc] Alice has this chat; it goes on here too."
        await tablet.close()
    finally:
        await desk.close()
        await phone.close()
