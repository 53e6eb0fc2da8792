"""
Tests for L{mcc.widget.visitor_api}, driven through treq's StubTreq.
"""

import asyncio
import json

import pytest
from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.web.resource import Resource

from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts
from mcc.store import Store
from mcc.web import BoundedSite
from mcc.widget.visitor_api import VisitorAPI
from tests.conftest import asyncio_test
from tests.test_routing_chats import RecordingChannel

QUEUES = {"sales": ["ann"]}


class Visit:
    def __init__(self, max_message_size=100, start_limit=(3, 60.0), trusted_proxies=()):
        self.store = Store.open(":memory:")
        self.store.users.add("ann", "pw", now=0, display_name="Ann")
        self.clock = Clock()
        self.availability = Availability()
        tokens = iter(f"{n:04d}" + "t" * 28 for n in range(1000))
        self.chats = ChatService(
            self.store, self.availability, QUEUES.__getitem__, self.clock,
            lambda: next(tokens), Timeouts(answer=60, visitor=90, poll=25, reconnect=30),
        )
        self.chats.channel = RecordingChannel()
        self.chats.startService()
        api = VisitorAPI(
            self.chats, self.clock, trusted_proxies=trusted_proxies,
            max_message_size=max_message_size, start_limit=start_limit,
        )
        self.api = api
        root = Resource()
        root.putChild(b"api", api.app.resource())
        self.http = StubTreq(root)

    def request(self, method, path, body=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        d = self.http.request(method, "http://mcc.test" + path, data=data, headers=headers)
        self.http.flush()
        response = d.result if d.called else None
        return response

    def json(self, response):
        d = response.json()
        self.http.flush()
        return d.result


@pytest.fixture
def visit():
    return Visit()


def test_offline_queue_says_so_and_refuses_a_chat(visit):
    response = visit.request("GET", "/api/availability?queue=sales")
    assert response.code == 200 and visit.json(response) == {"available": False}
    assert response.headers.getRawHeaders("access-control-allow-origin") == ["*"]
    response = visit.request("POST", "/api/chats", {"queue": "sales", "name": "Vi"})
    assert response.code == 409
    assert visit.json(response)["error"] == "offline"
    assert visit.request("GET", "/api/availability?queue=nope").code == 404


def test_chat_round_trip_with_sequence_numbers(visit):
    visit.availability.resource_available("ann", "desk")
    response = visit.request(
        "POST", "/api/chats",
        {"queue": "sales", "name": "Vi", "question": "Hi?", "referrer": "https://search.example/?q=x"},
        headers={"Referer": ["https://shop.example/cart"], "User-Agent": ["TestBrowser"]},
    )
    assert response.code == 201
    token = visit.json(response)["token"]
    chat = visit.chats.chat(token)
    assert (chat.page, chat.user_agent, chat.ip) == ("https://shop.example/cart", "TestBrowser", "127.0.0.1")
    assert (chat.referrer, chat.protocol) == ("https://search.example/?q=x", "web")
    assert len(token) >= 22

    answered = []
    visit.http.get(f"http://mcc.test/api/chats/{token}/events?after=1").addCallback(answered.append)
    visit.http.flush()
    assert answered == []
    visit.chats.operator_says(chat.guest, "ann", "Hello Vi")
    visit.http.flush()
    body = visit.json(answered[0])
    assert [e["kind"] for e in body["events"]] == ["picked_up"]
    assert body["last"] == 2 and body["state"] == "active"

    response = visit.request("GET", f"/api/chats/{token}/events?after=2")
    assert [(e["kind"], e["text"]) for e in visit.json(response)["events"]] == [("message", "Hello Vi")]

    response = visit.request("POST", f"/api/chats/{token}/messages", {"text": "Where is my order?"})
    assert response.code == 202 and visit.json(response) == {"seq": 4, "follows": 3}
    assert ("deliver", "ann", "Where is my order?") in visit.chats.channel.calls

    assert visit.request("POST", f"/api/chats/{token}/typing", {"state": "composing"}).code == 202
    assert visit.request("POST", f"/api/chats/{token}/end").code == 200
    body = visit.json(visit.request("GET", f"/api/chats/{token}/events?after=4"))
    assert body["state"] == "closed" and body["events"][-1]["kind"] == "ended"


def test_the_visitors_own_message_does_not_wake_its_poll(visit):
    visit.availability.resource_available("ann", "desk")
    token = visit.json(visit.request("POST", "/api/chats", {"queue": "sales"}))["token"]
    chat = visit.chats.chat(token)
    visit.chats.operator_says(chat.guest, "ann", "Hello")
    answered = []
    visit.http.get(f"http://mcc.test/api/chats/{token}/events?after=2").addCallback(answered.append)
    visit.http.flush()
    response = visit.request("POST", f"/api/chats/{token}/messages", {"text": "Mine"})
    assert visit.json(response) == {"seq": 3, "follows": 2}
    visit.http.flush()
    assert answered == []
    # What the visitor has shown already, up to its own message, is not news.
    waiting = []
    visit.http.get(f"http://mcc.test/api/chats/{token}/events?after=3").addCallback(waiting.append)
    visit.http.flush()
    assert waiting == []
    visit.chats.operator_says(chat.guest, "ann", "Yours")
    visit.http.flush()
    events = visit.json(answered[0])["events"]
    assert [(e["seq"], e["from"], e["text"]) for e in events] == [
        (3, "visitor", "Mine"), (4, "operator", "Yours")
    ]
    assert [e["seq"] for e in visit.json(waiting[0])["events"]] == [4]


def test_a_message_posted_before_news_reached_the_visitor_follows_that_news(visit):
    visit.availability.resource_available("ann", "desk")
    token = visit.json(visit.request("POST", "/api/chats", {"queue": "sales", "question": "Hi?"}))["token"]
    chat = visit.chats.chat(token)
    visit.chats.operator_says(chat.guest, "ann", "Hello", ref="r1", wants=("received",))
    # 1 the question, 2 picked up, 3 the operator's message, 4 internal.
    response = visit.request("POST", f"/api/chats/{token}/messages", {"text": "Mine", "id": "message-1"})
    assert visit.json(response) == {"seq": 5, "follows": 3}
    retried = visit.request("POST", f"/api/chats/{token}/messages", {"text": "Mine", "id": "message-1"})
    assert visit.json(retried) == {"seq": 5, "follows": 3}


def test_idle_poll_returns_empty_after_the_poll_timeout(visit):
    visit.availability.resource_available("ann", "desk")
    token = visit.json(visit.request("POST", "/api/chats", {"queue": "sales"}))["token"]
    answered = []
    visit.http.get(f"http://mcc.test/api/chats/{token}/events?after=0").addCallback(answered.append)
    visit.http.flush()
    visit.clock.advance(24)
    visit.http.flush()
    assert answered == []
    visit.clock.advance(1)
    visit.http.flush()
    assert visit.json(answered[0]) == {"events": [], "last": 0, "state": "waiting"}


def test_bad_input(visit):
    visit.availability.resource_available("ann", "desk")
    assert visit.request("GET", "/api/chats/nope/events").code == 404
    assert visit.request("POST", "/api/chats/nope/messages", {"text": "x"}).code == 404
    response = visit.request("POST", "/api/chats", raw=b"{not json")
    assert response.code == 400 and visit.json(response)["error"] == "invalid-json"
    response = visit.request("POST", "/api/chats", {"name": "no queue"})
    assert response.code == 400 and visit.json(response)["error"] == "missing-field"
    token = visit.json(visit.request("POST", "/api/chats", {"queue": "sales"}))["token"]
    response = visit.request("POST", f"/api/chats/{token}/messages", {})
    assert response.code == 400
    response = visit.request("POST", f"/api/chats/{token}/messages", {"text": "x" * 101})
    assert response.code == 413
    assert visit.json(response) == {
        "error": "too-large", "message": "'text' is limited to 100 characters", "limit": 100,
        "field": "text",
    }
    response = visit.request("POST", f"/api/chats/{token}/typing", {"state": "dancing"})
    assert response.code == 400
    response = visit.request("GET", f"/api/chats/{token}/events?after=abc")
    assert response.code == 400
    # None of that disturbed the chat.
    assert visit.chats.chat(token).state == "waiting"


def test_text_that_cannot_be_sent_is_refused(visit):
    visit.availability.resource_available("ann", "desk")
    for fields in ({"name": "E\u0001ve"}, {"question": "bell \u0007"}, {"email": "x\ud800@y.org"}):
        response = visit.request("POST", "/api/chats", dict(fields, queue="sales"))
        assert response.code == 400 and visit.json(response)["error"] == "invalid-characters"
    token = visit.json(visit.request("POST", "/api/chats", {"queue": "sales"}))["token"]
    for text in ("bad \u0001 char", "x\ud800y", "\uffff"):
        response = visit.request("POST", f"/api/chats/{token}/messages", {"text": text})
        assert response.code == 400 and visit.json(response)["error"] == "invalid-characters"
    events = visit.chats.store.chats.events_after(visit.chats.chat(token).id, 0)
    assert events == []
    assert [call for call in visit.chats.channel.calls if call[0] == "deliver"] == []


def test_one_line_fields_stay_on_one_line(visit):
    visit.availability.resource_available("ann", "desk")
    response = visit.request(
        "POST", "/api/chats",
        {"queue": "sales", "name": "Eve\nIP: 10.0.0.1", "page": "https://a.example/\r\nx"},
        headers={"User-Agent": ["Agent\x01 7"]},
    )
    chat = visit.chats.chat(visit.json(response)["token"])
    assert (chat.visitor_name, chat.page) == ("Eve IP: 10.0.0.1", "https://a.example/ x")
    assert chat.user_agent == "Agent\ufffd 7"


def test_poll_cursors_name_events_of_the_chat(visit):
    visit.availability.resource_available("ann", "desk")
    token = visit.json(visit.request("POST", "/api/chats", {"queue": "sales", "question": "Hi"}))["token"]
    for after in ("2", "-1", "99999999999999999999", "-99999999999999999999"):
        response = visit.request("GET", f"/api/chats/{token}/events?after={after}")
        assert response.code == 400, after
        assert visit.json(response)["error"] == "invalid-field"
    response = visit.request("GET", f"/api/chats/{token}/events?after=0")
    assert [e["seq"] for e in visit.json(response)["events"]] == [1]


def test_queue_and_user_together_or_undecodable_names_are_bad_requests(visit):
    visit.availability.resource_available("ann", "desk")
    response = visit.request("POST", "/api/chats", {"queue": "sales", "user": "ann"})
    assert response.code == 400 and visit.json(response)["error"] == "missing-field"
    response = visit.request("GET", "/api/availability?queue=%ff")
    assert response.code == 400 and visit.json(response)["error"] == "invalid-field"


def test_unknown_paths_and_methods_answer_json_with_cors(visit):
    for method, path, code in (
        ("GET", "/api/nonexistent", 405),
        ("POST", "/api/nonexistent", 405),
        ("GET", "/api/chats", 405),
    ):
        response = visit.request(method, path)
        assert response.code == code, (method, path)
        assert response.headers.getRawHeaders("access-control-allow-origin") == ["*"]
        assert visit.json(response)["error"] == "wrong-method"


def test_start_flood_from_one_address_gets_429(visit):
    visit.availability.resource_available("ann", "desk")
    codes = [visit.request("POST", "/api/chats", {"queue": "sales"}).code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    visit.clock.advance(61)
    assert visit.request("POST", "/api/chats", {"queue": "sales"}).code == 201


def test_preflight_allows_any_origin(visit):
    response = visit.request("OPTIONS", "/api/chats")
    assert response.code == 204
    assert response.headers.getRawHeaders("access-control-allow-origin") == ["*"]
    assert "content-type" in response.headers.getRawHeaders("access-control-allow-headers")[0]


def test_forwarded_for_counts_only_from_trusted_proxies():
    trusting = Visit(trusted_proxies=["127.0.0.0/8"])
    trusting.availability.resource_available("ann", "desk")
    headers = {"X-Forwarded-For": ["203.0.113.9, 127.0.0.2"]}
    token = trusting.json(trusting.request("POST", "/api/chats", {"queue": "sales"}, headers=headers))["token"]
    assert trusting.chats.chat(token).ip == "203.0.113.9"

    wary = Visit()
    wary.availability.resource_available("ann", "desk")
    token = wary.json(wary.request("POST", "/api/chats", {"queue": "sales"}, headers=headers))["token"]
    assert wary.chats.chat(token).ip == "127.0.0.1"


def test_the_hot_routes_neighbours_still_answer_through_klein(visit):
    visit.availability.resource_available("ann", "desk")
    token = visit.json(visit.request("POST", "/api/chats", {"queue": "sales"}))["token"]
    for method, path, code, error in (
        ("GET", f"/api/chats/{token}/messages", 405, "wrong-method"),
        ("PUT", f"/api/chats/{token}/events", 405, "wrong-method"),
        ("POST", f"/api/chats/{token}/events", 405, "wrong-method"),
        ("GET", f"/api/chats/{token}/typing", 405, "wrong-method"),
        # An escaped token is the token (Klein unescapes it).
        ("POST", f"/api/chats/{token[:4]}%74{token[5:]}/typing", 202, None),
        ("POST", "/api/chats/nope/seen", 404, "unknown-chat"),
    ):
        response = visit.request(method, path, {"state": "composing", "seq": 0})
        assert (response.code, visit.json(response).get("error")) == (code, error), (method, path)
        assert response.headers.getRawHeaders("access-control-allow-origin") == ["*"]


@asyncio_test
async def test_a_poll_is_forgotten_when_its_visitor_goes_away(visit):
    from twisted.internet import reactor

    visit.availability.resource_available("ann", "desk")
    token = visit.json(visit.request("POST", "/api/chats", {"queue": "sales"}))["token"]
    root = Resource()
    root.putChild(b"api", visit.api.app.resource())
    port = reactor.listenTCP(0, BoundedSite(root, reactor), interface="127.0.0.1")
    loop = asyncio.get_running_loop()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port.getHost().port)
        request = f"GET /api/chats/{token}/events?after=0 HTTP/1.1\r\nhost: mcc.test\r\n\r\n"
        writer.write(request.encode())
        async with asyncio.timeout(5):
            while not visit.chats._polls.count():
                await asyncio.sleep(0.01)
        writer.close()
        async with asyncio.timeout(5):
            while visit.chats._polls.count():
                await asyncio.sleep(0.01)
        # A poll answered over a socket says its length.
        reader, writer = await asyncio.open_connection("127.0.0.1", port.getHost().port)
        writer.write(request.encode())
        visit.chats.operator_says(visit.chats.chat(token).guest, "ann", "Hi")
        async with asyncio.timeout(5):
            head = await reader.readuntil(b"\r\n\r\n")
        assert b"content-length: " in head.lower() and head.startswith(b"HTTP/1.1 200")
        writer.close()
    finally:
        await defer.maybeDeferred(port.stopListening).asFuture(loop)
