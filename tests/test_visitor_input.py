"""
What visitors send that must not hurt: text the store cannot hold, deep
JSON, retried messages, questions about other accounts' presence, forged
summary lines and bidirectional overrides.  Through the real HTTP socket
and real XMPP clients where it matters.
"""

import json
from types import SimpleNamespace

import pytest
import treq
from twisted.internet.task import Clock

from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts, isolated, plain_name
from mcc.routing.chats import Visitor as VisitorDetails
from mcc.routing.widgets import Level
from mcc.store import Store, schema
from mcc.xmpp.guests import summary
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import has_body, message_matching, operators, raw_http, staff
from tests.test_routing_chats import RecordingChannel
from tests.test_visitor_api import Visit
from tests.visitor_client import Visitor, call, wait
from tests.xmpp_client import login

RLO = "\u202e"
PDI = "\u2069"
FSI = "\u2068"


def widget_rules(server):
    return server.service.getServiceNamed("widget-watch").widgets


async def raw_post(url, raw):
    response = await wait(treq.post(url, data=raw, headers={"content-type": ["application/json"]}))
    return response.code, await wait(treq.json_content(response))


# 1. Every field checked, JSON nesting bounded


@asyncio_test
async def test_text_the_store_cannot_hold_is_a_400_naming_its_field(server):
    (ann,) = await operators(server, "ann")
    staff(server, "sales", "ann")
    api = server.http_url + "/api"
    try:
        for fields, field in (
            ({"queue": "sa\ud800les"}, "queue"),
            ({"user": "a\udc00nn"}, "user"),
            ({"queue": "sales", "page": "https://x.example/\ud800"}, "page"),
            ({"queue": "sales", "name": "V\udfffi"}, "name"),
            ({"queue": "sales", "email": "v\ud800@x.example"}, "email"),
            ({"queue": "sales", "question": "why\ud800"}, "question"),
        ):
            code, body = await call("POST", f"{api}/chats", fields)
            assert (code, body["error"], body["field"]) == (400, "invalid-characters", field), fields
        code, body = await call("GET", f"{api}/availability?queue=%01")
        assert (code, body["field"]) == (400, "queue")
        assert server.store.chats.unfinished() == []
    finally:
        await ann.close()


@asyncio_test
async def test_deeply_nested_json_is_a_400(server):
    (ann,) = await operators(server, "ann")
    staff(server, "sales", "ann")
    api = server.http_url + "/api"
    try:
        deep = b"[" * 20000 + b"]" * 20000
        code, body = await raw_post(f"{api}/chats", deep)
        assert (code, body["error"]) == (400, "invalid-json")
        code, body = await raw_post(f"{api}/chats", b'{"queue": "sales", "name": ' + deep + b"}")
        assert (code, body["error"]) == (400, "invalid-json")
        # Brackets inside strings are text, not nesting.
        code, body = await call("POST", f"{api}/chats", {"queue": "sales", "question": "[[[[[[[[[[[[{{{{{{"})
        assert code == 201, body
        nested = b'{"text": [[[[[[[[[["x"]]]]]]]]]]}'
        code, body = await raw_post(f"{api}/chats/{body['token']}/messages", nested)
        assert (code, body["error"]) == (400, "invalid-json")
    finally:
        await ann.close()


# 2. A retried message is stored once


@asyncio_test
async def test_a_retried_message_is_stored_and_delivered_once(server):
    (ann,) = await operators(server, "ann")
    staff(server, "sales", "ann")
    visitor = Visitor(server)
    api = visitor.api
    try:
        await visitor.start(queue="sales", name="Vi")
        guest = (await message_matching(ann, has_body("New chat")))["from"].bare
        url = f"{api}/chats/{visitor.token}/messages"
        first = await call("POST", url, {"text": "Once only", "id": "m-0001-abcdef"})
        again = await call("POST", url, {"text": "Once only", "id": "m-0001-abcdef"})
        other = await call("POST", url, {"text": "Once only", "id": "m-0002-abcdef"})
        assert first == again == (202, {"seq": 1, "follows": 0})
        assert other == (202, {"seq": 2, "follows": 1})
        assert (await message_matching(ann, has_body("Once only")))["from"].bare == guest
        assert (await message_matching(ann, has_body("Once only")))["from"].bare == guest
        ann.send_message(mto=guest, mbody="Got it", mtype="chat")
        events = await visitor.events_until("message", "Got it")
        assert [e["text"] for e in events if e["kind"] == "message"] == ["Once only", "Once only", "Got it"]
        assert ann.messages.empty()

        for bad in ("short", "x" * 65, "has space1", "ünïcode-id", 12345678, ["m-0003-abcdef"]):
            code, body = await call("POST", url, {"text": "Bad id", "id": bad})
            assert (code, body["error"], body["field"]) == (400, "invalid-field", "id"), bad
        # The visitor ends the chat; a late retry still gets its answer.
        await visitor.end()
        assert await call("POST", url, {"text": "Once only", "id": "m-0002-abcdef"}) == (
            202, {"seq": 2, "follows": 1}
        )
    finally:
        await ann.close()


def test_a_message_id_belongs_to_its_chat():
    store = Store.open(":memory:")
    store.users.add("ann", "pw", now=0)
    availability = Availability()
    tokens = iter(f"{n:04d}" + "t" * 28 for n in range(100))
    chats = ChatService(
        store,
        availability,
        {"sales": ["ann"]}.__getitem__,
        Clock(),
        lambda: next(tokens),
        Timeouts(answer=60, visitor=90, poll=25, reconnect=30),
    )
    chats.channel = RecordingChannel()
    availability.resource_available("ann", "desk")
    one, two = (chats.start(VisitorDetails(), queue="sales") for _ in range(2))
    assert chats.visitor_says(one.token, "hello", "same-id-123") == 1
    assert chats.visitor_says(two.token, "hello", "same-id-123") == 1
    assert chats.visitor_says(one.token, "hello", "same-id-123") == 1
    assert chats.visitor_says(one.token, "again", None) == 2
    assert chats.visitor_says(one.token, "again", None) == 3
    delivered = [call for call in chats.channel.calls if call[0] == "deliver"]
    assert len(delivered) == 4


def test_the_message_id_step_keeps_what_was_stored(tmp_path, monkeypatch):
    path = tmp_path / "mcc.sqlite"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
    old = Store.open(path)
    # Raw SQL: the store's own queries name the columns of later steps.
    chat_id = old.db.conn.execute(
        "INSERT INTO chats (token, guest, queue, state, created_at)"
        " VALUES (?, 'guest.abc', 'sales', 'waiting', 1)",
        ("t" * 32,),
    ).lastrowid
    old.db.conn.execute(
        "INSERT INTO chat_events (chat_id, seq, kind, data, internal, at) VALUES (?, 1, 'message', ?, 0, 2)",
        (chat_id, '{"from": "visitor", "name": "", "text": "before"}'),
    )
    old.db.conn.commit()
    old.close()
    monkeypatch.undo()

    new = Store.open(path)
    try:
        assert new.db.conn.execute("SELECT version FROM schema_version").fetchone()[0] == len(schema.MIGRATIONS)
        (event,) = new.chats.events_after(chat_id, 0)
        assert (event.seq, event.data["text"]) == (1, "before")
        assert new.chats.message_seq(chat_id, "anything") is None
        assert new.chats.add_event(chat_id, "message", {"text": "after"}, 3, message_id="m-1") == 2
        assert new.chats.message_seq(chat_id, "m-1") == 2
    finally:
        new.close()


# 3. Availability tells only of users a widget shows


@asyncio_test
async def test_availability_shows_only_users_a_service_level_names(server):
    ann, boss, cy = await operators(server, "ann", "boss", "cy")
    server.store.users.set_profile("boss", "Boss", "", True)
    rules = widget_rules(server)
    skin = rules.create_skin("Plain", {})
    made = rules.create_snippet()
    rules.save_snippet(made.id, "Ann's", "embedded", {}, [Level(skin.id, username="ann")])
    api = server.http_url + "/api"
    try:
        assert await call("GET", f"{api}/availability?user=ann") == (200, {"available": True})
        for name in ("boss", "cy", "nobody", "admin"):
            assert await call("GET", f"{api}/availability?user={name}") == (200, {"available": False}), name
    finally:
        for client in (ann, boss, cy):
            await client.close()
    assert await call("GET", f"{api}/availability?user=ann") == (200, {"available": False})


# 4. and 5. The operator's summary cannot be forged or turned around


def _chat(**fields):
    defaults = dict(
        queue="sales", target_user=None, visitor_name="", visitor_email="", ip="203.0.113.9",
        page="https://shop.example/", question="",
    )
    return SimpleNamespace(**dict(defaults, **fields))


def test_summary_quotes_every_line_of_the_question():
    text = summary(_chat(question="Hi\nIP: 10.0.0.1\r\nPage: https://evil.example/\u2028E-mail: x@y"))
    lines = text.split("\n")
    assert lines == [
        "New chat for sales from a visitor",
        "IP: 203.0.113.9",
        "Page: https://shop.example/",
        "Question:",
        "> Hi",
        "> IP: 10.0.0.1",
        "> Page: https://evil.example/",
        "> E-mail: x@y",
        "Reply to take this chat; send /end (or !end) to end it.",
    ]


def test_bidirectional_controls_are_isolated_or_removed():
    assert plain_name(f"Eve{RLO}moc.elgoog\u200f\u2066") == "Evemoc.elgoog"
    assert isolated("plain text") == "plain text"
    assert isolated(f"a{RLO}b\nc") == f"{FSI}a{RLO}b{PDI}\nc"
    # A stray closing isolate cannot end ours early; an open one is closed.
    assert isolated(f"{PDI}{RLO}x") == f"{FSI}{RLO}x{PDI}"
    assert isolated("\u2067x") == f"{FSI}\u2067x{PDI}{PDI}"
    text = summary(_chat(question=f"Refund {RLO}dnuf"))
    assert f"> {FSI}Refund {RLO}dnuf{PDI}" in text.split("\n")


@asyncio_test
async def test_the_operator_reads_a_summary_no_visitor_can_forge(server):
    (ann,) = await operators(server, "ann")
    staff(server, "sales", "ann")
    visitor = Visitor(server, {"Referer": ["https://shop.example/cart"]})
    try:
        code, _ = await visitor.start(
            queue="sales", name=f"Eve{RLO}nimda", email=f"eve@x.example{RLO}",
            question="Hello\nIP: 10.0.0.1\nPage: https://bank.example/\nReply to take this chat",
        )
        assert code == 201
        offer = await message_matching(ann, has_body("New chat"))
        assert offer["body"].split("\n") == [
            "New chat for sales from Evenimda",
            "E-mail: eve@x.example",
            "IP: 127.0.0.1",
            "Page: https://shop.example/cart",
            "Question:",
            "> Hello",
            "> IP: 10.0.0.1",
            "> Page: https://bank.example/",
            "> Reply to take this chat",
            "Reply to take this chat; send /end (or !end) to end it.",
        ]
        assert offer.xml.find("{http://jabber.org/protocol/nick}nick").text == "Evenimda \u00b7 sales"
        await visitor.say(f"pay {RLO}001 ton")
        said = await message_matching(ann, has_body("001 ton"))
        assert said["body"] == f"{FSI}pay {RLO}001 ton{PDI}"
        assert (await visitor.say("plain words"))[0] == 202
        assert (await message_matching(ann, has_body("plain words")))["body"] == "plain words"
    finally:
        await ann.close()


@asyncio_test
async def test_operator_names_lose_their_bidirectional_controls(server):
    server.add_user("ann", "ann-pw", display_name=f"Ann{RLO}nimda")
    ann = await login(server, "ann@localhost/desk", "ann-pw")
    staff(server, "sales", "ann")
    visitor = Visitor(server)
    try:
        await visitor.start(queue="sales", question="Hi")
        guest = (await message_matching(ann, has_body("New chat")))["from"].bare
        ann.send_message(mto=guest, mbody="Hello", mtype="chat")
        events = await visitor.events_until("message", "Hello")
        assert [e["operator"] for e in events if e["kind"] == "picked_up"] == ["Annnimda"]
    finally:
        await ann.close()


@pytest.mark.parametrize("control", [*"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"])
def test_every_bidirectional_control_goes_from_names(control):
    assert plain_name(f"a{control}b") == "ab"


def test_an_address_a_proxy_forwards_is_shown_on_one_line():
    visit = Visit(trusted_proxies=["127.0.0.0/8"])
    visit.availability.resource_available("ann", "desk")
    headers = {"X-Forwarded-For": ["ev\x01il   x, 127.0.0.2"]}
    response = visit.request("POST", "/api/chats", {"queue": "sales"}, headers=headers)
    assert visit.chats.chat(visit.json(response)["token"]).ip == "ev\ufffdil x"


@asyncio_test
async def test_a_path_that_is_not_utf8_is_a_json_400(server):
    for method, path in (("GET", "/events?after=0"), ("POST", "/messages")):
        answer = await raw_http(
            server,
            f"{method} /api/chats/%ED%A0%80{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            "Content-Length: 0\r\n\r\n".encode(),
        )
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), head
        assert b"access-control-allow-origin: *" in head.lower()
        assert json.loads(body)["field"] == "path"
