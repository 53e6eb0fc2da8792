"""
What the router keeps for guests that behave like contacts: which of an
operator's messages the visitor's widget received and displayed, an
operator who types before taking a chat, and which chats each operator's
clients show.
"""

import pytest

from mcc.routing.chats import InvalidCursor, Visitor
from tests.test_routing_chats import world  # noqa: F401 (a fixture)


def taken(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "desk")
    chat = service.start(Visitor(name="Vi", question="Hello?"), queue="sales")
    service.operator_says(chat.guest, "ann", "Hi")
    service.channel.take()
    return service, chat


def test_a_later_poll_counts_as_received_each_message_once(world):
    service, chat = taken(world)
    seq = service.operator_says(chat.guest, "ann", "Which order?", "m1", ["received", "displayed"])
    quiet = service.operator_says(chat.guest, "ann", "No receipts", "m2", [])
    assert (seq, quiet) == (4, 6)  # 5: what m1 asks for, kept internal
    service.poll(chat.token, seq - 1)
    assert service.channel.take() == []
    service.poll(chat.token, seq)
    assert service.channel.take() == [("acknowledge", "ann", "m1", "received")]
    service.poll(chat.token, quiet)
    assert service.channel.take() == []
    kinds = [e.kind for e in service.store.chats.events_after(chat.id, 0, include_internal=True)]
    assert kinds.count("acknowledged") == 1
    # The visitor sees nothing of it.
    assert "acknowledged" not in [e.kind for e in service.store.chats.events_after(chat.id, 0)]


def test_displayed_implies_received_and_comes_once(world):
    service, chat = taken(world)
    seq = service.operator_says(chat.guest, "ann", "Look", "m1", ["received", "displayed"])
    marked = service.operator_says(chat.guest, "ann", "Only markable", "m2", ["displayed"])
    service.visitor_displayed(chat.token, marked)
    assert service.channel.take() == [
        ("acknowledge", "ann", "m1", "received"),
        ("acknowledge", "ann", "m1", "displayed"),
        ("acknowledge", "ann", "m2", "displayed"),
    ]
    service.visitor_displayed(chat.token, marked)
    service.poll(chat.token, marked)
    assert service.channel.take() == []
    assert seq < marked


def test_displayed_past_the_last_event_is_refused(world):
    service, chat = taken(world)
    with pytest.raises(InvalidCursor):
        service.visitor_displayed(chat.token, 99)
    with pytest.raises(InvalidCursor):
        service.visitor_displayed(chat.token, -1)


def test_typing_before_taking_shows_once_as_looking(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(name="Vi"), queue="sales")
    service.operator_typing(chat.guest, "cyd", "composing")  # not ringing for cyd
    service.operator_typing(chat.guest, "ann", "composing")
    service.operator_typing(chat.guest, "ann", "paused")
    service.operator_typing(chat.guest, "ann", "composing")
    typing = [e.data for e in service.store.chats.events_after(chat.id, 0) if e.kind == "typing"]
    assert typing == [{"from": "operator", "state": "looking"}]


def test_the_chats_each_operator_is_shown(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "desk")
    chat = service.start(Visitor(name="Vi"), queue="sales")
    assert [c.guest for c in service.shown_to("ann")] == [chat.guest]
    assert [c.guest for c in service.shown_to("bob")] == [chat.guest]
    assert service.shown_to("cyd") == []
    service.operator_says(chat.guest, "bob", "Mine")
    assert service.shown_to("ann") == []
    assert [c.guest for c in service.shown_to("bob")] == [chat.guest]
    service.operator_ends(chat.guest, "bob")
    assert service.shown_to("bob") == []


def test_an_operator_who_goes_away_is_no_longer_rung(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "desk")
    chat = service.start(Visitor(name="Vi"), queue="sales")
    service.channel.take()
    availability.resource_available("ann", "desk", "away")
    assert service.channel.take() == [("withdraw", ("ann",))]
    assert service.shown_to("ann") == []
    availability.resource_available("ann", "desk")
    assert service.channel.take() == [("offer", chat.guest, ("ann",))]
