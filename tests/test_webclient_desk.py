"""
Tests for L{mcc.webclient.desk} and L{mcc.routing.channels}: the numbered
feed each operator's web clients poll, and open web clients as resources.
"""

import itertools
from types import SimpleNamespace

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from mcc.routing.availability import Availability
from mcc.routing.channels import Channels
from mcc.routing.interfaces import IOperatorChannel
from mcc.webclient.desk import Behind, WebChannel, WebPresence

CHAT = SimpleNamespace(
    id=7, guest="guest.abc", state="waiting", visitor_name="Vera", visitor_email="",
    question="Hi", page="https://shop.example/", referrer="", queue="Support", target_user=None,
    created_at=0.0, operator=None, operator_name=None, protocol="web",
)


def make_channel(max_events=1000):
    clock = Clock()
    return clock, WebChannel(clock, lambda chat: [], 25.0, max_events)


def test_both_channels_implement_the_interface():
    _, channel = make_channel()
    assert verifyObject(IOperatorChannel, channel)
    assert verifyObject(IOperatorChannel, Channels(channel))


def test_the_fan_out_passes_everything_to_every_member():
    _, one = make_channel()
    _, two = make_channel()
    Channels(one, two).offer(CHAT, ["olive"], [])
    assert one.chats_of("olive") == two.chats_of("olive") == {7: "guest.abc"}


def test_a_poll_with_news_answers_at_once_and_a_cursor_resumes_without_repeats():
    _, channel = make_channel()
    channel.offer(CHAT, ["olive"], [])
    channel.deliver(CHAT, "olive", "Hello?")
    first = []
    channel.events("olive", 0).addCallback(first.append)
    assert [e["kind"] for e in first[0]] == ["offer", "message"]
    again = []
    channel.events("olive", 1).addCallback(again.append)
    assert [e["seq"] for e in again[0]] == [2]


def test_a_waiting_poll_wakes_on_the_next_event_or_times_out_empty():
    clock, channel = make_channel()
    woken = []
    channel.events("olive", 0).addCallback(woken.append)
    assert woken == []
    channel.typing(CHAT, "olive", "composing")
    assert [e["state"] for e in woken[0]] == ["composing"]
    late = []
    channel.events("olive", 1).addCallback(late.append)
    clock.advance(25)
    assert late == [[]]


def test_a_withdrawn_chat_is_no_longer_held():
    _, channel = make_channel()
    channel.offer(CHAT, ["olive", "xavier"], [])
    channel.withdraw(CHAT, ["xavier"])
    assert channel.holds("olive", 7) and not channel.holds("xavier", 7)


def test_a_cursor_older_than_what_is_kept_or_ahead_is_behind():
    _, channel = make_channel(max_events=2)
    for _ in range(3):
        channel.notify(CHAT, ["olive"], "note")
    with pytest.raises(Behind):
        channel.events("olive", 0)
    with pytest.raises(Behind):
        channel.events("olive", 4)
    assert channel.events("olive", 1).result and channel.events("olive", 1).called


def make_presence():
    clock = Clock()
    availability = Availability()
    counter = itertools.count(1)
    return clock, availability, WebPresence(availability, clock, lambda: f"id{next(counter)}", 45.0)


def test_an_open_web_client_is_a_resource_with_the_chosen_status():
    _, availability, presence = make_presence()
    client = presence.open("olive")
    assert client == "id1"
    assert availability.status("olive") == "available"
    presence.set_status("olive", "away")
    assert availability.status("olive") == "away"
    presence.set_status("olive", "offline")
    assert availability.status("olive") == "offline"
    presence.set_status("olive", "available")
    assert availability.status("olive") == "available"
    with pytest.raises(ValueError):
        presence.set_status("olive", "busy")


def test_a_web_client_that_stops_polling_goes_and_one_that_polls_stays():
    clock, availability, presence = make_presence()
    client = presence.open("olive")
    clock.advance(40)
    assert presence.seen(client, "olive")
    clock.advance(40)
    assert availability.status("olive") == "available"
    clock.advance(5)
    assert availability.status("olive") == "offline"
    assert not presence.seen(client, "olive")


def test_a_client_is_only_its_own_operators_and_sign_out_drops_them_all():
    _, availability, presence = make_presence()
    first, second = presence.open("olive"), presence.open("olive")
    assert not presence.seen(first, "xavier")
    availability.resource_available("olive", "phone")
    presence.close_user("olive")
    assert not presence.seen(second, "olive")
    assert availability.status("olive") == "available"
    availability.resource_gone("olive", "phone")
    assert availability.status("olive") == "offline"


def test_recorded_events_reach_the_operator_who_keeps_the_chat_as_what_they_are():
    _, channel = make_channel()
    active = SimpleNamespace(**{**vars(CHAT), "state": "active", "operator": "olive"})
    channel.recorded(active, "transfer_offered", {"from": "olive", "queue": None, "user": "pat", "note": "n"}, True)
    channel.recorded(active, "transfer_returned", {"to": "olive", "reason": "unanswered"}, True)
    channel.recorded(active, "transfer_taken", {"operator": "pat", "from": "olive"}, True)
    channel.recorded(active, "file", {"id": "f" * 16, "name": "a.pdf", "size": 3, "type": "application/pdf",
                                      "from": "visitor"}, False)
    channel.recorded(active, "email", {"to": "v@example.org", "status": "sent", "why": ""}, True)
    channel.recorded(active, "message", {"from": "visitor", "text": "not again"}, False)
    channel.tagged(active, "olive", ["fines"])
    got = []
    channel.events("olive", 0).addCallback(got.append)
    shown = [{k: v for k, v in e.items() if k not in ("seq", "at", "chat")} for e in got[0]]
    assert shown == [
        {"kind": "transfer", "state": "pending", "to": "pat", "note": "n"},
        {"kind": "transfer", "state": "returned", "reason": "unanswered"},
        {"kind": "transfer", "state": "taken", "by": "pat"},
        {"kind": "file", "id": "f" * 16, "name": "a.pdf", "size": 3, "type": "application/pdf", "from": "visitor"},
        {"kind": "email", "to": "v@example.org", "status": "sent", "why": ""},
        {"kind": "tags", "tags": ["fines"]},
    ]
    assert channel.cursor("pat") == 0
