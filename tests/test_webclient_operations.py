"""
The web chat client's chat operations over real sockets, against a running
mcc with a real SMTP server (Twisted's own) on loopback: transfer, tags,
canned messages, visitor details, files both ways, e-mailed transcripts,
and a clear JSON refusal for each kind of bad request.
"""

import email
import email.policy
from urllib.parse import quote

import pytest
import treq
from twisted.internet.task import deferLater

from tests.conftest import asyncio_test
from tests.conftest import test_config as config_in
from tests.test_routing_transcripts import _SMTPServer
from tests.test_webclient_http import Browser
from tests.test_widget_browser import staff
from tests.visitor_client import Visitor, wait

MAX_FILE = 5000


class Inbox(list):
    """
    What the test's SMTP server received: C{(recipient, message)}.
    """

    port = None


@pytest.fixture
def inbox():
    from twisted.internet import reactor

    received = Inbox()
    port = reactor.listenTCP(0, _SMTPServer(received), interface="127.0.0.1")
    received.port = port.getHost().port
    yield received
    port.stopListening()


@pytest.fixture
def server_config(tmp_path, inbox):
    return config_in(
        tmp_path / "data", poll_timeout=5.0, max_file_size=MAX_FILE,
        smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_from="chat@shop.example", smtp_starttls="no",
    )


class Desk:
    """
    One operator's web client: signed in, opened, and its events so far.
    """

    def __init__(self, server):
        self.browser = Browser(server)
        self.seen = []

    async def open(self, username):
        await self.browser.sign_in(username, f"{username}-pw")
        code, opened = await self.browser.api("POST", "open")
        assert code == 200, opened
        self.client, self.cursor = opened["client"], opened["cursor"]
        return self

    async def until(self, kind, where=lambda event: True, **fields):
        """
        Poll until an event of C{kind} (with C{fields}, and C{where} it)
        comes; that event.
        """
        while True:
            for event in self.seen:
                if event["kind"] == kind and all(event.get(k) == v for k, v in fields.items()) and where(event):
                    self.seen.remove(event)
                    return event
            code, polled = await self.browser.api("GET", f"events?client={self.client}&after={self.cursor}")
            assert code == 200, polled
            self.cursor = polled["cursor"]
            self.seen.extend(polled["events"])

    async def act(self, chat_id, operation, body=None):
        return await self.browser.api("POST", f"chats/{chat_id}/{operation}", body or {})

    async def upload(self, chat_id, name, data, csrf=True):
        headers = {"x-file-name": quote(name), "content-type": "application/octet-stream"}
        if csrf:
            headers["x-csrf-token"] = self.browser.csrf
        response, content = await self.browser.request(
            "POST", f"/api/chats/{chat_id}/files", data=data, headers=headers
        )
        return response.code, content


async def ringing(server, *usernames, **visitor):
    """
    A visitor's chat ringing in the web clients of C{usernames}.
    """
    desks = [await Desk(server).open(name) for name in usernames]
    guest = Visitor(server, headers={"user-agent": "TestBrowser/1.0"})
    code, _ = await guest.start(queue="Support", **visitor)
    assert code == 201
    offers = [await desk.until("offer") for desk in desks]
    return guest, desks, offers[0]["chat"]


async def answered(server, **visitor):
    guest, (olive, pat), chat_id = await ringing(server, "olive", "pat", **visitor)
    code, answer = await olive.act(chat_id, "messages", {"text": "Olive here"})
    assert code == 200 and answer["chat"]["operator"] == "olive"
    await guest.events_until("message", "Olive here")
    return guest, olive, pat, chat_id


@asyncio_test
async def test_a_transfer_to_a_colleague_with_a_note(server):
    staff(server, "Support", "olive", "pat")
    guest, olive, pat, chat_id = await answered(server, name="Vera", question="Renew my card?")

    code, answer = await olive.act(chat_id, "transfer-targets")
    assert code == 200
    assert {"kind": "user", "name": "pat", "label": "Pat Operator", "available": 1} in answer["targets"]
    assert {"kind": "queue", "name": "Support", "label": "Support", "available": 1} in answer["targets"]

    # Refusals, each with its reason; nothing changes.
    for body, status, reason in [
        ({"kind": "user", "name": "nobody"}, 404, "unknown-target"),
        ({"kind": "queue", "name": "Nowhere"}, 404, "unknown-target"),
        ({"kind": "user", "name": "olive"}, 409, "self-transfer"),
        ({"kind": "planet", "name": "pat"}, 400, "invalid-field"),
        ({"kind": "user", "name": "pat", "note": "x" * 501}, 400, "invalid-note"),
    ]:
        code, answer = await olive.act(chat_id, "transfer", body)
        assert (code, answer["error"]) == (status, reason), body
        assert answer["message"]
    code, answer = await pat.act(chat_id, "transfer", {"kind": "user", "name": "olive"})
    assert (code, answer["error"]) == (403, "not-your-chat")
    code, answer = await olive.act(chat_id + 1, "transfer", {"kind": "user", "name": "pat"})
    assert (code, answer["error"]) == (404, "unknown-chat")
    assert not server.chats.transfer_pending(chat_id)

    code, answer = await olive.act(chat_id, "transfer", {"kind": "user", "name": "pat", "note": "Wants a renewal"})
    assert (code, answer["transfer"]) == (200, "pending"), answer
    pending = await olive.until("transfer", state="pending")
    assert (pending["to"], pending["note"]) == ("pat", "Wants a renewal")
    await olive.until("notice", lambda e: "it is yours until someone there takes it" in e["text"])
    offer = await pat.until("offer")
    assert [m["text"] for m in offer["transcript"]] == ["Renew my card?", "Olive here"]
    told = await pat.until("notice", lambda e: "transfers" in e["text"])
    assert told["text"].startswith("Olive Operator transfers this chat to Pat Operator; reply to take it.\nNote: ")
    assert "Wants a renewal" in told["text"]
    code, answer = await olive.act(chat_id, "transfer", {"kind": "queue", "name": "Support"})
    assert (code, answer["error"]) == (409, "transfer-pending")

    code, answer = await pat.act(chat_id, "take")
    assert code == 200 and answer["chat"]["operator"] == "pat"
    taken = await pat.until("taken")
    assert taken["details"]["operator"] == "pat"
    assert (await olive.until("transfer", state="taken"))["by"] == "pat"
    await olive.until("notice", text="Pat Operator took this chat over from you.")
    await olive.until("withdraw")
    seen = await guest.events_until("transfer")
    assert seen[-1]["text"] == "You are being transferred to Pat Operator."

    code, answer = await olive.act(chat_id, "messages", {"text": "still mine?"})
    assert (code, answer["error"]) == (404, "unknown-chat")


@asyncio_test
async def test_tags_canned_messages_and_the_visitors_details(server):
    support = staff(server, "Support", "olive", "pat")
    server.store.canned.add("hours", "We are open 9 to 5.", 0, queue_id=support.id)
    server.store.canned.add("bye", "Goodbye from Olive!", 0, owner="olive")
    server.store.canned.add("bye-pat", "Pat's goodbye", 0, owner="pat")
    guest, olive, pat, chat_id = await answered(
        server, name="Vera", email="vera@example.org", question="Hours?"
    )

    code, answer = await olive.act(chat_id, "tags", {"tags": "renewals, Fines"})
    assert (code, answer["tags"]) == (200, ["Fines", "renewals"])
    assert (await olive.until("tags"))["tags"] == ["Fines", "renewals"]
    code, answer = await olive.act(chat_id, "tag-suggestions", {"prefix": "ren"})
    assert (code, answer["suggestions"]) == (200, [])  # on the chat already
    code, answer = await olive.act(chat_id, "untag", {"tag": "renewals"})
    assert (code, answer["tags"]) == (200, ["Fines"])
    code, answer = await olive.act(chat_id, "tag-suggestions", {"prefix": "REN"})
    assert answer["suggestions"] == ["renewals"]
    for operation, body, status, reason in [
        ("tags", {"tags": "<b>"}, 400, "invalid-tag"),
        ("tags", {"tags": "x" * 41}, 400, "invalid-tag"),
        ("tags", {"tags": []}, 400, "invalid-field"),
        ("untag", {"tag": "never"}, 400, "invalid-tag"),
    ]:
        code, answer = await olive.act(chat_id, operation, body)
        assert (code, answer["error"]) == (status, reason), body
    code, answer = await pat.act(chat_id, "tags", {"tags": ["mine"]})
    assert (code, answer["error"]) == (403, "not-your-chat")
    assert server.store.tags.of_chat(chat_id) == ["Fines"]

    code, answer = await olive.act(chat_id, "canned")
    assert answer["canned"] == [
        {"name": "bye", "text": "Goodbye from Olive!"}, {"name": "hours", "text": "We are open 9 to 5."},
    ]
    code, answer = await olive.act(chat_id, "send-canned", {"name": "hours"})
    assert code == 200, answer
    assert (await olive.until("message", text="We are open 9 to 5."))["from"] == "operator"
    await guest.events_until("message", "We are open 9 to 5.")
    code, answer = await olive.act(chat_id, "send-canned", {"name": "bye-pat"})
    assert (code, answer["error"]) == (404, "unknown-canned")
    code, answer = await olive.act(chat_id, "send-canned", {"name": "Bad name!"})
    assert (code, answer["error"]) == (400, "invalid-canned")

    code, answer = await olive.act(chat_id, "details")
    details = answer["details"]
    assert code == 200
    assert (details["name"], details["email"], details["ip"], details["protocol"]) == (
        "Vera", "vera@example.org", "127.0.0.1", "web",
    )
    assert details["user_agent"] == "TestBrowser/1.0"
    assert details["tags"] == ["Fines"] and details["waited"] >= 0 and details["earlier"] == []
    code, answer = await pat.act(chat_id, "details")
    assert code == 200  # Pat is of the chat's queue.

    # A second chat of the same visitor lists the first as earlier.
    await guest.end()
    second = Visitor(server)
    code, _ = await second.start(queue="Support", name="Vera", email="vera@example.org", question="Again")
    offer = await olive.until("offer")
    code, answer = await olive.act(offer["chat"], "details")
    assert [c["id"] for c in answer["details"]["earlier"]] == [chat_id]


@asyncio_test
async def test_files_go_both_ways_and_bad_ones_are_refused(server):
    staff(server, "Support", "olive", "pat")
    guest, olive, pat, chat_id = await answered(server, name="Vera", question="A form?")
    data = bytes(range(256)) * 10

    code, content = await olive.upload(chat_id, "form ü.pdf", data)
    assert code == 201, content
    sent = await olive.until("file")
    assert (sent["name"], sent["size"], sent["from"]) == ("form ü.pdf", len(data), "operator")
    seen = await guest.events_until("file")
    response = await wait(treq.get(f"{server.http_url}/api/chats/{guest.token}/files/{seen[-1]['id']}"))
    assert response.code == 200 and await wait(response.content()) == data
    response, body = await olive.browser.request("GET", f"/api/chats/{chat_id}/files/{sent['id']}")
    assert response.code == 200 and body == data
    assert response.headers.getRawHeaders("x-content-type-options") == ["nosniff"]
    assert response.headers.getRawHeaders("content-disposition")[0].startswith("attachment;")

    code, answer = await pat.upload(chat_id, "x.pdf", b"data")
    assert (code, answer) == (
        403,
        b'{"error": "not-your-chat", "message": "only the operator who has this chat can do that"}',
    )
    response, body = await pat.browser.request("GET", f"/api/chats/{chat_id}/files/{sent['id']}")
    assert response.code == 403
    for name, body, status, reason in [
        ("../etc/passwd.txt", b"x", 400, b"invalid-file-name"),
        ("empty.txt", b"", 400, b"empty-file"),
        ("run.exe", b"MZ", 415, b"file-type-not-allowed"),
    ]:
        code, answer = await olive.upload(chat_id, name, body)
        assert code == status and reason in answer, (name, answer)
    code, answer = await olive.upload(chat_id, "big.pdf", b"x" * (MAX_FILE + 1))
    assert code == 413
    code, answer = await olive.upload(chat_id, "x.pdf", b"data", csrf=False)
    assert code == 403 and b"forged" in answer
    assert len(server.store.files.of_chat(chat_id)) == 1

    # The visitor's file comes as a file event, and downloads intact.
    from_visitor = b"%PDF visitor's scan"
    response = await wait(treq.post(
        f"{server.http_url}/api/chats/{guest.token}/files", data=from_visitor,
        headers={"x-file-name": "scan.pdf", "content-type": "application/pdf"},
    ))
    assert response.code == 201
    got = await olive.until("file", name="scan.pdf")
    assert (got["from"], got["size"]) == ("visitor", len(from_visitor))
    response, body = await olive.browser.request("GET", f"/api/chats/{chat_id}/files/{got['id']}")
    assert body == from_visitor

    # A reload shows the files where they were in the chat.
    code, again = await olive.browser.api("POST", "open")
    shown = [
        ("file", m["name"]) if m.get("kind") == "file" else ("message", m["text"])
        for m in again["chats"][0]["transcript"]
    ]
    assert shown == [
        ("message", "A form?"), ("message", "Olive here"), ("file", "form ü.pdf"), ("file", "scan.pdf"),
    ]


@asyncio_test
async def test_the_transcript_is_emailed_and_bad_addresses_are_refused(server, inbox):
    from twisted.internet import reactor

    staff(server, "Support", "olive", "pat")
    guest, olive, pat, chat_id = await answered(server, name="Vera", question="Send it to me")
    await guest.say("Thanks!")
    await olive.until("message", text="Thanks!")

    for body, reason in [
        ({"to": "not an address"}, "invalid-address"),
        ({"to": "vera@example.org\r\nBcc: all@example.org"}, "header-injection"),
        ({"to": ["vera@example.org"]}, "invalid-field"),
        ({}, "invalid-address"),  # The visitor gave no address.
    ]:
        code, answer = await olive.act(chat_id, "transcript", body)
        assert (code, answer["error"]) == (400, reason), body
    code, answer = await olive.act(chat_id, "transcript", {"to": "boss@example.org"})
    assert (code, answer) == (200, {"queued": "boss@example.org"})
    assert (await olive.until("email", status="queued"))["to"] == "boss@example.org"
    assert (await olive.until("email", status="sent"))["why"] == ""
    await olive.until("notice", text="The transcript was e-mailed to boss@example.org.")
    for _ in range(100):
        if inbox:
            break
        await wait(deferLater(reactor, 0.05))
    ((recipient, message),) = inbox
    assert recipient == "boss@example.org"
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    text = parsed.get_body(("plain",)).get_content()
    for line in ("Vera: Send it to me", "Olive Operator: Olive here", "Vera: Thanks!"):
        assert line in text

    # The server's refusal is final, and the operator reads why.
    code, answer = await olive.act(chat_id, "transcript", {"to": "nobody@example.org"})
    assert code == 200
    failed = await olive.until("email", status="failed")
    assert failed["to"] == "nobody@example.org" and failed["why"]
    notice = await olive.until("notice", lambda e: e["text"].startswith("The transcript could not be e-mailed"))
    assert "nobody@example.org" in notice["text"]
