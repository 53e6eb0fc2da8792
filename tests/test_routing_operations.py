"""
Tests for L{mcc.routing.operations}: transfer, tags, canned messages, end
and visitor details, driven by a Clock and a recording channel.
"""

import itertools

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from mcc.routing.availability import Availability
from mcc.routing.chats import (
    ChatOver,
    ChatService,
    Timeouts,
    UnknownChat,
    UnknownTarget,
    UnsendableText,
    Visitor,
)
from mcc.routing.errors import (
    ChatError,
    OperationRefused,
    DuplicateCanned,
    DuplicateTag,
    InvalidCanned,
    InvalidNote,
    InvalidTag,
    NotPermitted,
    NotYourChat,
    SelfTransfer,
    TargetUnavailable,
    TransferPending,
    UnknownCanned,
    UnknownTag,
)
from mcc.routing.interfaces import IChatOperations
from mcc.routing.operations import ChatOperations, TransferTarget, parse_tags
from mcc.routing.queues import Queues
from mcc.store import Store
from tests.test_routing_chats import RecordingChannel, kinds


@pytest.fixture
def world():
    store = Store.open(":memory:")
    for name in ("ann", "bob", "cyd", "dee"):
        store.users.add(name, "pw", now=0, display_name=name.title())
    store.users.add("root", "pw", now=0, display_name="Root", is_admin=True)
    clock = Clock()
    queues = Queues(store, clock)
    sales = queues.create("Sales")
    queues.assign(sales.id, ["ann", "bob"])
    reference = queues.create("Reference")
    queues.assign(reference.id, ["cyd", "dee"])
    availability = Availability()
    counter = itertools.count()
    service = ChatService(
        store, availability, queues.operators_of, clock,
        lambda: f"{next(counter):04d}tok" + "x" * 28,
        Timeouts(answer=60, visitor=1000, poll=25, reconnect=20),
    )
    service.channel = RecordingChannel()
    service.startService()
    operations = ChatOperations(store, service, clock)
    for name in ("ann", "bob", "cyd", "dee"):
        availability.resource_available(name, "desk")
    return operations, availability, clock


def held_by_ann(operations, **visitor):
    chat = operations.chats.start(Visitor(name="Vi", question="Where is my book?", **visitor), queue="Sales")
    operations.chats.operator_says(chat.guest, "ann", "Hello, Ann here")
    operations.chats.channel.take()
    return operations.chat(chat.id)


def snapshot(operations, chat):
    """
    Everything a refused operation must leave as it was.
    """
    return (
        operations.chat(chat.id),
        operations.chats.store.chats.events_after(chat.id, 0, include_internal=True),
        operations.chats.transfer_offered(chat.id),
        tuple(operations.tags(chat.id)),
        operations.chats.channel.calls[:],
    )


def test_the_facade_provides_its_interface(world):
    operations, _, _ = world
    assert verifyObject(IChatOperations, operations)
    assert issubclass(NotYourChat, OperationRefused) and issubclass(OperationRefused, ChatError)


# Transfer


def test_transfer_rings_the_queue_with_transcript_and_note_and_the_visitor_is_told(world):
    operations, _, clock = world
    chat = held_by_ann(operations)
    operations.chats.visitor_says(chat.token, "It is overdue")
    operations.chats.channel.take()
    operations.transfer(chat.id, "ann", queue="reference", note="Renewal question")
    assert operations.chats.channel.take() == [
        ("offer", chat.guest, ("cyd", "dee")),
        ("transcript", ("cyd", "dee"), ("Hello, Ann here", "It is overdue")),
        ("notify", ("cyd", "dee"), "Ann transfers this chat to Reference; reply to take it.\nNote: Renewal question"),
        ("notify", ("ann",), "Transferring this chat to Reference; it is yours until someone there takes it."),
    ]
    assert operations.chat(chat.id).operator == "ann"
    public = operations.chats.poll(chat.token, 3).result
    assert kinds(public) == [
        ("message", {"from": "visitor", "name": "Vi", "text": "It is overdue"}),
        ("transfer", {"text": "You are being transferred to Reference.", "to": "Reference"}),
    ]
    # While it rings, the visitor reaches both the holder and the targets.
    operations.chats.visitor_says(chat.token, "Hello?")
    assert operations.chats.channel.take() == [
        ("deliver", "ann", "Hello?"), ("deliver", "cyd", "Hello?"), ("deliver", "dee", "Hello?"),
    ]
    assert operations.details(chat.id, "cyd").transfer_pending


def test_a_transfer_taken_moves_the_chat_and_the_others_are_told(world):
    operations, _, clock = world
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", queue="Reference")
    operations.chats.channel.take()
    clock.advance(30)
    operations.chats.operator_says(chat.guest, "dee", "Dee here, I can help")
    assert operations.chats.channel.take() == [
        ("notify", ("cyd",), "Dee picked up this chat."),
        ("withdraw", ("cyd",)),
        ("notify", ("ann",), "Dee took this chat over from you."),
        ("withdraw", ("ann",)),
    ]
    moved = operations.chat(chat.id)
    assert (moved.operator, moved.operator_name, moved.queue, moved.state) == ("dee", "Dee", "Reference", "active")
    internal = operations.chats.store.chats.events_after(chat.id, 0, include_internal=True)
    assert [e.kind for e in internal][-6:] == [
        "transfer_offered", "transfer", "transfer_taken", "transferred", "picked_up", "message",
    ]
    assert internal[-4].data == {"operator": "dee", "from": "ann"}
    # The one record of the transfer that happened, which reports count.
    assert internal[-3].data == {
        "from_queue": "Sales", "to_queue": "Reference", "from_operator": "ann", "to_operator": "dee",
    }
    assert not operations.chats.transfer_pending(chat.id)
    # The timer went with it: nothing comes back later.
    clock.advance(60)
    assert operations.chats.channel.take() == []
    # Ann no longer has it; Dee does.
    with pytest.raises(NotYourChat):
        operations.end(chat.id, "ann")
    operations.chats.operator_says(chat.guest, "ann", "still me?")
    assert operations.chats.channel.take() == [("notify", ("ann",), "This chat is not for you.")]
    operations.add_tags(chat.id, "dee", ["renewals"])


def test_taking_a_transfer_without_a_word_moves_the_chat_and_observers_see_each_step(world):
    operations, _, _ = world
    seen = []
    operations.chats.on_event.append(lambda chat, kind, data, internal: seen.append((chat.id, kind)))
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", queue="Reference", note="renewal")
    assert (chat.id, "transfer_offered") in seen and (chat.id, "transfer") in seen
    operations.chats.channel.take()
    assert operations.chats.operator_takes(chat.guest, "cyd") is True
    moved = operations.chat(chat.id)
    assert (moved.operator, moved.queue) == ("cyd", "Reference")
    assert ("notify", ("ann",), "Cyd took this chat over from you.") in operations.chats.channel.take()
    assert seen[-3:] == [(chat.id, "transfer_taken"), (chat.id, "transferred"), (chat.id, "picked_up")]


def test_an_unanswered_transfer_returns_to_its_operator_with_a_notice(world):
    operations, _, clock = world
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", user="cyd", note="")
    assert operations.chats.channel.take()[:2] == [
        ("offer", chat.guest, ("cyd",)),
        ("transcript", ("cyd",), ("Hello, Ann here",)),
    ]
    clock.advance(59)
    assert operations.chats.transfer_pending(chat.id)
    clock.advance(1)
    assert operations.chats.channel.take() == [
        ("notify", ("cyd",), "Nobody took this chat in time; it stays with Ann."),
        ("withdraw", ("cyd",)),
        ("notify", ("ann",), "Nobody at Cyd took this chat in time; it is still yours."),
    ]
    assert operations.chat(chat.id).operator == "ann"
    internal = operations.chats.store.chats.events_after(chat.id, 0, include_internal=True)
    assert (internal[-1].kind, internal[-1].data) == ("transfer_returned", {"to": "ann", "reason": "unanswered"})
    # The visitor saw only the notice.
    assert [e.kind for e in operations.chats.poll(chat.token, 0).result] == [
        "message", "picked_up", "message", "transfer",
    ]
    # Cyd, too late, is not taken for the chat's operator.
    operations.chats.operator_says(chat.guest, "cyd", "me?")
    assert operations.chat(chat.id).operator == "ann"
    # And Ann can transfer again.
    operations.transfer(chat.id, "ann", queue="Reference")
    assert operations.chats.transfer_pending(chat.id)


def test_two_operators_answer_a_transfer_at_the_same_instant(world):
    operations, _, clock = world
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", queue="Reference")
    operations.chats.channel.take()
    operations.chats.operator_says(chat.guest, "cyd", "Cyd here")
    operations.chats.operator_says(chat.guest, "dee", "Dee here")
    assert operations.chat(chat.id).operator == "cyd"
    calls = operations.chats.channel.take()
    assert ("notify", ("dee",), "Cyd has this chat; the visitor did not see your message.") in calls
    said = [e.data["text"] for e in operations.chats.poll(chat.token, 0).result if e.kind == "message"]
    assert said == ["Where is my book?", "Hello, Ann here", "Cyd here"]


def test_a_transfer_racing_an_end(world):
    operations, _, clock = world
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", queue="Reference")
    operations.chats.channel.take()
    operations.end(chat.id, "ann")
    assert operations.chats.channel.take() == [
        ("notify", ("cyd", "dee"), "This chat has ended."),
        ("withdraw", ("cyd", "dee")),
        ("withdraw", ("ann",)),
    ]
    operations.chats.operator_says(chat.guest, "cyd", "I'll take it")
    ended = operations.chat(chat.id)
    assert (ended.state, ended.operator) == ("closed", "ann")
    assert operations.chats.channel.take() == [("notify", ("cyd",), "This chat has ended.")]
    clock.advance(60)
    assert operations.chats.channel.take() == []
    # And the other way round: taken first, the old operator's end is refused.
    other = held_by_ann(operations)
    operations.transfer(other.id, "ann", queue="Reference")
    operations.chats.operator_says(other.guest, "cyd", "mine")
    with pytest.raises(NotYourChat):
        operations.end(other.id, "ann")
    assert operations.chat(other.id).state == "active"


def test_transfer_targets_are_what_is_available_now(world):
    operations, availability, _ = world
    chat = held_by_ann(operations)
    assert operations.transfer_targets(chat.id, "ann") == [
        TransferTarget("queue", "Reference", "Reference", 2),
        TransferTarget("queue", "Sales", "Sales", 1),
        TransferTarget("user", "bob", "Bob", 1),
        TransferTarget("user", "cyd", "Cyd", 1),
        TransferTarget("user", "dee", "Dee", 1),
    ]
    availability.resource_gone("bob", "desk")
    availability.resource_available("dee", "desk", "away")
    assert [(t.kind, t.name, t.available) for t in operations.transfer_targets(chat.id, "ann")] == [
        ("queue", "Reference", 1), ("user", "cyd", 1),
    ]
    with pytest.raises(NotYourChat):
        operations.transfer_targets(chat.id, "cyd")


@pytest.mark.parametrize(
    "actor, target, error",
    [
        ("ann", {"queue": "Nowhere"}, UnknownTarget),
        ("ann", {"user": "zed"}, UnknownTarget),
        ("ann", {}, UnknownTarget),
        ("ann", {"queue": "Reference", "user": "cyd"}, UnknownTarget),
        ("ann", {"user": "ann"}, SelfTransfer),
        ("ann", {"user": "bob", "note": "x" * 501}, InvalidNote),
        ("ann", {"user": "bob", "note": "bad\x00"}, UnsendableText),
        ("bob", {"queue": "Reference"}, NotYourChat),
        ("cyd", {"queue": "Sales"}, NotYourChat),
        ("bob", {"queue": "Reference", "by_admin": True}, NotPermitted),
    ],
)
def test_refused_transfers_change_nothing(world, actor, target, error):
    operations, _, _ = world
    chat = held_by_ann(operations)
    before = snapshot(operations, chat)
    with pytest.raises(error):
        operations.transfer(chat.id, actor, **target)
    assert snapshot(operations, chat) == before


def test_transfer_to_the_queue_where_only_oneself_or_nobody_is_available(world):
    operations, availability, _ = world
    chat = held_by_ann(operations)
    availability.resource_gone("bob", "desk")
    availability.resource_gone("cyd", "desk")
    availability.resource_gone("dee", "desk")
    before = snapshot(operations, chat)
    with pytest.raises(SelfTransfer, match="nobody but you is available at Sales"):
        operations.transfer(chat.id, "ann", queue="Sales")
    with pytest.raises(TargetUnavailable, match="nobody is available at Reference now"):
        operations.transfer(chat.id, "ann", queue="Reference")
    with pytest.raises(TargetUnavailable):
        operations.transfer(chat.id, "ann", user="bob")
    assert snapshot(operations, chat) == before


def test_transfer_already_pending_closed_or_unknown_chats_are_refused(world):
    operations, _, _ = world
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", user="bob")
    before = snapshot(operations, chat)
    with pytest.raises(TransferPending):
        operations.transfer(chat.id, "ann", queue="Reference")
    assert snapshot(operations, chat) == before
    operations.end(chat.id, "ann")
    before = snapshot(operations, chat)
    with pytest.raises(ChatOver):
        operations.transfer(chat.id, "ann", queue="Reference")
    assert snapshot(operations, chat) == before
    with pytest.raises(UnknownChat):
        operations.transfer(999, "ann", queue="Reference")
    waiting = operations.chats.start(Visitor(), queue="Sales")
    with pytest.raises(NotYourChat):
        operations.transfer(waiting.id, "ann", queue="Reference")


def test_a_target_who_becomes_available_rings_and_one_who_leaves_stops(world):
    operations, availability, _ = world
    availability.resource_gone("dee", "desk")
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", queue="Reference", note="n")
    operations.chats.channel.take()
    availability.resource_available("dee", "phone")
    assert operations.chats.channel.take() == [
        ("offer", chat.guest, ("dee",)),
        ("transcript", ("dee",), ("Hello, Ann here",)),
        ("notify", ("dee",), "Ann transfers this chat to Reference; reply to take it.\nNote: n"),
    ]
    availability.resource_gone("cyd", "desk")
    assert operations.chats.transfer_offered(chat.id) == {"dee"}


def test_the_holder_gone_for_good_calls_the_transfer_off_and_requeues(world):
    operations, availability, clock = world
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", queue="Reference")
    operations.chats.channel.take()
    availability.resource_gone("ann", "desk")
    clock.advance(20)
    calls = operations.chats.channel.take()
    assert calls[:2] == [
        ("notify", ("cyd", "dee"), "Ann has gone; this transfer is off."),
        ("withdraw", ("cyd", "dee")),
    ]
    assert operations.chat(chat.id).state == "waiting"
    assert not operations.chats.transfer_pending(chat.id)


def test_a_restart_calls_a_pending_transfer_off(world):
    operations, _, clock = world
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "ann", queue="Reference")
    operations.chats.stopService()
    operations.chats.startService()
    internal = operations.chats.store.chats.events_after(chat.id, 0, include_internal=True)
    assert (internal[-1].kind, internal[-1].data) == ("transfer_returned", {"to": "ann", "reason": "restart"})
    assert not operations.chats.transfer_pending(chat.id)
    operations.chats.operator_says(chat.guest, "cyd", "hello?")
    assert operations.chat(chat.id).operator == "ann"


def test_an_admin_transfers_an_active_chat(world):
    operations, _, _ = world
    chat = held_by_ann(operations)
    operations.transfer(chat.id, "root", user="dee", note="VIP", by_admin=True)
    calls = operations.chats.channel.take()
    assert ("notify", ("dee",), "An administrator transfers this chat to Dee; reply to take it.\nNote: VIP") in calls
    operations.chats.operator_says(chat.guest, "dee", "hi")
    moved = operations.chat(chat.id)
    assert (moved.operator, moved.queue, moved.target_user) == ("dee", None, "dee")


def test_an_admin_sends_a_waiting_chat_to_another_queue(world):
    operations, availability, clock = world
    chat = operations.chats.start(Visitor(question="Lost card"), queue="Sales")
    operations.chats.channel.take()
    clock.advance(50)
    with pytest.raises(NotPermitted):
        operations.transfer(chat.id, "ann", queue="Reference", by_admin=True)
    with pytest.raises(SelfTransfer):
        operations.transfer(chat.id, "root", queue="Sales", by_admin=True)
    assert [(t.kind, t.name) for t in operations.transfer_targets(chat.id, "root", by_admin=True)][0] == (
        "queue", "Reference",
    )
    operations.transfer(chat.id, "root", queue="Reference", note="card desk", by_admin=True)
    assert operations.chats.channel.take() == [
        ("notify", ("ann", "bob"), "An administrator moved this chat to Reference."),
        ("withdraw", ("ann", "bob")),
        ("offer", chat.guest, ("cyd", "dee")),
        ("notify", ("cyd", "dee"), "Note from An administrator: card desk"),
    ]
    assert operations.chat(chat.id).queue == "Reference"
    # A fresh answer time: not missed 10 s later, as it would have been.
    clock.advance(59)
    assert operations.chat(chat.id).state == "waiting"
    operations.chats.operator_says(chat.guest, "bob", "mine?")
    assert operations.chat(chat.id).state == "waiting"
    operations.chats.operator_says(chat.guest, "cyd", "Cyd here")
    assert operations.chat(chat.id).operator == "cyd"
    assert kinds(operations.chats.poll(chat.token, 1).result)[0] == (
        "transfer", {"text": "You are being transferred to Reference.", "to": "Reference"},
    )


# End


def test_end_by_the_operator_and_by_an_admin(world):
    operations, _, _ = world
    chat = held_by_ann(operations)
    before = snapshot(operations, chat)
    for actor in ("bob", "cyd"):
        with pytest.raises(NotYourChat):
            operations.end(chat.id, actor)
    with pytest.raises(NotPermitted):
        operations.end(chat.id, "bob", by_admin=True)
    assert snapshot(operations, chat) == before
    operations.end(chat.id, "ann")
    ended = operations.chat(chat.id)
    assert (ended.state, ended.closed_by) == ("closed", "operator")
    with pytest.raises(ChatOver):
        operations.end(chat.id, "ann")

    waiting = operations.chats.start(Visitor(), queue="Sales")
    operations.chats.channel.take()
    operations.end(waiting.id, "root", by_admin=True)
    assert operations.chat(waiting.id).closed_by == "admin"
    assert operations.chats.channel.take() == [
        ("notify", ("ann", "bob"), "An administrator ended this chat."),
        ("withdraw", ("ann", "bob")),
    ]
    assert kinds(operations.chats.poll(waiting.token, 0).result)[-1] == ("ended", {"by": "admin"})


# Tags


def test_tags_are_added_removed_shared_and_shown_as_first_written(world):
    operations, _, clock = world
    chat = held_by_ann(operations)
    assert parse_tags(" Renewals ,  fines/Fees, ") == [" Renewals ", "  fines/Fees"]
    assert operations.add_tags(chat.id, "ann", parse_tags(" Renewals ,  fines/Fees, ")) == ["Renewals", "fines/Fees"]
    other = held_by_ann(operations)
    assert operations.add_tags(other.id, "ann", ["RENEWALS", "e-books  2.0"]) == ["Renewals", "e-books 2.0"]
    assert operations.suggest_tags("re") == ["Renewals"]
    assert operations.suggest_tags("") == ["Renewals", "e-books 2.0", "fines/Fees"]
    assert operations.suggest_tags("%") == []
    assert operations.remove_tag(chat.id, "ann", "renewals") == ["fines/Fees"]
    with pytest.raises(InvalidTag):
        operations.remove_tag(chat.id, "ann", "renewals")
    # After the end, still its operator's to tag; an admin's too.
    operations.end(chat.id, "ann")
    operations.add_tags(chat.id, "ann", "late")
    operations.add_tags(chat.id, "root", ["checked"], by_admin=True)
    assert sorted(operations.tags(chat.id)) == ["checked", "fines/Fees", "late"]


@pytest.mark.parametrize(
    "names, actor, error",
    [
        (["ok", ""], "ann", InvalidTag),
        (["ok", "x" * 41], "ann", InvalidTag),
        (["ok", "semi;colon"], "ann", InvalidTag),
        (["ok", "<b>"], "ann", InvalidTag),
        (["ok"], "bob", NotYourChat),
        (["ok"], "bob", NotPermitted),
    ],
)
def test_refused_tags_change_nothing(world, names, actor, error):
    operations, _, _ = world
    chat = held_by_ann(operations)
    operations.add_tags(chat.id, "ann", ["first"])
    before = snapshot(operations, chat)
    with pytest.raises(error):
        operations.add_tags(chat.id, actor, names, by_admin=error is NotPermitted)
    assert snapshot(operations, chat) == before
    assert operations.suggest_tags("o") == []


def test_rename_merge_and_delete_tag_names(world):
    operations, _, _ = world
    one, two = held_by_ann(operations), held_by_ann(operations)
    operations.add_tags(one.id, "ann", ["fines", "renewal"])
    operations.add_tags(two.id, "ann", ["Renewals"])
    assert operations.rename_tag("FINES", "Fines and fees").name == "Fines and fees"
    assert operations.tags(one.id) == ["Fines and fees", "renewal"]
    with pytest.raises(DuplicateTag):
        operations.rename_tag("renewal", "RENEWALS")
    merged = operations.merge_tags("renewal", "renewals")
    assert (merged.name, merged.chats) == ("Renewals", 2)
    assert sorted(operations.tags(one.id)) == ["Fines and fees", "Renewals"]
    with pytest.raises(InvalidTag):
        operations.merge_tags("renewals", "Renewals")
    operations.delete_tag("renewals")
    assert operations.tags(two.id) == []
    assert [t.name for t in operations.all_tags()] == ["Fines and fees"]
    with pytest.raises(UnknownTag):
        operations.delete_tag("renewals")


# Canned messages


def test_canned_messages_own_first_then_the_queue_and_sent_as_the_operator(world):
    operations, _, _ = world
    chat = held_by_ann(operations)
    shared = operations.add_canned("hours", "We are open 9 to 5.", queue="sales")
    operations.add_canned("Thanks", "Thank you for asking!", queue="Sales")
    mine = operations.add_canned("hours", "I am here until noon.", owner="ann")
    operations.add_canned("hours", "Reference opens at 10.", queue="Reference")
    assert {name: c.text for name, c in operations.canned_for(chat.id, "ann").items()} == {
        "hours": "I am here until noon.", "thanks": "Thank you for asking!",
    }
    assert operations.canned_for(chat.id, "bob")["hours"].id == shared.id
    assert operations.send_canned(chat.id, "ann", "HOURS") == "I am here until noon."
    last = operations.chats.poll(chat.token, 3).result[-1]
    assert last.data == {"from": "operator", "name": "Ann", "text": "I am here until noon."}
    operations.remove_canned(mine.id, owner="ann")
    assert operations.send_canned(chat.id, "ann", "hours") == "We are open 9 to 5."
    assert [c.name for c in operations.queue_canned("Sales")] == ["hours", "thanks"]
    assert operations.update_canned(shared.id, "open", "9-5").name == "open"
    assert operations.own_canned("ann") == []


def test_refused_canned_messages(world):
    operations, _, _ = world
    chat = held_by_ann(operations)
    mine = operations.add_canned("bye", "Goodbye!", owner="ann")
    with pytest.raises(DuplicateCanned):
        operations.add_canned("BYE", "again", owner="ann")
    for name, text in (("", "x"), ("two words", "x"), ("x" * 33, "x"), ("ok", " "), ("ok", "x" * 2001)):
        with pytest.raises(InvalidCanned):
            operations.add_canned(name, text, owner="ann")
    with pytest.raises(InvalidCanned):
        operations.add_canned("ok", "x")
    with pytest.raises(UnknownTarget):
        operations.add_canned("ok", "x", queue="Nowhere")
    with pytest.raises(UnknownCanned):
        operations.update_canned(mine.id, "bye", "mine now", owner="bob")
    with pytest.raises(UnknownCanned):
        operations.remove_canned(mine.id, owner="bob")
    before = snapshot(operations, chat)
    with pytest.raises(UnknownCanned):
        operations.send_canned(chat.id, "ann", "nonesuch")
    with pytest.raises(NotYourChat):
        operations.send_canned(chat.id, "bob", "bye")
    with pytest.raises(NotYourChat):
        operations.canned_for(chat.id, "cyd")
    assert snapshot(operations, chat) == before
    assert [c.text for c in operations.own_canned("ann")] == ["Goodbye!"]


# Visitor details


def test_visitor_details_with_earlier_chats_by_email(world):
    operations, _, clock = world
    first = held_by_ann(operations, email="Vi@Example.org")
    operations.end(first.id, "ann")
    clock.advance(100)
    chat = operations.chats.start(
        Visitor(name="Vi", email="vi@example.org", question="Again", ip="203.0.113.5",
                page="https://lib.example/catalogue", referrer="https://search.example/",
                user_agent="Browser/1"),
        queue="Sales",
    )
    clock.advance(7)
    waiting = operations.details(chat.id, "bob")
    assert (waiting.state, waiting.waited, waiting.answered_at) == ("waiting", 7, None)
    operations.chats.operator_says(chat.guest, "bob", "Bob here")
    clock.advance(30)
    operations.add_tags(chat.id, "bob", ["repeat"])
    details = operations.details(chat.id, "bob")
    assert (details.name, details.email, details.question, details.ip) == (
        "Vi", "vi@example.org", "Again", "203.0.113.5",
    )
    assert (details.page, details.referrer, details.user_agent, details.protocol) == (
        "https://lib.example/catalogue", "https://search.example/", "Browser/1", "web",
    )
    assert (details.queue, details.operator, details.operator_name, details.waited) == ("Sales", "bob", "Bob", 7)
    assert (details.started_at, details.answered_at, details.tags) == (100, 107, ("repeat",))
    assert [(e.id, e.state, e.operator_name) for e in details.earlier] == [(first.id, "closed", "Ann")]
    with pytest.raises(NotYourChat):
        operations.details(chat.id, "cyd")
    assert operations.details(chat.id, "root", by_admin=True).chat_id == chat.id


def test_earlier_chats_by_ip_within_30_days_when_there_is_no_email(world):
    operations, _, clock = world
    old = held_by_ann(operations, ip="198.51.100.7")
    clock.advance(31 * 24 * 3600)
    recent = held_by_ann(operations, ip="198.51.100.7")
    held_by_ann(operations, ip="198.51.100.8")
    with_email = held_by_ann(operations, ip="198.51.100.7", email="x@example.org")
    clock.advance(24 * 3600)
    chat = held_by_ann(operations, ip="198.51.100.7")
    assert [e.id for e in operations.details(chat.id, "ann").earlier] == [recent.id]
    assert old.id < recent.id < with_email.id


def test_open_chats_of_lists_held_and_ringing_chats_oldest_first(world):
    operations, _, _ = world
    held = held_by_ann(operations)
    ringing = operations.chats.start(Visitor(name="Wes"), queue="Sales")
    elsewhere = operations.chats.start(Visitor(name="Xan"), queue="Reference")
    assert [(c.id, how) for c, how in operations.open_chats_of("ann")] == [
        (held.id, "held"), (ringing.id, "ringing")
    ]
    assert [(c.id, how) for c, how in operations.open_chats_of("bob")] == [(ringing.id, "ringing")]
    operations.transfer(held.id, "ann", queue="Reference")
    assert [(c.id, how) for c, how in operations.open_chats_of("cyd")] == [
        (held.id, "ringing"), (elsewhere.id, "ringing")
    ]
    operations.end(held.id, "ann")
    assert [c.id for c, _ in operations.open_chats_of("ann")] == [ringing.id]


def test_canned_of_lists_own_then_each_queues_messages(world):
    operations, _, _ = world
    operations.add_canned("hours", "We open at 9.", queue="Sales")
    operations.add_canned("bye", "Goodbye!", owner="ann")
    operations.add_canned("isbn", "Give the ISBN.", queue="Reference")
    assert [(queue, c.name) for queue, c in operations.canned_of("ann")] == [
        (None, "bye"), ("Sales", "hours")
    ]
    assert [(queue, c.name) for queue, c in operations.canned_of("cyd")] == [("Reference", "isbn")]
