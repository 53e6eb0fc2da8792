"""
Tests for L{mcc.admin.activity}: the Activity tab's calendar page view,
transcripts, CSV file, privacy and bulk changes, over StubTreq.
"""

import csv
import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mcc.routing.history import CSV_COLUMNS, ChatHistory
from mcc.routing.monitor import LATE_WAIT, LiveMonitor
from tests.test_admin import SITE, Page, World, done

PARIS = ZoneInfo("Europe/Paris")


def at(*parts):
    return datetime(*parts, tzinfo=PARIS).timestamp()


class ActivityWorld(World):
    def __init__(self):
        World.__init__(self)
        self.clock.advance(at(2026, 12, 2, 10))
        self.history = ChatHistory(self.store, self.clock, PARIS)
        self.site.history = self.history
        self.monitor = LiveMonitor(self.store, self.availability, self.clock, 25.0)
        self.site.monitor = self.monitor
        self.count = 0

    def chat(self, started, queue="Sales", messages=(), **fields):
        self.count += 1
        fields.setdefault("state", "closed")
        chat = self.store.chats.create(
            token=f"t{self.count}", guest=f"g-{self.count}", queue=queue, created_at=started, **fields
        )
        for kind, data in messages:
            self.store.chats.add_event(chat.id, kind, data, started + 1, internal=kind == "note")
        return chat

    def download(self, browser, path, turns=1000):
        """
        The response to C{path}, run to its end on the clock.
        """
        response = browser.stub.get(SITE + path, headers=browser.headers, allow_redirects=False)
        for _ in range(turns):
            self.clock.advance(0)
            browser.stub.flush()
        return Page(done(response))


@pytest.fixture
def world():
    made = ActivityWorld()
    yield made
    made.store.close()


def rows_of(page):
    return list(csv.reader(io.StringIO(page.text)))


def test_the_tab_shows_todays_month_and_chats_in_the_service_zone(world):
    world.chat(at(2026, 12, 2, 9, 15), visitor_name="Vera")
    world.chat(at(2026, 12, 1, 23, 30))
    page = world.admin().get("/admin/activity")
    assert page.code == 200
    assert "<h2 id=\"calendar-heading\">December 2026</h2>" in page.text
    assert 'aria-label="Wednesday 2 December 2026: 1 chat" aria-current="date"' in page.text
    assert 'aria-label="Tuesday 1 December 2026: 1 chat"' in page.text
    assert "2026-12-02 09:15 CET" in page.text
    assert "Vera" in page.text
    assert "Times in Europe/Paris." in page.text
    assert '<a href="/admin/activity" aria-current="page">Activity</a>' in page.text


def test_choosing_a_day_and_queues(world):
    world.chat(at(2026, 12, 1, 9), queue="Sales", visitor_name="Sam")
    world.chat(at(2026, 12, 1, 10), queue="Support", visitor_name="Sue")
    world.chat(at(2026, 12, 1, 11), queue="Billing", visitor_name="Bill")
    page = world.admin().get("/admin/activity?from=2026-12-01&to=2026-12-01&queue=Sales&queue=Billing")
    assert "2 chats in Sales, Billing." in page.text
    assert "Sam" in page.text and "Bill" in page.text and "Sue" not in page.text
    csv_link = re.search(r'href="(/admin/activity/chats\.csv\?[^"]+)"', page.text).group(1)
    assert csv_link == "/admin/activity/chats.csv?from=2026-12-01&amp;to=2026-12-01&amp;queue=Sales&amp;queue=Billing"


def test_a_month_of_the_calendar(world):
    world.chat(at(2026, 10, 25, 23, 30))
    page = world.admin().get("/admin/activity?month=2026-10")
    assert "October 2026" in page.text
    assert 'aria-label="Sunday 25 October 2026: 1 chat"' in page.text
    assert 'href="?from=2026-12-02&amp;to=2026-12-02&amp;month=2026-09"' in page.text


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2026-02-30", "&#39;from&#39; must be a date like 2026-12-01, not &#39;2026-02-30&#39;"),
        ("from=2026-12-03&to=2026-12-01", "The range starts (2026-12-03) after it ends (2026-12-01)"),
        ("month=12-2026", "&#39;month&#39; must be a date"),
        ("outcome=lost", "The outcome is one of answered, missed, abandoned, open"),
        ("from=9999-12-31", "&#39;from&#39; must be a date from 1970 to 9998, not &#39;9999-12-31&#39;"),
        ("month=0001-01", "&#39;month&#39; must be a date from 1970 to 9998"),
    ],
)
def test_bad_filters_are_refused_clearly(world, query, message):
    page = world.admin().get(f"/admin/activity?{query}")
    assert page.code == 400
    assert message in page.text


def test_a_chats_transcript(world):
    chat = world.chat(
        at(2026, 12, 1, 9),
        visitor_name="Vera",
        operator="olive",
        operator_name="Olive Operator",
        picked_up_at=at(2026, 12, 1, 9, 0, 5),
        closed_at=at(2026, 12, 1, 9, 10),
        ip="203.0.113.7",
        messages=[
            ("message", {"from": "visitor", "name": "Vera", "text": "<b>Hello</b>"}),
            ("picked_up", {"operator": "Olive Operator"}),
            ("note", {"operator": "peter", "text": "VIP"}),
            ("email_sent", {"to": "vera@example.org"}),
        ],
    )
    page = world.admin().get(f"/admin/activity/chats/{chat.id}")
    assert page.code == 200
    assert "Vera: &lt;b&gt;Hello&lt;/b&gt;" in page.text
    assert "Olive Operator picked up the chat." in page.text
    assert "Note by peter (not seen by the visitor): VIP" in page.text
    assert "Email sent (to: vera@example.org)" in page.text
    assert "answered" in page.text and "203.0.113.7" in page.text
    assert '<time datetime="2026-12-01T09:00:01+01:00">09:00:01</time>' in page.text
    assert world.admin().get("/admin/activity/chats/999").code == 404


def test_csv_of_a_range_and_queue_streams_every_row(world):
    for n in range(450):
        world.chat(at(2026, 12, 1, 8) + n, queue="Sales" if n % 3 else "Support", visitor_name=f"v{n}")
    world.chat(at(2026, 11, 30, 23, 59), queue="Sales")
    world.chat(at(2026, 12, 1, 9), queue="Sales", visitor_name="@evil", visitor_email="=cmd|x")
    browser = world.admin()
    page = world.download(browser, "/admin/activity/chats.csv?from=2026-12-01&to=2026-12-01&queue=Sales")
    assert page.code == 200
    assert page.header("content-type") == "text/csv; charset=utf-8"
    assert page.header("content-disposition") == 'attachment; filename="chats-2026-12-01-2026-12-01.csv"'
    rows = rows_of(page)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + 300 + 1
    assert {row[5] for row in rows[1:]} == {"Sales"}
    evil = dict(zip(rows[0], rows[-1]))
    assert (evil["visitor_name"], evil["visitor_email"]) == ("'@evil", "'=cmd|x")


def test_csv_without_queues_has_all_and_transcript_adds_the_text(world):
    world.chat(
        at(2026, 12, 1, 9), queue="Sales", messages=[("message", {"from": "visitor", "name": "V", "text": "hi"})]
    )
    world.chat(at(2026, 12, 1, 9, 5), queue="Support")
    browser = world.admin()
    rows = rows_of(world.download(browser, "/admin/activity/chats.csv?from=2026-12-01&to=2026-12-01&transcript=1"))
    assert rows[0][-1] == "transcript"
    assert [row[5] for row in rows[1:]] == ["Sales", "Support"]
    assert rows[1][-1] == "09:00:01 V: hi"


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2026-12-01&to=2026-31-12", "'to' must be a date like 2026-12-01, not '2026-31-12'\n"),
        ("from=2026-12-02&to=2026-12-01", "the range starts (2026-12-02) after it ends (2026-12-01)\n"),
    ],
)
def test_csv_with_bad_dates_is_a_clear_400(world, query, message):
    page = world.download(world.admin(), f"/admin/activity/chats.csv?{query}")
    assert page.code == 400
    assert page.header("content-type") == "text/plain; charset=utf-8"
    assert page.text == message


def test_csv_needs_an_administrator(world):
    page = world.download(world.browser(), "/admin/activity/chats.csv?from=2026-12-01")
    assert (page.code, page.location) == (303, "/admin/sign-in")


def turn(clock):
    """
    One turn of a reactor: run the calls due now, not those they schedule.
    """
    for call in [call for call in clock.getDelayedCalls() if call.getTime() <= clock.seconds()]:
        clock.calls.remove(call)
        call.called = True
        call.func(*call.args, **call.kw)


class FakeRequest:
    def __init__(self):
        self.written = []
        self.producer = None
        self.lost = False

    def loseConnection(self):
        self.lost = True

    def registerProducer(self, producer, streaming):
        assert streaming
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None

    def write(self, data):
        self.written.append(data)


def test_the_csv_stream_writes_a_batch_per_turn_and_waits_while_paused():
    from twisted.internet.task import Clock

    from mcc.admin.activity import ROWS_PER_WRITE, CSVStream

    closed = []

    def rows():
        try:
            for n in range(ROWS_PER_WRITE * 3):
                yield [str(n)]
        finally:
            closed.append(True)

    clock, request = Clock(), FakeRequest()
    stream = CSVStream(request, rows(), clock)
    finished = stream.start()
    assert request.producer is stream and request.written == []
    turn(clock)
    assert len(request.written) == 1
    stream.pauseProducing()
    turn(clock)
    assert len(request.written) == 1
    stream.resumeProducing()
    turn(clock)
    turn(clock)
    assert len(request.written) == 3
    turn(clock)
    assert done(finished) == b"" and request.producer is None
    assert b"".join(request.written).count(b"\r\n") == ROWS_PER_WRITE * 3


def test_a_stopped_csv_stream_reads_no_more():
    from twisted.internet.task import Clock

    from mcc.admin.activity import CSVStream

    closed = []

    def rows():
        try:
            yield ["a"]
            yield ["b"]
        finally:
            closed.append(True)

    clock, request = Clock(), FakeRequest()
    stream = CSVStream(request, rows(), clock)
    stream.start()
    stream.stopProducing()
    turn(clock)
    assert request.written == [] and clock.getDelayedCalls() == []


def test_privacy_settings_per_queue_and_retention(world):
    sales = world.queues.create("Sales")
    support = world.queues.create("Support")
    browser = world.admin()
    page = browser.get("/admin/activity/privacy")
    assert page.code == 200
    assert f'name="keep_{sales.id}" value="1" checked' in page.text
    page = browser.post(
        "/admin/activity/privacy",
        {f"keep_{support.id}": "1", f"ips_{sales.id}": "subnet", f"ips_{support.id}": "none", "transcript_days": "30"},
    )
    assert (page.code, page.location) == (303, "/admin/activity/privacy")
    assert "Saved what chats keep." in browser.follow().text
    assert [(q.name, keep, ips) for q, keep, ips in world.history.privacy()] == [
        ("Sales", False, "subnet"),
        ("Support", True, "none"),
    ]
    assert world.history.transcript_days() == 30
    assert 'value="30"' in browser.last.text


@pytest.mark.parametrize(
    "days, message",
    [("ten", "Keep transcripts for a whole number of days"), ("0", "Transcripts are kept from 1 to 36500 days")],
)
def test_bad_retention_is_refused_and_changes_nothing(world, days, message):
    browser = world.admin()
    browser.get("/admin/activity/privacy")
    page = browser.post("/admin/activity/privacy", {"transcript_days": days})
    assert page.code == 400
    assert message in page.text
    assert world.history.transcript_days() is None


def test_an_empty_retention_keeps_transcripts(world):
    world.history.set_transcript_days(5)
    browser = world.admin()
    browser.get("/admin/activity/privacy")
    browser.post("/admin/activity/privacy", {"transcript_days": ""})
    assert world.history.transcript_days() is None


@pytest.mark.parametrize(
    "action, verb, done_message",
    [("delete", "Delete", "Deleted 2 chats."), ("anonymise", "Anonymise", "Anonymised 2 chats.")],
)
def test_bulk_changes_say_how_many_first(world, action, verb, done_message):
    world.chat(at(2026, 12, 1, 9), visitor_name="A")
    world.chat(at(2026, 12, 1, 10), visitor_name="B")
    world.chat(at(2026, 12, 1, 11), state="active", visitor_name="C")
    world.chat(at(2026, 12, 1, 11), queue="Support", visitor_name="D")
    browser = world.admin()
    query = "from=2026-12-01&to=2026-12-01&queue=Sales"
    page = browser.get(f"/admin/activity/bulk?action={action}&{query}")
    assert page.code == 200
    assert f"{verb} 2 chats?" in page.text
    assert world.store.chats.by_id(1).visitor_name == "A"
    form = r'<form method="post" action="/admin/activity/bulk\?' + re.escape(query.replace("&", "&amp;"))
    assert re.search(form, page.text)
    page = browser.post(f"/admin/activity/bulk?{query}", {"action": action})
    assert (page.code, page.location) == (303, f"/admin/activity?{query}")
    assert done_message in browser.follow().text
    names = {chat.visitor_name for chat in map(world.store.chats.by_id, range(1, 5)) if chat}
    assert names == ({"C", "D"} if action == "delete" else {"", "C", "D"})


def test_bulk_posts_need_the_token(world):
    world.chat(at(2026, 12, 1, 9))
    browser = world.admin()
    browser.get("/admin/activity/bulk?action=delete&from=2026-12-01")
    page = browser.post("/admin/activity/bulk?from=2026-12-01", {"action": "delete"}, csrf="0" * 32)
    assert page.code == 403
    assert world.store.chats.by_id(1) is not None
    assert browser.get("/admin/activity/bulk?action=shred").code == 404


def test_every_field_of_the_tab_has_a_label(world):
    world.queues.create("Sales")
    browser = world.admin()
    for path in ("/admin/activity", "/admin/activity/privacy"):
        text = browser.get(path).text
        for match in re.finditer(r"<(?:input|select)\b[^>]*>", text):
            if 'type="hidden"' in match.group(0):
                continue
            field_id = re.search(r'id="([^"]+)"', match.group(0))
            before = text[: match.start()]
            inside_label = before.rfind("<label") > before.rfind("</label>")
            assert inside_label or (field_id and f'<label for="{field_id.group(1)}"' in text), (path, match.group(0))


def test_the_live_monitor_shows_queues_operators_and_chats(world):
    sales = world.queues.create("Sales")
    world.queues.assign(sales.id, ["olive"])
    world.availability.resource_available("olive", "desk")
    world.chat(world.clock.seconds() - LATE_WAIT - 5, state="waiting", visitor_name="Vera")
    world.chat(
        world.clock.seconds() - 200,
        state="active",
        visitor_name="Walt",
        operator="olive",
        operator_name="Olive Operator",
        picked_up_at=world.clock.seconds() - 125,
        messages=[("message", {"from": "visitor", "text": "hi"})],
    )
    page = world.admin().get("/admin/activity/live")
    assert page.code == 200
    assert "1 waiting, 1 active" in page.text
    assert "Olive Operator <span class=\"item-detail\">1 chat</span>" in page.text
    assert re.search(r'<tr class="waiting late" data-chat="1">', page.text)
    assert "waiting long" in page.text
    assert "1 min 05 s" in page.text and "2 min 05 s" in page.text
    assert re.search(r'<time datetime="2026-12-02T09:56:41\+01:00">09:56:41</time>', page.text)


def test_the_live_monitor_answers_a_poll_when_a_chat_changes(world):
    world.queues.create("Sales")
    browser = world.admin()
    version = world.monitor.version
    pending = browser.stub.get(f"{SITE}/admin/activity/live.json?after={version}", allow_redirects=False)
    browser.stub.flush()
    heard = []
    pending.addCallback(lambda response: heard.append(response) or response)
    assert heard == []
    world.chat(world.clock.seconds(), state="waiting", visitor_name="Vera")
    world.monitor.chat_changed(None)
    browser.stub.flush()
    answer = json.loads(Page(done(pending)).text)
    assert answer["version"] == version + 1
    assert "Vera" in answer["html"] and "1 waiting, 0 active" in answer["html"]


def test_an_open_chats_transcript_follows_it(world):
    chat = world.chat(world.clock.seconds(), state="active", visitor_name="Vera")
    browser = world.admin()
    page = browser.get(f"/admin/activity/chats/{chat.id}")
    assert f'data-live="/admin/activity/chats/{chat.id}/live.json"' in page.text
    assert "this transcript is read-only" in page.text
    pending = browser.stub.get(f"{SITE}/admin/activity/chats/{chat.id}/live.json?after=0", allow_redirects=False)
    world.store.chats.add_event(chat.id, "message", {"from": "visitor", "name": "Vera", "text": "still there?"}, 1)
    world.monitor.chat_changed(chat)
    browser.stub.flush()
    answer = json.loads(Page(done(pending)).text)
    assert "Vera: still there?" in answer["html"]
    assert browser.get("/admin/activity/chats/999/live.json?after=0").code == 404


def test_live_polls_do_not_keep_a_session_alive(world):
    from tests.test_admin import SESSION_TIMEOUT

    chat = world.chat(world.clock.seconds(), state="active")
    browser = world.admin()
    world.clock.advance(SESSION_TIMEOUT - 1)
    assert browser.get("/admin/activity/live.json").code == 200
    assert browser.get(f"/admin/activity/chats/{chat.id}/live.json").code == 200
    world.clock.advance(1)
    assert browser.get("/admin/activity/live.json").location == "/admin/sign-in"
    assert browser.get("/admin/activity").location == "/admin/sign-in"


def test_the_first_and_last_months_have_no_way_further(world):
    page = world.admin().get("/admin/activity?month=1970-01")
    assert page.code == 200 and "Previous month" not in page.text and "Next month" in page.text
    page = world.admin().get("/admin/activity?month=9998-12")
    assert page.code == 200 and "Next month" not in page.text


def test_a_csv_stream_that_fails_half_way_cuts_the_connection():
    from twisted.internet.task import Clock

    from mcc.admin.activity import CSVStream

    def rows():
        yield ["id"]
        raise RuntimeError("the disk is gone")

    clock, request = Clock(), FakeRequest()
    finished = CSVStream(request, rows(), clock).start()
    clock.advance(0)
    assert request.lost and request.producer is None and request.written == []
    assert not finished.called


class ThreadCalls:
    """
    A C{run_in_thread} whose calls wait until the test runs them, in order.
    """

    def __init__(self):
        self.calls = []

    def __call__(self, function, *args):
        from twisted.internet import defer

        waiting = defer.Deferred()
        self.calls.append((waiting, function, args))
        return waiting

    def run_next(self):
        waiting, function, args = self.calls.pop(0)
        try:
            result = function(*args)
        except Exception as problem:
            waiting.errback(problem)
        else:
            waiting.callback(result)


def test_a_threaded_csv_stream_reads_a_chunk_per_call_and_waits_while_paused():
    from twisted.internet.task import Clock

    from mcc.admin.activity import ROWS_PER_CHUNK, CSVStream

    run = ThreadCalls()
    request = FakeRequest()
    rows = ([str(n)] for n in range(ROWS_PER_CHUNK + 3))
    finished = CSVStream(request, rows, Clock(), run).start()
    assert len(run.calls) == 1 and request.written == []
    stream = request.producer
    stream.pauseProducing()
    run.run_next()
    # What was read is written; nothing more is read while paused.
    assert len(request.written) == 1 and run.calls == []
    assert request.written[0].count(b"\r\n") == ROWS_PER_CHUNK
    stream.resumeProducing()
    run.run_next()
    assert request.written[1] == b"".join(f"{n}\r\n".encode() for n in range(ROWS_PER_CHUNK, ROWS_PER_CHUNK + 3))
    run.run_next()
    assert done(finished) == b"" and request.producer is None and run.calls == []


def test_a_threaded_csv_stream_stopped_while_reading_closes_its_rows_once_read():
    from twisted.internet.task import Clock

    from mcc.admin.activity import CSVStream

    closed = []

    def rows():
        try:
            while True:
                yield ["a"]
        finally:
            closed.append(True)

    run = ThreadCalls()
    request = FakeRequest()
    CSVStream(request, rows(), Clock(), run).start()
    request.producer.stopProducing()
    assert closed == []
    run.run_next()
    assert closed == [True] and request.written == [] and run.calls == []


def test_a_threaded_csv_stream_that_fails_cuts_the_connection():
    from twisted.internet.task import Clock

    from mcc.admin.activity import CSVStream

    def rows():
        yield ["id"]
        raise RuntimeError("the disk is gone")

    run = ThreadCalls()
    request = FakeRequest()
    finished = CSVStream(request, rows(), Clock(), run).start()
    run.run_next()
    assert request.lost and request.producer is None and request.written == []
    assert not finished.called and run.calls == []


class Intervening:
    """
    A chat service and its operations on the world's store, for the admin
    to transfer and end chats through.
    """

    def __init__(self, world):
        from mcc.routing.chats import ChatService, Timeouts
        from mcc.routing.operations import ChatOperations
        from tests.test_routing_chats import RecordingChannel

        tokens = (f"{n:02d}" * 12 for n in range(100))
        self.channel = RecordingChannel()
        self.chats = ChatService(
            world.store, world.availability, world.queues.operators_of, world.clock,
            lambda: next(tokens), Timeouts(answer=60, visitor=900, poll=25, reconnect=30), self.channel,
        )
        world.site.operations = ChatOperations(world.store, self.chats, world.clock)
        world.accounts.add("peter", "peter-pw", display_name="Peter Operator")
        sales, support = world.queues.create("Sales"), world.queues.create("Support")
        world.queues.assign(sales.id, ["olive"])
        world.queues.assign(support.id, ["peter"])
        world.availability.resource_available("olive", "desk")
        world.availability.resource_available("peter", "desk")

    def start(self, queue="Sales"):
        from mcc.routing.chats import Visitor

        return self.chats.start(Visitor(name="Vera", question="hello", ip="203.0.113.7"), queue=queue)


@pytest.fixture
def intervening(world):
    return Intervening(world)


def test_the_monitor_leads_to_transferring_a_waiting_chat_to_another_queue(world, intervening):
    chat = intervening.start()
    browser = world.admin()
    live = browser.get("/admin/activity/live")
    assert f'href="/admin/activity/chats/{chat.id}/intervene"' in live.text
    page = browser.get(f"/admin/activity/chats/{chat.id}/intervene")
    assert page.code == 200
    assert re.findall(r'<option value="([^"]+)"', page.text) == ["queue:Support", "user:olive", "user:peter"]
    page = browser.post(
        f"/admin/activity/chats/{chat.id}/transfer", {"target": "queue:Support", "note": "Billing question"}
    )
    assert (page.code, page.location) == (303, "/admin/activity/live")
    assert f"Transferring chat {chat.id} to Support." in browser.follow().text
    moved = world.store.chats.by_id(chat.id)
    assert (moved.queue, moved.state) == ("Support", "waiting")
    events = world.store.chats.events_after(chat.id, 0, include_internal=True)
    transferred = [e.data for e in events if e.kind == "transferred"]
    assert transferred == [{"from_queue": "Sales", "to_queue": "Support", "from_operator": None, "to_operator": None}]
    assert ("offer", chat.guest, ("peter",)) in intervening.channel.calls


def test_an_admin_transfers_an_active_chat_to_an_operator_and_ends_another(world, intervening):
    chat = intervening.start()
    intervening.chats.operator_says(chat.guest, "olive", "Hi")
    browser = world.admin()
    browser.get(f"/admin/activity/chats/{chat.id}/intervene")
    page = browser.post(f"/admin/activity/chats/{chat.id}/transfer", {"target": "user:peter"})
    assert page.code == 303
    assert intervening.chats.transfer_offered(chat.id) == {"peter"}
    other = intervening.start()
    browser.get(f"/admin/activity/chats/{other.id}/intervene")
    page = browser.post(f"/admin/activity/chats/{other.id}/end", {})
    assert (page.code, page.location) == (303, "/admin/activity/live")
    ended = world.store.chats.by_id(other.id)
    assert (ended.state, ended.closed_by) == ("closed", "admin")


def test_refused_interventions_say_why_and_change_nothing(world, intervening):
    chat = intervening.start()
    browser = world.admin()
    browser.get(f"/admin/activity/chats/{chat.id}/intervene")
    world.availability.resource_gone("peter", "desk")
    page = browser.post(f"/admin/activity/chats/{chat.id}/transfer", {"target": "queue:Support"})
    assert page.code == 409
    assert "Nobody is available at Support now." in page.text
    page = browser.post(f"/admin/activity/chats/{chat.id}/transfer", {"target": "nowhere"})
    assert page.code == 400 and "Choose where the chat goes." in page.text
    page = browser.post(f"/admin/activity/chats/{chat.id}/transfer", {"target": "queue:Support"}, csrf="0" * 32)
    assert page.code == 403
    assert world.store.chats.by_id(chat.id).queue == "Sales"
    intervening.chats.visitor_ends(chat.token)
    page = browser.get(f"/admin/activity/chats/{chat.id}/intervene")
    assert page.code == 409 and "This chat has ended." in page.text and "End the chat" not in page.text
    page = browser.post(f"/admin/activity/chats/{chat.id}/end", {})
    assert page.code == 409 and "This chat has ended." in page.text
    assert browser.get("/admin/activity/chats/999/intervene").code == 404


def test_without_operations_there_is_no_way_to_intervene(world):
    chat = world.chat(world.clock.seconds(), state="waiting")
    browser = world.admin()
    assert "Transfer or end" not in browser.get("/admin/activity/live").text
    assert browser.get(f"/admin/activity/chats/{chat.id}/intervene").code == 404


def test_the_tag_filter_and_the_pages_of_a_chat(world):
    tagged = world.chat(at(2026, 12, 1, 9), visitor_name="Vera", page="https://shop.example/cart", referrer="https://search.example/")
    world.chat(at(2026, 12, 1, 10), visitor_name="Walt")
    world.store.tags.add_to_chat(tagged.id, "Refund", "refund", "olive", 1)
    browser = world.admin()
    page = browser.get("/admin/activity?from=2026-12-01&tag=refund")
    assert '<option selected>Refund</option>' in page.text
    assert "Vera" in page.text and "Walt" not in page.text
    page = browser.get(f"/admin/activity/chats/{tagged.id}")
    assert "<dt>Page</dt><dd>https://shop.example/cart</dd>" in page.text
    assert "<dt>Came from</dt><dd>https://search.example/</dd>" in page.text
    assert "<dt>Tags</dt><dd>Refund</dd>" in page.text


def test_the_monitor_renders_again_only_the_queues_that_changed():
    from mcc.admin.activity import LiveSections, fresh_section
    from mcc.admin.pages import Pages
    from mcc.routing.monitor import LiveChat, LiveQueue, Snapshot, elapsed

    rendered = []

    class Counting(Pages):
        def render(self, template, **context):
            if "queue" in context:
                rendered.append(context["queue"].name)
            return Pages.render(self, template, **context)

    pages, sections = Counting(), LiveSections()
    context = {"local": lambda seconds: None, "elapsed": elapsed, "intervene": True}

    def chat(number, state="active"):
        return LiveChat(number, f"visitor {number}", "q", "Olive", "web", state, 990.0, None)

    def answer(now, *queues):
        snapshot = Snapshot(1, now, list(queues), 60.0)
        section = sections.renderer(pages, snapshot, **context)
        return pages.render("activity/_live.html", snapshot=snapshot, section=section, **context)

    first = answer(1000.0, LiveQueue("a", [], [chat(1)]), LiveQueue("b", [], [chat(2, "waiting")]))
    assert rendered == ["a", "b"]
    again = answer(1000.0, LiveQueue("a", [], [chat(1)]), LiveQueue("b", [], [chat(2, "waiting")]))
    assert again == first and rendered == ["a", "b"]
    # A chat taken: its queue only.
    taken = answer(1000.0, LiveQueue("a", [], [chat(1)]), LiveQueue("b", [], [chat(2)]))
    assert rendered == ["a", "b", "b"] and b'data-chat="2"' in taken and taken != first
    # A waiting chat that now stands out is a change too.
    del rendered[:]
    answer(1000.0, LiveQueue("a", [], [chat(1)]), LiveQueue("b", [], [chat(2, "waiting")]))
    late = answer(1100.0, LiveQueue("a", [], [chat(1)]), LiveQueue("b", [], [chat(2, "waiting")]))
    assert rendered == ["b", "b"] and b"waiting long" in late
    # Without the kept queues, each is rendered afresh.
    snapshot = Snapshot(1, 1000.0, [LiveQueue("a", [], [chat(1)])], 60.0)
    assert fresh_section(pages, snapshot, snapshot.queues[0], 1, **context) in first.decode("utf-8")
