"""
Tests for L{mcc.routing.chats}: the chat lifecycle, driven by a Clock.
"""

import itertools

import pytest
from twisted.internet.task import Clock
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mcc.routing.availability import Availability
from mcc.routing.chats import (
    ChatOver,
    ChatService,
    Timeouts,
    Unavailable,
    UnknownChat,
    UnknownTarget,
    Visitor,
    sendable,
)
from mcc.routing.interfaces import IOperatorChannel
from mcc.store import Store, UsernameError


@implementer(IOperatorChannel)
class RecordingChannel:
    def __init__(self):
        self.calls = []

    def offer(self, chat, operators, transcript):
        self.calls.append(("offer", chat.guest, tuple(operators)))
        if transcript:
            self.calls.append(("transcript", tuple(operators), texts(transcript)))

    def resume(self, chat, operator, missed):
        self.calls.append(("resume", operator, texts(missed)))

    def deliver(self, chat, operator, text):
        self.calls.append(("deliver", operator, text))

    def typing(self, chat, operator, state):
        self.calls.append(("typing", operator, state))

    def notify(self, chat, operators, text):
        self.calls.append(("notify", tuple(operators), text))

    def withdraw(self, chat, operators):
        self.calls.append(("withdraw", tuple(operators)))

    def acknowledge(self, chat, operator, ref, how):
        self.calls.append(("acknowledge", operator, ref, how))

    def take(self):
        calls, self.calls = self.calls, []
        return calls


def texts(events):
    return tuple(event.data["text"] for event in events)


QUEUES = {"sales": ["ann", "bob", "cyd"]}


@pytest.fixture
def world():
    store = Store.open(":memory:")
    for name in ("ann", "bob", "cyd"):
        store.users.add(name, "pw", now=0, display_name=name.title())
    clock = Clock()
    availability = Availability()
    counter = itertools.count()
    service = ChatService(
        store,
        availability,
        QUEUES.__getitem__,
        clock,
        lambda: f"{next(counter):04d}tok" + "x" * 28,
        Timeouts(answer=60, visitor=90, poll=25, reconnect=20),
    )
    service.channel = RecordingChannel()
    service.startService()
    return service, availability, clock


def kinds(events):
    return [(event.kind, event.data) for event in events]


def test_channel_fake_provides_the_interface():
    assert verifyObject(IOperatorChannel, RecordingChannel())


def test_unavailable_queue_refuses_a_chat(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk", "away")
    assert not service.is_available(queue="sales")
    with pytest.raises(Unavailable):
        service.start(Visitor(name="Vi"), queue="sales")
    with pytest.raises(UnknownTarget):
        service.start(Visitor(), queue="nonesuch")


def test_ring_all_first_answer_takes_it_the_other_is_told(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "phone", "chat")
    chat = service.start(Visitor(name="Vi", question="Hello?"), queue="sales")
    assert service.channel.take() == [("offer", chat.guest, ("ann", "bob"))]

    service.operator_says(chat.guest, "bob", "Hi, Bob here")
    service.operator_says(chat.guest, "ann", "Hi, Ann here")
    calls = service.channel.take()
    assert ("notify", ("ann",), "Bob picked up this chat.") in calls
    assert ("withdraw", ("ann",)) in calls
    assert ("notify", ("ann",), "Bob has this chat; the visitor did not see your message.") in calls

    events = service.poll(chat.token, 0).result
    assert kinds(events) == [
        ("message", {"from": "visitor", "name": "Vi", "text": "Hello?"}),
        ("picked_up", {"operator": "Bob"}),
        ("message", {"from": "operator", "name": "Bob", "text": "Hi, Bob here"}),
    ]
    all_events = service.store.chats.events_after(chat.id, 0, include_internal=True)
    assert all_events[-1].kind == "note" and all_events[-1].data["operator"] == "ann"


def test_poll_waits_for_the_next_event_and_times_out_empty(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(), queue="sales")
    waiting = service.poll(chat.token, 0)
    assert not waiting.called
    service.operator_says(chat.guest, "ann", "hello")
    assert [e.kind for e in waiting.result] == ["picked_up"]
    assert [e.kind for e in service.poll(chat.token, 1).result] == ["message"]

    idle = service.poll(chat.token, 2)
    clock.advance(25)
    assert idle.result == []
    again = service.poll(chat.token, 0)
    assert [e.seq for e in again.result] == [1, 2]


def test_visitor_messages_reach_the_operator_and_typing_both_ways(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(name="Vi"), queue="sales")
    service.operator_says(chat.guest, "ann", "hello")
    service.channel.take()
    seq = service.visitor_says(chat.token, "my order is late")
    service.visitor_typing(chat.token, "composing")
    service.operator_typing(chat.guest, "ann", "composing")
    assert service.channel.take() == [
        ("deliver", "ann", "my order is late"),
        ("typing", "ann", "composing"),
    ]
    events = service.poll(chat.token, seq).result
    assert kinds(events) == [("typing", {"from": "operator", "state": "composing"})]


def test_nobody_answers_in_time_the_chat_is_missed(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(), queue="sales")
    service.channel.take()
    clock.advance(59)
    assert service.chat(chat.token).state == "waiting"
    service.poll(chat.token, 0)
    clock.advance(1)
    assert service.chat(chat.token).state == "missed"
    assert service.channel.take() == [
        ("notify", ("ann",), "Nobody answered this chat in time."),
        ("withdraw", ("ann",)),
    ]
    with pytest.raises(ChatOver):
        service.visitor_says(chat.token, "anyone?")


def test_operator_gone_for_good_hands_the_chat_back_to_the_queue(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "phone")
    chat = service.start(Visitor(question="Where is my order?"), queue="sales")
    service.operator_says(chat.guest, "ann", "hello")
    service.channel.take()
    availability.resource_gone("ann", "desk")
    service.visitor_says(chat.token, "still there?")
    assert service.channel.take() == [("deliver", "ann", "still there?")]
    clock.advance(19)
    assert service.chat(chat.token).state == "active"
    clock.advance(1)
    assert service.chat(chat.token).state == "waiting"
    # Bob joins a conversation under way: he gets what was said after the
    # question, which the offer's summary carries.
    assert service.channel.take() == [
        ("offer", chat.guest, ("bob",)),
        ("transcript", ("bob",), ("hello", "still there?")),
    ]
    service.operator_says(chat.guest, "bob", "I'll take over")
    events = service.poll(chat.token, 0).result
    assert [e.kind for e in events] == [
        "message", "picked_up", "message", "message", "requeued", "picked_up", "message",
    ]
    assert events[4].data == {"operator": "Ann"}


def test_operator_back_in_time_keeps_the_chat_and_gets_what_was_missed(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "phone")
    chat = service.start(Visitor(), queue="sales")
    service.operator_says(chat.guest, "ann", "hello")
    service.visitor_says(chat.token, "seen by Ann")
    service.channel.take()
    availability.resource_gone("ann", "desk")
    service.visitor_says(chat.token, "are you there?")
    assert service.channel.take() == [("deliver", "ann", "are you there?")]
    clock.advance(19)
    availability.resource_available("ann", "desk")
    assert service.channel.take() == [("resume", "ann", ("are you there?",))]
    clock.advance(60)
    assert service.chat(chat.token).state == "active"
    assert service.chat(chat.token).operator == "ann"
    assert service.channel.take() == []


def test_only_the_queue_operators_may_write_to_a_chat(world):
    service, availability, _ = world
    service.store.users.add("eve", "pw", now=0)
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(), queue="sales")
    service.operator_says(chat.guest, "eve", "mine now")
    assert service.chat(chat.token).state == "waiting"
    service.operator_says(chat.guest, "ann", "hello")
    service.channel.take()
    service.operator_says(chat.guest, "eve", "who has it?")
    assert service.channel.take() == [("notify", ("eve",), "This chat is not for you.")]
    internal = service.store.chats.events_after(chat.id, 0, include_internal=True)
    assert [e.kind for e in internal] == ["picked_up", "message"]


def test_a_poll_answered_at_once_shows_the_visitor_is_there(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(), queue="sales")
    service.operator_says(chat.guest, "ann", "hello")
    for _ in range(20):
        service.operator_typing(chat.guest, "ann", "composing")
        clock.advance(5)
        assert service.poll(chat.token, 0).called
    assert service.chat(chat.token).state == "active"


def test_operator_who_becomes_available_is_offered_waiting_chats(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(), queue="sales")
    service.channel.take()
    availability.resource_available("cyd", "tablet")
    availability.resource_available("ann", "phone")
    assert service.channel.take() == [("offer", chat.guest, ("cyd",))]


def test_visitor_ends_or_goes_silent(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    first = service.start(Visitor(), queue="sales")
    service.operator_says(first.guest, "ann", "hi")
    service.channel.take()
    service.visitor_ends(first.token)
    assert service.chat(first.token).state == "closed"
    assert service.channel.take() == [
        ("notify", ("ann",), "The visitor ended the chat."),
        ("withdraw", ("ann",)),
    ]
    second = service.start(Visitor(), queue="sales")
    service.operator_says(second.guest, "ann", "hi")
    clock.advance(89)
    assert service.chat(second.token).state == "active"
    clock.advance(1)
    assert service.chat(second.token).state == "closed"
    assert service.chat(second.token).closed_by == "timeout"


def test_operator_ends_the_chat(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(), queue="sales")
    service.operator_says(chat.guest, "ann", "hi")
    service.operator_ends(chat.guest, "bob")
    assert service.chat(chat.token).state == "active"
    service.operator_ends(chat.guest, "ann")
    assert service.poll(chat.token, 2).result[-1].data == {"by": "operator"}


def test_end_as_the_first_word_ends_a_waiting_chat(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "phone")
    chat = service.start(Visitor(), queue="sales")
    service.channel.take()
    service.operator_ends(chat.guest, "ann")
    ended = service.chat(chat.token)
    assert (ended.state, ended.operator, ended.closed_by) == ("closed", "ann", "operator")
    assert service.channel.take() == [
        ("notify", ("bob",), "Ann picked up this chat."),
        ("withdraw", ("bob",)),
        ("withdraw", ("ann",)),
    ]
    assert kinds(service.poll(chat.token, 0).result)[-1] == ("ended", {"by": "operator"})


def test_end_from_someone_who_cannot_end_it_says_why(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "phone")
    chat = service.start(Visitor(), queue="sales")
    service.operator_says(chat.guest, "ann", "hi")
    service.channel.take()
    service.operator_ends(chat.guest, "bob")
    service.operator_ends(chat.guest, "eve")
    assert service.channel.take() == [
        ("notify", ("bob",), "Ann has this chat; only they can end it."),
        ("notify", ("eve",), "This chat is not for you."),
    ]
    service.operator_ends(chat.guest, "ann")
    service.channel.take()
    service.operator_ends(chat.guest, "ann")
    assert service.channel.take() == [("notify", ("ann",), "This chat has ended already.")]


def test_unknown_tokens_and_guests(world):
    service, _, _ = world
    with pytest.raises(UnknownChat):
        service.poll("nope", 0)
    with pytest.raises(UnknownChat):
        service.operator_says("guest.nope", "ann", "hi")


def test_stopping_keeps_chats_and_starting_again_resumes_them(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    active = service.start(Visitor(), queue="sales")
    service.operator_says(active.guest, "ann", "hi")
    waiting = service.start(Visitor(), queue="sales")
    poll = service.poll(active.token, 2)
    service.stopService()
    assert poll.result == []
    availability.resource_gone("ann", "desk")
    assert service.chat(active.token).state == "active"
    assert clock.getDelayedCalls() == []

    service.channel.take()
    clock.advance(45)
    service.startService()
    availability.resource_available("ann", "desk")
    assert service.channel.take() == [("resume", "ann", ()), ("offer", waiting.guest, ("ann",))]
    # The waiting chat rings for the rest of its answer time.
    clock.advance(15)
    assert service.chat(waiting.token).state == "missed"
    clock.advance(75)
    assert service.chat(active.token).state == "closed"


def test_after_a_restart_an_operator_who_does_not_return_hands_the_chat_back(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(), queue="sales")
    service.operator_says(chat.guest, "ann", "hi")
    service.stopService()
    availability.resource_gone("ann", "desk")
    service.startService()
    availability.resource_available("bob", "phone")
    service.channel.take()
    clock.advance(20)
    assert service.chat(chat.token).state == "waiting"
    assert service.channel.take() == [
        ("offer", chat.guest, ("bob",)),
        ("transcript", ("bob",), ("hi",)),
    ]


def test_chat_for_one_user(world):
    service, availability, _ = world
    with pytest.raises(Unavailable):
        service.start(Visitor(), user="cyd")
    availability.resource_available("cyd", "desk")
    chat = service.start(Visitor(), user="cyd")
    assert service.channel.take() == [("offer", chat.guest, ("cyd",))]
    with pytest.raises(UnknownTarget):
        service.start(Visitor(), user="zed")


def test_no_account_can_have_a_guest_name(world):
    service, _, _ = world
    with pytest.raises(UsernameError):
        service.store.users.add("Guest.7", "pw", now=0)
    chat_guest = service.store.users.find("guest.7")
    assert chat_guest is None


def test_text_from_elsewhere_is_made_sendable():
    assert sendable("tab\tline\nA\x01B\ud800C\uffff😀") == "tab\tline\nA\ufffdB\ufffdC\ufffd😀"


def test_taking_a_chat_without_a_word_and_others_trying_after(world):
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "web-x")
    chat = service.start(Visitor(name="Vi", question="Hello?"), queue="sales")
    service.channel.take()
    assert service.operator_takes(chat.guest, "bob") is True
    assert service.channel.take() == [
        ("notify", ("ann",), "Bob picked up this chat."), ("withdraw", ("ann",)),
    ]
    assert service.operator_takes(chat.guest, "ann") is False
    assert service.channel.take() == [("notify", ("ann",), "Bob has this chat.")]
    assert service.operator_takes(chat.guest, "eve") is False
    assert service.channel.take() == [("notify", ("eve",), "This chat is not for you.")]
    assert service.by_id(chat.id).operator == "bob"
    assert texts(service.transcript(chat)) == ("Hello?",)
    service.operator_says(chat.guest, "bob", "Hi")
    assert texts(service.transcript(chat)) == ("Hello?", "Hi")
    with pytest.raises(UnknownChat):
        service.by_id(chat.id + 1)


class CountedReads:
    """
    The store's chats, counting the reads of a chat's row and of its events.
    """

    def __init__(self, chats):
        self._chats = chats
        self.reads = 0

    def __getattr__(self, name):
        found = getattr(self._chats, name)
        if name in ("by_token", "by_guest", "by_id", "last_seq", "events_after", "visible_before"):
            def counted(*args, **kwargs):
                self.reads += 1
                return found(*args, **kwargs)
            return counted
        return found


def test_an_open_chat_is_kept_in_memory_and_follows_every_write(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    availability.resource_available("bob", "desk")
    chat = service.start(Visitor(question="Hi?"), queue="sales")
    service.store.chats = counted = CountedReads(service.store.chats)
    try:
        for _ in range(3):
            assert service.chat(chat.token).state == "waiting"
            assert service.by_guest(chat.guest) is service.chat(chat.token)
            service.visitor_says(chat.token, "More")
            service.visitor_typing(chat.token, "composing")
            service.poll(chat.token, service.visitor_posts(chat.token, "Again").seq).cancel()
        assert counted.reads == 0
        service.operator_says(chat.guest, "bob", "Bob here")
        assert (service.chat(chat.token).state, service.chat(chat.token).operator) == ("active", "bob")
        availability.resource_gone("bob", "desk")
        clock.advance(20)
        assert service.chat(chat.token).state == "waiting"
        service.operator_says(chat.guest, "ann", "Ann here")
        assert service.chat(chat.token).operator == "ann"
        service.visitor_ends(chat.token)
        assert service.chat(chat.token).state == "closed"
    finally:
        service.store.chats = counted._chats
    assert service.store.chats.by_token(chat.token).state == "closed"


def test_a_visitors_own_message_does_not_wake_its_poll(world):
    service, availability, clock = world
    availability.resource_available("ann", "desk")
    chat = service.start(Visitor(), queue="sales")
    service.operator_says(chat.guest, "ann", "Hello")
    waiting = service.poll(chat.token, 2)
    posted = service.visitor_posts(chat.token, "Mine")
    assert (posted.seq, posted.follows) == (3, 2)
    assert not waiting.called
    service.operator_says(chat.guest, "ann", "Yours", ref="r", wants=("received",))
    assert [(e.seq, e.data["text"]) for e in waiting.result] == [(3, "Mine"), (4, "Yours")]
    # What is kept in memory is what the store says after a restart.
    service.stopService()
    service.startService()
    assert service.visitor_posts(chat.token, "Again").follows == 4
    service.channel.take()
    service.poll(chat.token, 6)
    assert service.channel.take() == [("acknowledge", "ann", "r", "received")]
    service.visitor_displayed(chat.token, 6)
    service.poll(chat.token, 6)
    assert service.channel.take() == []


def test_a_login_reads_only_the_chats_it_can_change(world):
    # Every presence change used to read every chat under way: a flood of
    # logins cost each one a pass over thousands of chats.
    service, availability, _ = world
    availability.resource_available("ann", "desk")
    held = service.start(Visitor(), queue="sales")
    service.operator_says(held.guest, "ann", "hello")
    ringing = service.start(Visitor(), queue="sales")
    service.channel.take()

    def unfinished():
        raise AssertionError("every unfinished chat read")

    service.store.chats.unfinished = unfinished
    service.store.users.add("dan", "pw", now=0)
    availability.resource_available("dan", "laptop")
    availability.resource_gone("dan", "laptop")
    assert service.channel.take() == []
    availability.resource_available("bob", "phone")
    assert service.channel.take() == [("offer", ringing.guest, ("bob",))]
    assert [chat.id for chat in service.shown_to("bob")] == [ringing.id]
    assert [chat.id for chat in service.shown_to("ann")] == [held.id, ringing.id]
    availability.resource_available("bob", "phone", "away")
    assert service.channel.take() == [("withdraw", ("bob",))]
    availability.resource_gone("ann", "desk")
    assert service.channel.take() == [("withdraw", ("ann",))]
    availability.resource_available("ann", "desk")
    assert service.channel.take()[0] == ("resume", "ann", ())
