"""
Operating a chat from an XMPP client over real sockets: ad-hoc commands
(XEP-0050, with slixmpp's plugins) on the guest JID and the server JID,
and the same operations typed as C{!} or C{/} commands; and, without
sockets, the command sessions kept by L{AdHocCommands}.
"""

import asyncio

import pytest
from slixmpp.exceptions import IqError
from twisted.internet.task import Clock
from twisted.words.protocols.jabber.error import StanzaError
from twisted.words.xish import domish
from wokkel import data_form
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mcc.xmpp.chatcommands import ChatCommands, OwnCommands
from mcc.xmpp.commands import (
    MAX_SESSIONS,
    AdHocCommands,
    Ask,
    Done,
    ICommandSet,
    UnknownCommand,
)

from tests.conftest import asyncio_test, test_config
from tests.test_chat_end_to_end import close_all, has_body, message_matching, operators, staff
from tests.visitor_client import Visitor
from tests.xmpp_client import until

NS_COMMANDS = "http://jabber.org/protocol/commands"


@pytest.fixture
def server_config(tmp_path):
    # Mail goes nowhere (nothing listens on port 1): queued is enough here.
    return test_config(
        tmp_path / "data", smtp_host="127.0.0.1", smtp_port=1, smtp_from="desk@example.org"
    )


async def held_chat(server, **visitor_fields):
    """
    Alice (Support) holds a chat with Vera; Bob (Reference) and Carol (no
    queue) are online too.
    """
    alice, bob, carol = await operators(server, "alice", "bob", "carol")
    staff(server, "Support", "alice")
    staff(server, "Reference", "bob")
    visitor = Visitor(server)
    fields = {"name": "Vera", "email": "vera@example.org", "question": "Is the book in?"}
    code, body = await visitor.start(queue="Support", **{**fields, **visitor_fields})
    assert code == 201, body
    offer = await message_matching(alice, has_body("New chat for Support"))
    guest = offer["from"].full
    alice.send_message(mto=guest, mbody="Alice here.", mtype="chat")
    await visitor.events_until("message", "Alice here.")
    return alice, bob, carol, visitor, guest


def command(client, jid, node, **kwargs):
    return client.plugin["xep_0050"].send_command(jid, node, **kwargs)


def submit(client, **fields):
    form = client.plugin["xep_0004"].make_form(ftype="submit")
    for var, value in fields.items():
        form.add_field(var=var, value=value)
    return form


async def refused(request):
    with pytest.raises(IqError) as caught:
        await request
    return caught.value.iq["error"]["condition"], caught.value.iq["error"]["text"]


async def run_form(client, jid, node, **fields):
    started = (await command(client, jid, node))["command"]
    assert started["status"] == "executing"
    done = await command(
        client, jid, node, action="complete", sessionid=started["sessionid"],
        payload=submit(client, **fields),
    )
    assert done["command"]["status"] == "completed"
    return done["command"]


def notice(text):
    return lambda message: message["body"].startswith("[mcc] ") and text in message["body"]


async def visitor_saw_only(visitor, *texts, then):
    """
    The messages the visitor sees from its last poll up to C{then}, which
    the operator sent last: C{texts} and C{then}, nothing else (no command).
    """
    events = await visitor.events_until("message", then)
    said = [e["text"] for e in events if e["kind"] == "message"]
    assert said == [*texts, then]


@asyncio_test
async def test_commands_are_discovered_on_the_guest_and_the_server(server):
    alice, bob, carol, visitor, guest = await held_chat(server)
    try:
        info = await alice.plugin["xep_0030"].get_info(jid=guest)
        assert NS_COMMANDS in info["disco_info"]["features"]
        items = (await alice.plugin["xep_0050"].get_commands(guest))["disco_items"]["items"]
        # slixmpp keeps the items in a set.
        assert {(node, name) for _, node, name in items} == {
            ("transfer", "Transfer this chat"), ("tags", "Tags"),
            ("email", "E-mail the transcript"), ("details", "Visitor details"),
            ("end", "End this chat"),
        }
        info = await alice.plugin["xep_0030"].get_info(jid="localhost")
        assert NS_COMMANDS in info["disco_info"]["features"]
        items = (await alice.plugin["xep_0050"].get_commands("localhost"))["disco_items"]["items"]
        assert {node for _, node, _ in items} == {"status", "chats", "canned"}
    finally:
        await close_all(alice, bob, carol)


@asyncio_test
async def test_the_transfer_form_lists_who_is_available_and_transfers(server):
    alice, bob, carol, visitor, guest = await held_chat(server)
    try:
        started = (await command(alice, guest, "transfer"))["command"]
        assert started["status"] == "executing" and started["actions"] == {"complete"}
        fields = started["form"].get_fields()
        assert fields["target"]["type"] == "list-single" and fields["target"]["required"]
        options = [(o["value"], o["label"]) for o in fields["target"].get_options()]
        assert ("queue:Reference", "Reference (queue, 1 available)") in options
        assert ("user:bob", "Bob (operator)") in options
        assert ("user:carol", "Carol (operator)") in options
        assert fields["note"]["type"] == "text-multi"

        condition, _ = await refused(command(
            alice, guest, "transfer", action="complete", sessionid=started["sessionid"],
            payload=submit(alice, target="nowhere"),
        ))
        assert condition == "bad-request"
        done = await command(
            alice, guest, "transfer", action="complete", sessionid=started["sessionid"],
            payload=submit(alice, target="queue:Reference", note="Needs the catalogue"),
        )
        assert done["command"]["status"] == "completed"
        assert "Transferring to Reference" in done["command"]["notes"][0][1]
        note = await message_matching(bob, has_body("transfers this chat"))
        assert note["body"].endswith("Note: Needs the catalogue")
        await visitor.events_until("transfer")
    finally:
        await close_all(alice, bob, carol)


@asyncio_test
async def test_bad_commands_get_xmpp_errors(server):
    alice, bob, carol, visitor, guest = await held_chat(server)
    try:
        assert (await refused(command(carol, guest, "details")))[0] == "forbidden"
        assert (await refused(command(carol, guest, "transfer")))[0] == "forbidden"
        assert (await refused(command(alice, guest, "launch")))[0] == "item-not-found"
        assert (await refused(command(alice, "localhost", "launch")))[0] == "item-not-found"
        nobody = guest.replace("guest.", "guest.zz")
        assert (await refused(command(alice, nobody, "details")))[0] == "item-not-found"
        condition, _ = await refused(command(
            alice, guest, "tags", action="complete", sessionid="made-up",
            payload=submit(alice, add="x"),
        ))
        assert condition == "bad-request"

        started = (await command(alice, guest, "tags"))["command"]
        # Someone else cannot answer Alice's form.
        condition, _ = await refused(command(
            carol, guest, "tags", action="complete", sessionid=started["sessionid"],
            payload=submit(carol, add="x"),
        ))
        assert condition == "bad-request"
        condition, text = await refused(command(
            alice, guest, "tags", action="complete", sessionid=started["sessionid"],
            payload=submit(alice, add="no <tags>"),
        ))
        assert condition == "bad-request" and "cannot be in a tag" in text
        condition, _ = await refused(command(
            alice, guest, "tags", action="complete", sessionid=started["sessionid"]
        ))
        assert condition == "bad-request"
        canceled = await command(alice, guest, "tags", action="cancel", sessionid=started["sessionid"])
        assert canceled["command"]["status"] == "canceled"
        assert server.store.tags.of_chat(server.chats.chat(visitor.token).id) == []
    finally:
        await close_all(alice, bob, carol)


@asyncio_test
async def test_tags_email_details_and_end_by_ad_hoc_command(server):
    alice, bob, carol, visitor, guest = await held_chat(server)
    chat_id = server.chats.chat(visitor.token).id
    try:
        done = await run_form(alice, guest, "tags", add="renewals, fines")
        assert done["notes"][0][1] == "Tags: fines, renewals"
        started = (await command(alice, guest, "tags"))["command"]
        tags = started["form"].get_fields()["tags"]
        assert tags["type"] == "list-multi" and tags.get_value() == ["fines", "renewals"]
        await command(
            alice, guest, "tags", action="complete", sessionid=started["sessionid"],
            payload=submit(alice, tags=["renewals"]),
        )
        assert server.store.tags.of_chat(chat_id) == ["renewals"]

        started = (await command(alice, guest, "email"))["command"]
        assert started["form"].get_fields()["address"].get_value() == "vera@example.org"
        done = await run_form(alice, guest, "email", address="boss@example.org")
        assert done["notes"][0][1] == "The transcript is on its way to boss@example.org."

        details = (await command(alice, guest, "details"))["command"]
        assert details["status"] == "completed"
        values = details["form"].get_values()
        assert (values["name"], values["email"], values["question"]) == (
            "Vera", "vera@example.org", "Is the book in?"
        )
        assert values["tags"] == "renewals"

        done = await run_form(alice, guest, "end")
        assert done["notes"][0][1] == "The chat with Vera has ended."
        await visitor.events_until("ended")
        assert server.chats.chat(visitor.token).state == "closed"
        items = (await alice.plugin["xep_0050"].get_commands(guest))["disco_items"]["items"]
        assert {node for _, node, _ in items} == {"tags", "email", "details"}
        assert (await refused(command(alice, guest, "end")))[0] == "not-allowed"
    finally:
        await close_all(alice, bob, carol)


@asyncio_test
async def test_status_my_chats_and_canned_on_the_server_jid(server):
    alice, bob, carol, visitor, guest = await held_chat(server)
    ringing = Visitor(server)
    try:
        await ringing.start(queue="Support", name="Wes")
        await message_matching(alice, has_body("New chat for Support from Wes"))
        chats = (await command(alice, "localhost", "chats"))["command"]
        assert chats["notes"][0][1] == "2 open chats."
        rows = [(i["visitor"], i["for"], i["state"]) for i in chats["form"]["items"]]
        assert rows == [("Vera", "Support", "held"), ("Wes", "Support", "ringing")]
        assert chats["form"]["items"][0]["jid"] == guest.partition("/")[0]

        server.store.canned.add("hours", "We open at 9.", 0, owner="alice")
        queue = server.store.queues.named("Support")
        server.store.canned.add("bye", "Goodbye!", 0, queue_id=queue.id)
        canned = (await command(alice, "localhost", "canned"))["command"]
        assert [(i["name"], i["for"], i["text"]) for i in canned["form"]["items"]] == [
            ("hours", "mine", "We open at 9."), ("bye", "Support", "Goodbye!")
        ]

        started = (await command(alice, "localhost", "status"))["command"]
        assert started["form"].get_fields()["status"].get_value() == "available"
        done = await run_form(alice, "localhost", "status", status="away", message="Lunch")
        assert done["notes"][0][1] == "You are away: new chats no longer ring for you."
        await until(lambda: server.chats.availability.status("alice") == "away")
        await run_form(alice, "localhost", "status", status="available")
        await until(lambda: server.chats.availability.status("alice") == "available")
        condition, _ = await refused(asyncio.ensure_future(
            run_form(alice, "localhost", "status", status="asleep")
        ))
        assert condition == "bad-request"
    finally:
        await close_all(alice, bob, carol)


@asyncio_test
async def test_text_commands_in_both_spellings_never_reach_the_visitor(server):
    alice, bob, carol, visitor, guest = await held_chat(server)
    queue = server.store.queues.named("Support")
    server.store.canned.add("hours", "We open at 9.", 0, queue_id=queue.id)

    async def say(text, answer):
        alice.send_message(mto=guest, mbody=text, mtype="chat")
        return (await message_matching(alice, notice(answer)))["body"]

    try:
        assert await say("!tag renewals, fines", "Tags:") == "[mcc] Tags: fines, renewals"
        assert await say("/untag fines", "Tags:") == "[mcc] Tags: renewals"
        info = await say("!info", "Name:")
        assert "Name: Vera\nE-mail: vera@example.org\nQuestion: Is the book in?" in info
        assert "Tags: renewals" in info
        assert await say("/email", "on its way") == (
            "[mcc] The transcript is on its way to vera@example.org."
        )
        assert "boss@example.org" in await say("!email boss@example.org", "on its way")
        assert "not an e-mail address" in await say("!email nobody", "!email:")
        assert await say("!canned", "Canned") == (
            "[mcc] Canned messages: hours. Send one with !canned NAME."
        )
        assert await say("!canned hours", "Sent:") == "[mcc] Sent: We open at 9."
        assert "no canned message" in await say("!canned nope", "!canned:")
        help_text = await say("!launch the rockets", "There is no command !launch")
        assert "!transfer NAME" in help_text
        assert "!end - end this chat" in await say("/help", "Commands")
        listing = await say("!transfer", "Transfer to:")
        assert "Reference (queue, 1 available)" in listing and "Bob (operator)" in listing
        assert "nobody available is called" in await say("!transfer Mars now", "!transfer:")
        alice.send_message(mto=guest, mbody="/me checks the shelf", mtype="chat")
        alice.send_message(mto=guest, mbody="Still here.", mtype="chat")
        await visitor_saw_only(
            visitor, "We open at 9.", "/me checks the shelf", then="Still here.",
        )

        answer = await say("!transfer reference please check\nthe catalogue", "Transferring")
        assert answer == (
            "[mcc] Transferring this chat to Reference; it is yours until someone there takes it."
        )
        note = await message_matching(bob, has_body("transfers this chat"))
        assert note["body"].endswith("Note: please check\nthe catalogue")
        bob.send_message(mto=guest, mbody="Bob here.", mtype="chat")
        await message_matching(alice, has_body("Bob took this chat over"))
        bob.send_message(mto=guest, mbody="/end", mtype="chat")
        await visitor.events_until("ended")
        assert server.chats.chat(visitor.token).state == "closed"
    finally:
        await close_all(alice, bob, carol)


@asyncio_test
async def test_text_commands_of_someone_else_are_refused_and_not_delivered(server):
    alice, bob, carol, visitor, guest = await held_chat(server)
    try:
        carol.send_message(mto=guest, mbody="!info", mtype="chat")
        answer = await message_matching(carol, notice("!info"))
        assert answer["body"] == "[mcc] !info: this chat is not for you"
        carol.send_message(mto=guest, mbody="!end", mtype="chat")
        await message_matching(carol, notice("not for you"))
        assert server.chats.chat(visitor.token).state == "active"
        alice.send_message(mto=guest, mbody="Still here.", mtype="chat")
        await visitor_saw_only(visitor, then="Still here.")
    finally:
        await close_all(alice, bob, carol)


@implementer(ICommandSet)
class OneForm:
    """
    A command set of one two-stage command, C{ask}.
    """

    def listed(self, requester, target):
        return [("ask", "Ask")]

    def start(self, node, requester, target):
        if node != "ask":
            raise UnknownCommand(node)
        return Ask(data_form.Form("form", title="Ask"))

    def submit(self, node, requester, target, form):
        return Done("done")


def command_iq(node, sessionid=None, action=None, form=False):
    iq = domish.Element((None, "iq"))
    iq["type"], iq["from"], iq["to"] = "set", "alice@example.org/desk", "example.org"
    request = iq.addElement((NS_COMMANDS, "command"))
    request["node"] = node
    if sessionid is not None:
        request["sessionid"] = sessionid
    if action is not None:
        request["action"] = action
    if form:
        request.addChild(data_form.Form("submit").toElement())
    return iq


def test_a_form_expires_after_the_session_timeout():
    assert verifyObject(ICommandSet, OneForm())
    for commands in (ChatCommands(None, None, None), OwnCommands(None, None, None, "example.org")):
        assert verifyObject(ICommandSet, commands)
    clock = Clock()
    handler = AdHocCommands(OneForm(), clock, lambda: "s1", session_timeout=60)
    started = handler.on_command(command_iq("ask"))
    assert (started["status"], started["sessionid"]) == ("executing", "s1")
    clock.advance(61)
    with pytest.raises(StanzaError) as caught:
        handler.on_command(command_iq("ask", "s1", "complete", form=True))
    assert caught.value.condition == "not-allowed"
    assert caught.value.appCondition.name == "session-expired"


def test_a_requester_keeps_a_bounded_number_of_forms_open():
    ids = iter(range(100))
    handler = AdHocCommands(OneForm(), Clock(), lambda: f"s{next(ids)}")
    for _ in range(MAX_SESSIONS + 5):
        handler.on_command(command_iq("ask"))
    assert len(handler._sessions) == MAX_SESSIONS
    with pytest.raises(StanzaError) as caught:
        handler.on_command(command_iq("ask", "s0", "complete", form=True))
    assert caught.value.appCondition.name == "bad-sessionid"
    done = handler.on_command(command_iq("ask", f"s{MAX_SESSIONS + 4}", "complete", form=True))
    assert done["status"] == "completed" and str(done.note) == "done"
