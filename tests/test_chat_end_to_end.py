"""
The core path over real sockets: a visitor on the HTTP API, operators in
XMPP clients (slixmpp), and the chat router between them.
"""

import asyncio

import pytest
import treq

from tests.conftest import asyncio_test, test_config
from tests.visitor_client import Visitor, call, wait
from tests.xmpp_client import login, until


RECONNECT_TIMEOUT = 3.0


@pytest.fixture
def server_config(tmp_path):
    return test_config(tmp_path / "data", reconnect_timeout=RECONNECT_TIMEOUT)


def staff(server, queue, *operators):
    created = server.store.queues.add(queue, "", now=0)
    server.store.queues.set_operators(created.id, list(operators))


async def operators(server, *names):
    clients = []
    for name in names:
        server.add_user(name, f"{name}-pw", display_name=name.title())
        clients.append(await login(server, f"{name}@localhost/desk", f"{name}-pw"))
    return clients


async def close_all(*clients):
    for client in clients:
        await client.close()


async def message_matching(client, predicate, timeout=10):
    async def wait_for():
        while True:
            message = await client.messages.get()
            if predicate(message):
                return message

    return await asyncio.wait_for(wait_for(), timeout)


async def next_chat_state(client, state, timeout=10):
    async def wait_for():
        while True:
            message = await client.chat_states.get()
            if message["chat_state"] == state:
                return message

    return await asyncio.wait_for(wait_for(), timeout)


def has_body(text):
    return lambda message: text in message["body"]


@asyncio_test
async def test_ring_all_first_reply_takes_it_and_messages_flow_both_ways(server):
    alice, bob = await operators(server, "alice", "bob")
    staff(server, "support", "alice", "bob")
    visitor = Visitor(server, {"Referer": ["https://shop.example/checkout"]})
    try:
        code, body = await visitor.start(queue="support", name="Vera", question="Is my order shipped?")
        assert code == 201, body

        offers = [await message_matching(c, has_body("New chat for support")) for c in (alice, bob)]
        guest = offers[0]["from"].bare
        assert guest.startswith("guest.") and offers[1]["from"].bare == guest
        summary = offers[0]["body"]
        for fact in ("from Vera", "IP: 127.0.0.1", "Page: https://shop.example/checkout",
                     "Question:\n> Is my order shipped?\n"):
            assert fact in summary

        bob.send_message(mto=guest, mbody="Hi Vera, Bob here.", mtype="chat")
        await message_matching(alice, has_body("Bob picked up this chat."))
        alice.send_message(mto=guest, mbody="Alice here too", mtype="chat")
        await message_matching(alice, has_body("Bob has this chat"))

        events = await visitor.events_until("message", "Hi Vera, Bob here.")
        assert [e["kind"] for e in events][-2:] == ["picked_up", "message"]

        await visitor.typing("composing")
        composing = await next_chat_state(bob, "composing")
        assert composing["from"].bare == guest

        state = bob.make_message(mto=guest, mtype="chat")
        state["chat_state"] = "composing"
        state.send()
        events = await visitor.events_until("typing")
        assert events[-1]["from"] == "operator" and events[-1]["state"] == "composing"

        code, _ = await visitor.say("Order 1234, please.")
        assert code == 202
        assert (await message_matching(bob, has_body("Order 1234")))["body"] == "Order 1234, please."

        await visitor.end()
        await message_matching(bob, has_body("The visitor ended the chat."))
        events = await visitor.events_until("ended")
        assert visitor.state == "closed"
        texts = [e.get("text") for e in events if e["kind"] == "message"]
        assert "Alice here too" not in texts

        chat = server.chats.chat(visitor.token)
        assert (chat.state, chat.operator, chat.ip) == ("closed", "bob", "127.0.0.1")
        transcript = server.store.chats.events_after(chat.id, 0, include_internal=True)
        kinds = [(e.kind, e.data.get("text")) for e in transcript]
        assert ("message", "Is my order shipped?") in kinds
        assert ("note", "Alice here too") in kinds
        assert ("message", "Order 1234, please.") in kinds
    finally:
        await close_all(alice, bob)


@asyncio_test
async def test_offline_queue_and_away_operator(server):
    carol, dave = await operators(server, "carol", "dave")
    staff(server, "sales", "carol", "dave")
    carol.send_presence(pshow="away")
    dave.send_presence(pshow="dnd")
    await until(lambda: not server.chats.is_available(queue="sales"))
    try:
        code, body = await call("GET", f"{server.http_url}/api/availability?queue=sales")
        assert (code, body) == (200, {"available": False})
        code, body = await Visitor(server).start(queue="sales")
        assert code == 409 and body["error"] == "offline"

        carol.send_presence()
        await until(lambda: server.chats.is_available(queue="sales"))
        code, body = await call("GET", f"{server.http_url}/api/availability?queue=sales")
        assert body == {"available": True}
        code, _ = await Visitor(server).start(queue="sales", name="Una")
        assert code == 201
        await message_matching(carol, has_body("New chat for sales from Una"))
        # dave is busy (dnd): the chat never rings for him.
        with pytest.raises(asyncio.TimeoutError):
            await message_matching(dave, has_body("New chat"), timeout=1)
    finally:
        await close_all(carol, dave)


@asyncio_test
async def test_end_as_the_first_message_ends_the_chat_for_everyone(server):
    gail, hank = await operators(server, "gail", "hank")
    staff(server, "returns", "gail", "hank")
    visitor = Visitor(server)
    try:
        await visitor.start(queue="returns", name="Vic")
        offer = await message_matching(gail, has_body("New chat"))
        await message_matching(hank, has_body("New chat"))
        guest = offer["from"].bare
        gail.send_message(mto=guest, mbody="/end", mtype="chat")
        await message_matching(hank, has_body("Gail picked up this chat."))
        events = await visitor.events_until("ended")
        assert events[-1]["by"] == "operator"
        assert visitor.state == "closed"
        chat = server.chats.chat(visitor.token)
        assert (chat.state, chat.operator, chat.closed_by) == ("closed", "gail", "operator")
        # Too late for anyone now, and they hear so rather than nothing.
        hank.send_message(mto=guest, mbody="/end", mtype="chat")
        await message_matching(hank, has_body("This chat has ended already."))
    finally:
        await close_all(gail, hank)


@asyncio_test
async def test_bang_end_ends_a_chat_from_clients_that_keep_slash_words(server):
    """
    profanity, poezio, Gajim and Pidgin answer "Unknown command" to C{/end}
    and never send it; C{!end} reaches mcc and ends the chat the same way.
    """
    (ivy,) = await operators(server, "ivy")
    staff(server, "loans", "ivy")
    visitor = Visitor(server)
    try:
        await visitor.start(queue="loans", name="Wes")
        offer = await message_matching(ivy, has_body("send /end (or !end) to end it"))
        guest = offer["from"].bare
        ivy.send_message(mto=guest, mbody="Hello Wes", mtype="chat")
        await visitor.events_until("message")
        ivy.send_message(mto=guest, mbody="!end", mtype="chat")
        events = await visitor.events_until("ended")
        assert events[-1]["by"] == "operator"
        texts = [event.get("text") for event in events if event["kind"] == "message"]
        assert "!end" not in texts
    finally:
        await close_all(ivy)


@asyncio_test
async def test_a_cut_poll_resumes_with_every_missed_event_once(server):
    (dan,) = await operators(server, "dan")
    staff(server, "help", "dan")
    visitor = Visitor(server)
    try:
        await visitor.start(queue="help", name="Val")
        offer = await message_matching(dan, has_body("New chat"))
        guest = offer["from"].bare
        dan.send_message(mto=guest, mbody="one", mtype="chat")
        await visitor.events_until("message", "one")

        cut = treq.get(f"{visitor.api}/chats/{visitor.token}/events?after={visitor.last}")
        await asyncio.sleep(0.2)
        cut.cancel()
        for text in ("two", "three", "four"):
            dan.send_message(mto=guest, mbody=text, mtype="chat")
        await asyncio.sleep(0.3)
        events = await visitor.poll()
        assert [e["text"] for e in events] == ["two", "three", "four"]
        assert [e["seq"] for e in events] == list(range(events[0]["seq"], events[0]["seq"] + 3))
    finally:
        await dan.close()


@asyncio_test
async def test_operator_who_disconnects_hands_the_chat_back(server):
    erin, finn = await operators(server, "erin", "finn")
    staff(server, "billing", "erin", "finn")
    visitor = Visitor(server)
    try:
        await visitor.start(queue="billing")
        offer = await message_matching(erin, has_body("New chat"))
        await message_matching(finn, has_body("New chat"))
        erin.send_message(mto=offer["from"].bare, mbody="Erin speaking", mtype="chat")
        await message_matching(finn, has_body("Erin picked up"))
        await erin.close()
        await visitor.say("hello?")
        again = await message_matching(finn, has_body("New chat"))
        assert again["from"].bare == offer["from"].bare
        # Finn joins a conversation under way: he sees what was said.
        history = await message_matching(finn, has_body("hello?"))
        assert history["delay"]["stamp"] is not None
        events = await visitor.events_until("requeued")
        assert events[-1]["operator"] == "Erin"
        finn.send_message(mto=offer["from"].bare, mbody="Finn here", mtype="chat")
        await visitor.events_until("message", "Finn here")
    finally:
        await finn.close()


@asyncio_test
async def test_operator_who_reconnects_in_time_keeps_the_chat_and_what_was_said(server):
    (hal,) = await operators(server, "hal")
    staff(server, "returns", "hal")
    visitor = Visitor(server)
    try:
        await visitor.start(queue="returns")
        offer = await message_matching(hal, has_body("New chat"))
        hal.send_message(mto=offer["from"].bare, mbody="Hal here", mtype="chat")
        await visitor.events_until("message", "Hal here")
        await hal.close()
        assert (await visitor.say("are you still there?"))[0] == 202
        hal = await login(server, "hal@localhost/desk", "hal-pw")
        missed = await message_matching(hal, has_body("are you still there?"))
        assert missed["from"].bare == offer["from"].bare
        await asyncio.sleep(RECONNECT_TIMEOUT + 0.5)
        chat = server.chats.chat(visitor.token)
        assert (chat.state, chat.operator) == ("active", "hal")
        hal.send_message(mto=offer["from"].bare, mbody="Yes, still here", mtype="chat")
        await visitor.events_until("message", "Yes, still here")
    finally:
        await hal.close()


@asyncio_test
async def test_bad_input_does_not_disturb_other_chats(server):
    (gus,) = await operators(server, "gus")
    staff(server, "faq", "gus")
    visitor = Visitor(server)
    try:
        await visitor.start(queue="faq")
        api = visitor.api
        assert (await call("GET", f"{api}/chats/not-a-token/events"))[0] == 404
        response = await wait(treq.post(f"{api}/chats", data=b"{oops"))
        assert response.code == 400
        assert (await call("POST", f"{api}/chats", {"name": "no target"}))[0] == 400
        assert (await visitor.say("x" * 5000))[0] == 413
        code, _ = await visitor.say("still here")
        assert code == 202
        assert (await message_matching(gus, has_body("still here")))["body"] == "still here"
    finally:
        await gus.close()


async def raw_http(server, head, body_chunks=()):
    """
    Send a request by hand and read what comes back until the server closes.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", server.http_port)
    writer.write(head)
    try:
        for chunk in body_chunks:
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


@asyncio_test
async def test_a_body_too_large_is_refused_before_it_is_read(server):
    declared = await raw_http(
        server,
        b"POST /api/chats HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000000\r\n\r\n",
    )
    assert declared.startswith(b"HTTP/1.1 413 ")
    megabyte = b"x" * (1024 * 1024)
    chunked = await raw_http(
        server,
        b"POST /api/chats HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        [b"%x\r\n%s\r\n" % (len(megabyte), megabyte)] * 3,
    )
    assert chunked.startswith(b"HTTP/1.1 413 ")
    code, body = await call("GET", f"{server.http_url}/api/availability?queue=nonesuch")
    assert (code, body["error"]) == (404, "unknown-target")


@asyncio_test
async def test_the_plain_test_page_is_served(server):
    response = await wait(treq.get(f"{server.http_url}/chat-test"))
    page = await wait(treq.text_content(response))
    assert response.code == 200
    assert "<h1>Visitor API test page</h1>" in page and 'fetch(api + path' in page
