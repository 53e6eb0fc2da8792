"""
slixmpp with its plugins for what mobile and desktop clients expect of a
server, against a running mcc over loopback sockets: carbons (XEP-0280),
the archive (XEP-0313), private storage (XEP-0049), personal eventing and
avatars (XEP-0163, XEP-0084, XEP-0172) learnt through caps (XEP-0115),
blocking (XEP-0191), time (XEP-0202), last activity (XEP-0012) and direct
TLS (XEP-0368).
"""

import asyncio

from slixmpp.plugins.xep_0049.stanza import PrivateXML
from slixmpp.xmlstream import ElementBase, register_stanza_plugin

from mcc.routing.rosters import RosterItem
from tests.conftest import asyncio_test
from tests.xmpp_client import TIMEOUT, login

IM = ("xep_0280", "xep_0313", "xep_0049", "xep_0115", "xep_0163", "xep_0084", "xep_0172",
      "xep_0191", "xep_0202", "xep_0012")


class Notes(ElementBase):
    name = "notes"
    namespace = "urn:example:notes"
    plugin_attrib = "notes"
    interfaces = {"text"}
    sub_interfaces = interfaces


register_stanza_plugin(PrivateXML, Notes)


def queue_of(client, event):
    queue = asyncio.Queue()
    client.add_event_handler(event, queue.put_nowait)
    return queue


async def next_of(queue):
    return await asyncio.wait_for(queue.get(), TIMEOUT)


@asyncio_test
async def test_carbons_and_the_archive_keep_the_phone_up_to_date(server):
    server.add_user("alice", "a")
    server.add_user("bob", "b")
    desk = await login(server, "alice@localhost/desk", "a", plugins=IM)
    phone = await login(server, "alice@localhost/phone", "a", plugins=IM)
    bob = await login(server, "bob@localhost/laptop", "b", plugins=IM)
    try:
        await phone.plugin["xep_0280"].enable()
        received = queue_of(phone, "carbon_received")
        sent = queue_of(phone, "carbon_sent")
        bob.send_message(mto="alice@localhost/desk", mbody="Is my order on its way?", mtype="chat")
        assert (await desk.next_message())["body"] == "Is my order on its way?"
        copy = await next_of(received)
        assert copy["carbon_received"]["body"] == "Is my order on its way?"
        desk.send_message(mto="bob@localhost/laptop", mbody="It left today.", mtype="chat")
        copy = await next_of(sent)
        assert copy["carbon_sent"]["body"] == "It left today."
        assert (await bob.next_message())["body"] == "It left today."

        page = await phone.plugin["xep_0313"].retrieve(
            with_jid="bob@localhost", rsm={"max": "10"}
        )
        bodies = [m["mam_result"]["forwarded"]["stanza"]["body"] for m in page["mam"]["results"]]
        assert bodies == ["Is my order on its way?", "It left today."]
        assert page["mam_fin"]["complete"] and page["mam_fin"]["rsm"]["count"] == "2"
    finally:
        for client in (desk, phone, bob):
            await client.close()


@asyncio_test
async def test_private_storage_blocking_time_and_last_activity(server):
    server.add_user("alice", "a")
    desk = await login(server, "alice@localhost/desk", "a", plugins=IM)
    try:
        notes = Notes()
        notes["text"] = "call the supplier"
        await desk.plugin["xep_0049"].store(notes)
        stored = await desk.plugin["xep_0049"].retrieve("notes")
        assert stored["private"]["notes"]["text"] == "call the supplier"

        await desk.plugin["xep_0191"].block(["spam@localhost"])
        assert await desk.plugin["xep_0191"].get_blocked_jids() == {"spam@localhost"}

        time = await desk.plugin["xep_0202"].get_entity_time("localhost")
        # Read as sent: slixmpp 1.17 cannot parse a tzo it did not write.
        fields = {child.tag.split("}")[1]: child.text for child in time["entity_time"].xml}
        assert fields["tzo"] == "+00:00" and fields["utc"].endswith("Z")
        last = await desk.plugin["xep_0012"].get_last_activity("localhost")
        assert int(last["last_activity"]["seconds"]) >= 0
    finally:
        await desk.close()


@asyncio_test
async def test_avatars_and_nicknames_reach_the_contacts_that_want_them(server):
    server.add_user("alice", "a")
    server.add_user("bob", "b")
    server.store.rosters.put("alice", RosterItem("bob@localhost", subscription="both"))
    server.store.rosters.put("bob", RosterItem("alice@localhost", subscription="both"))
    bob = await login(server, "bob@localhost/laptop", "b", plugins=IM)
    alice = await login(server, "alice@localhost/desk", "a", plugins=IM)
    try:
        metadata = queue_of(bob, "avatar_metadata_publish")
        nicks = queue_of(bob, "user_nick_publish")
        # Give the server time to learn Bob's capabilities.
        await bob.plugin["xep_0115"].update_caps()
        await asyncio.sleep(0.5)
        avatar = b"\x89PNG fake avatar"
        await alice.plugin["xep_0084"].publish_avatar(avatar)
        await alice.plugin["xep_0084"].publish_avatar_metadata(
            [{"id": "a1b2", "type": "image/png", "bytes": len(avatar)}]
        )
        event = await next_of(metadata)
        assert event["from"].bare == "alice@localhost"
        assert event["pubsub_event"]["items"]["item"]["avatar_metadata"]["info"]["id"] == "a1b2"
        await alice.plugin["xep_0172"].publish_nick("Alice")
        event = await next_of(nicks)
        assert event["pubsub_event"]["items"]["item"]["nick"]["nick"] == "Alice"
    finally:
        await alice.close()
        await bob.close()


@asyncio_test
async def test_direct_tls_logs_in_on_its_own_port(server):
    server.add_user("alice", "a")
    desk = await login(server, "alice@localhost/desk", "a", direct_tls=True)
    try:
        assert desk.boundjid.full == "alice@localhost/desk"
        assert server.tls_port != server.port
    finally:
        await desk.close()
