"""
Tests for L{mcc.websession}: in-memory sessions that expire on an
injected clock.
"""

import itertools

from twisted.internet.task import Clock

from mcc.websession import MAX_ANONYMOUS, SessionStore


def make_store(lifetime=100):
    clock = Clock()
    counter = itertools.count(1)
    return clock, SessionStore(clock, lambda n: next(counter).to_bytes(n, "big"), lifetime)


def test_ids_and_tokens_come_from_the_random_source():
    _, sessions = make_store()
    session = sessions.create("root")
    assert session.id == (1).to_bytes(32, "big").hex()
    assert session.csrf_token == (2).to_bytes(32, "big").hex()
    assert session.username == "root"
    assert sessions.get(session.id) is session


def test_use_pushes_the_expiry_back():
    clock, sessions = make_store()
    session = sessions.create()
    clock.advance(99)
    assert sessions.get(session.id) is session
    clock.advance(99)
    assert sessions.get(session.id) is session
    clock.advance(100)
    assert sessions.get(session.id) is None
    assert len(sessions) == 0


def test_a_look_without_extending_leaves_the_expiry():
    clock, sessions = make_store()
    session = sessions.create()
    clock.advance(99)
    assert sessions.get(session.id, extend=False) is session
    clock.advance(1)
    assert sessions.get(session.id) is None


def test_expired_sessions_are_dropped_when_new_ones_start():
    clock, sessions = make_store()
    for _ in range(3):
        sessions.create()
    clock.advance(100)
    fresh = sessions.create()
    assert len(sessions) == 1
    assert sessions.get(fresh.id) is fresh


def test_only_so_many_anonymous_sessions_are_kept():
    _, sessions = make_store()
    signed_in = sessions.create("root")
    first, second = sessions.create(), sessions.create()
    for _ in range(MAX_ANONYMOUS - 1):
        sessions.create()
    assert len(sessions) == MAX_ANONYMOUS + 1
    assert sessions.get(first.id) is None
    assert sessions.get(second.id) is second
    assert sessions.get(signed_in.id) is signed_in


def test_discard_and_unknown_ids():
    _, sessions = make_store()
    session = sessions.create("root")
    sessions.discard(session)
    sessions.discard(session)
    assert sessions.get(session.id) is None
    assert sessions.get("nonesuch") is None


def test_discarding_a_users_sessions_can_keep_one():
    _, sessions = make_store()
    first, second, kept = (sessions.create("root") for _ in range(3))
    other = sessions.create("olive")
    sessions.discard_user("root", keep=kept)
    assert [sessions.get(s.id) for s in (first, second, kept, other)] == [None, None, kept, other]
    sessions.discard_user("olive")
    assert sessions.get(other.id) is None


def test_flash_is_shown_once():
    _, sessions = make_store()
    session = sessions.create("root")
    session.flash = "Saved."
    assert session.pop_flash() == "Saved."
    assert session.pop_flash() is None
