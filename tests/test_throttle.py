"""
Tests for L{mcc.throttle}, with the clock moved by hand.
"""

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from mcc.throttle import LoginThrottle, Throttle
from mcc.websession import PasswordCheck, Throttled
from mcc.xmpp.namespaces import NS_SASL
from tests.memory_xmpp import make_server
from tests.test_xmpp_negotiation import Client, b64, sasl_condition
from tests.test_xmpp_sasl import Later


def make(limit=3, window=60):
    clock = Clock()
    return clock, Throttle(clock, limit, window)


def test_blocked_at_the_limit_only():
    clock, throttle = make()
    for _ in range(2):
        throttle.record("192.0.2.1")
        clock.advance(1)
    assert not throttle.blocked("192.0.2.1")
    throttle.record("192.0.2.1")
    assert throttle.blocked("192.0.2.1")


def test_addresses_are_counted_apart():
    _, throttle = make(limit=1)
    throttle.record("192.0.2.1")
    assert throttle.blocked("192.0.2.1")
    assert not throttle.blocked("192.0.2.2")


def test_failures_leave_the_window_one_by_one():
    clock, throttle = make()
    throttle.record("a")  # t=0
    clock.advance(10)
    throttle.record("a")  # t=10
    clock.advance(10)
    throttle.record("a")  # t=20
    clock.advance(39.9)
    assert throttle.blocked("a")
    clock.advance(0.1)  # t=60: the first failure is exactly one window old
    assert not throttle.blocked("a")
    throttle.record("a")
    assert throttle.blocked("a")
    clock.advance(30)  # t=90: the failures of t=10 and t=20 are gone
    assert not throttle.blocked("a")


def test_everything_forgotten_after_a_window():
    clock, throttle = make()
    for _ in range(5):
        throttle.record("a")
    clock.advance(60)
    assert not throttle.blocked("a")
    throttle.record("a")
    throttle.record("a")
    assert not throttle.blocked("a")


def test_addresses_with_nothing_recent_are_pruned(monkeypatch):
    monkeypatch.setattr("mcc.throttle.PRUNE_ABOVE", 3)
    clock = Clock()
    throttle = Throttle(clock, limit=2, window=10)
    for address in ("a", "b", "c", "d"):
        throttle.record(address)
    assert len(throttle) == 4
    clock.advance(11)
    throttle.record("e")
    assert len(throttle) == 1


def login_throttle(**kwargs):
    clock = Clock()
    limits = dict(failures_allowed=3, window=60, account_failures_allowed=4)
    limits.update(kwargs)
    return clock, LoginThrottle(clock, **limits)


def fail(throttle, address, account, times=1):
    for _ in range(times):
        assert not throttle.blocked(address, account)
        throttle.failed(address, account)


def guess_until_locked(clock, throttle, account, guesses=10):
    """
    C{guesses} failures from as many addresses, each as soon as allowed.
    """
    for n in range(guesses):
        while throttle.blocked(f"198.51.100.{n}", account):
            clock.advance(1)
        throttle.failed(f"198.51.100.{n}", account)


def succeed(throttle, address, account):
    assert not throttle.blocked(address, account)
    throttle.attempt(address, account).succeeded()


def test_login_failures_block_the_address_for_every_account():
    clock, throttle = login_throttle()
    fail(throttle, "192.0.2.1", "alice", 2)
    fail(throttle, "192.0.2.1", "bob")
    assert throttle.blocked("192.0.2.1", "alice")
    assert throttle.blocked("192.0.2.1", "carol")
    assert not throttle.blocked("192.0.2.2", "carol")
    clock.advance(60)
    assert not throttle.blocked("192.0.2.1", "alice")


def test_an_attempt_counts_as_failed_only_once_it_fails():
    _, throttle = login_throttle()
    attempts = [throttle.attempt("192.0.2.1", "alice") for _ in range(3)]
    assert not throttle.blocked("192.0.2.1", "alice")
    attempts[0].succeeded()
    attempts[0].failed()  # settled already: nothing more happens
    attempts[1].failed()
    attempts[1].failed()  # once only
    assert not throttle.blocked("192.0.2.1", "alice")
    attempts[2].failed()
    throttle.failed("192.0.2.1", "alice")
    assert throttle.blocked("192.0.2.1", "alice")


def test_a_hundred_right_logins_at_once_from_one_address_all_succeed():
    clock, throttle = login_throttle(logins_in_progress=100)
    for account in ("alice", None):
        attempts = []
        for n in range(100):
            name = account or f"operator{n}"
            assert not throttle.blocked("192.0.2.1", name)
            attempts.append(throttle.attempt("192.0.2.1", name))
            clock.advance(0.001)
        for attempt in attempts:
            attempt.succeeded()
    assert not throttle.blocked("192.0.2.1", "mallory")


def test_right_logins_in_waves_under_the_cap_all_succeed():
    clock, throttle = login_throttle(logins_in_progress=20)
    for wave in range(5):
        attempts = []
        for n in range(20):
            name = f"operator{wave * 20 + n}"
            assert not throttle.blocked("192.0.2.1", name)
            attempts.append(throttle.attempt("192.0.2.1", name))
        assert throttle.blocked("192.0.2.1", "another")
        for attempt in attempts:
            attempt.succeeded()
        clock.advance(0.5)
    assert not throttle.blocked("192.0.2.1", "another")


def guess_in_parallel(throttle, address, tries, account=None):
    """
    Start up to C{tries} wrong logins at once, each as soon as allowed; how
    many were let in.
    """
    started = []
    for n in range(tries):
        name = account or f"user{n}"
        if not throttle.blocked(address, name):
            started.append(throttle.attempt(address, name))
    for attempt in started:
        attempt.failed()
    return len(started)


def test_guesses_in_parallel_from_one_address_are_bounded():
    clock, throttle = login_throttle(failures_allowed=5, logins_in_progress=20)
    assert guess_in_parallel(throttle, "192.0.2.1", 1000) == 20
    # Now failed: the address is refused for the window.
    assert guess_in_parallel(throttle, "192.0.2.1", 1000) == 0
    clock.advance(60)
    # Four failures, then as many at once as are let in.
    for _ in range(4):
        throttle.failed("192.0.2.1", "nobody")
    assert guess_in_parallel(throttle, "192.0.2.1", 1000) == 20
    clock.advance(59)
    assert guess_in_parallel(throttle, "192.0.2.1", 1000) == 0
    # Over a window: fewer than failures_allowed + logins_in_progress.
    clock.advance(1)
    total = 0
    for _ in range(600):
        total += guess_in_parallel(throttle, "192.0.2.1", 1000)
        clock.advance(0.1)
    assert 0 < total < 5 + 20


def test_guesses_in_parallel_at_one_account_are_bounded_from_anywhere():
    clock, throttle = login_throttle(account_failures_allowed=10, logins_in_progress=20)
    started = []
    for n in range(1000):
        address = f"198.51.100.{n % 250}.{n // 250}"
        if not throttle.blocked(address, "alice"):
            started.append(throttle.attempt(address, "alice"))
    assert len(started) == 20
    for attempt in started:
        attempt.failed()
    assert throttle.blocked("203.0.113.1", "alice")


def test_an_attempt_under_way_holds_a_place_until_it_ends():
    _, throttle = login_throttle(logins_in_progress=2)
    first = throttle.attempt("192.0.2.1", "alice")
    throttle.attempt("192.0.2.1", "bob")
    assert throttle.blocked("192.0.2.1", "carol")
    assert not throttle.blocked("192.0.2.2", "carol")
    first.succeeded()
    assert not throttle.blocked("192.0.2.1", "carol")


def test_an_owner_at_a_known_address_is_not_held_up_by_others_under_way():
    _, throttle = login_throttle(logins_in_progress=2)
    succeed(throttle, "192.0.2.1", "alice")
    for name in ("mallory", "trudy"):
        throttle.attempt("192.0.2.1", name)
    assert throttle.blocked("192.0.2.1", "bob")
    succeed(throttle, "192.0.2.1", "alice")


def test_guesses_from_many_addresses_lock_the_account_with_backoff():
    clock, throttle = login_throttle(account_backoff=2, account_max_backoff=16)
    for n in range(4):
        fail(throttle, f"198.51.100.{n}", "alice")
    assert throttle.blocked("198.51.100.99", "alice")
    assert not throttle.blocked("198.51.100.99", "bob")
    waits = []
    for n in range(5):
        waited = 0
        while throttle.blocked(f"203.0.113.{n}", "alice"):
            clock.advance(1)
            waited += 1
        waits.append(waited)
        throttle.failed(f"203.0.113.{n}", "alice")
    assert waits == [2, 4, 8, 16, 16]


def test_a_locked_account_is_forgotten_once_quiet():
    clock, throttle = login_throttle(account_window=600, account_max_backoff=60)
    for n in range(6):
        clock.advance(60)
        fail(throttle, f"198.51.100.{n}", "alice")
    clock.advance(599)
    # Still locked for the longest wait after the last failure, then free.
    assert not throttle.blocked("198.51.100.99", "alice")
    throttle.failed("198.51.100.99", "alice")
    assert throttle.blocked("198.51.100.100", "alice")
    clock.advance(600)
    fail(throttle, "198.51.100.101", "alice", 3)


def test_the_owners_known_address_passes_a_locked_account():
    clock, throttle = login_throttle()
    succeed(throttle, "192.0.2.1", "alice")
    guess_until_locked(clock, throttle, "alice")
    assert throttle.blocked("198.51.100.99", "alice")
    succeed(throttle, "192.0.2.1", "alice")


def test_at_a_known_address_others_guesses_do_not_lock_the_owner_out():
    _, throttle = login_throttle()
    succeed(throttle, "192.0.2.1", "alice")
    fail(throttle, "192.0.2.1", "bob", 3)
    assert throttle.blocked("192.0.2.1", "bob")
    assert throttle.blocked("192.0.2.1", "carol")
    succeed(throttle, "192.0.2.1", "alice")


def test_at_a_known_address_the_owners_failures_still_count():
    clock, throttle = login_throttle()
    succeed(throttle, "192.0.2.1", "alice")
    fail(throttle, "192.0.2.1", "alice", 3)
    assert throttle.blocked("192.0.2.1", "alice")
    clock.advance(60)
    succeed(throttle, "192.0.2.1", "alice")


def test_a_good_login_does_not_wipe_earlier_failures():
    _, throttle = login_throttle()
    fail(throttle, "192.0.2.1", "root", 2)
    succeed(throttle, "192.0.2.1", "olive")
    fail(throttle, "192.0.2.1", "root")
    assert throttle.blocked("192.0.2.1", "root")


def test_only_the_latest_known_addresses_are_kept():
    clock, throttle = login_throttle(known_addresses=2)
    for n in range(3):
        succeed(throttle, f"192.0.2.{n}", "alice")
    guess_until_locked(clock, throttle, "alice")
    assert throttle.blocked("192.0.2.0", "alice")
    assert not throttle.blocked("192.0.2.1", "alice")
    assert not throttle.blocked("192.0.2.2", "alice")


# The XMPP login in memory, with PLAIN's checks held until told to run.


def plain_server(**config):
    later = Later()
    users = [f"operator{n}" for n in range(100)]
    server = make_server(Clock(), users=users, password_checks=later, **config)
    return later, server


def plain_login(server, name, password):
    client = Client(server)
    client.starttls()
    client.features()
    initial = b64(f"\0{name}\0{password}".encode())
    client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{initial}</auth>")
    assert client.elements() == []
    return client


def test_a_hundred_right_xmpp_logins_at_once_from_one_address_all_succeed():
    later, server = plain_server(logins_in_progress_per_address=100)
    try:
        clients = [plain_login(server, f"operator{n}", f"operator{n}"[::-1]) for n in range(100)]
        later.finish()
        assert [client.only().name for client in clients] == ["success"] * 100
        assert not server.throttle.blocked("192.0.2.7", "operator0")
    finally:
        server.stopService()
        server.store.close()


def test_an_xmpp_login_beyond_those_under_way_is_refused_as_throttled():
    later, server = plain_server(logins_in_progress_per_address=3)
    try:
        clients = [plain_login(server, f"operator{n}", f"operator{n}"[::-1]) for n in range(3)]
        refused = Client(server)
        refused.starttls()
        refused.features()
        condition = sasl_condition(refused.auth("PLAIN", b"\0operator9\x009rotarepo"))
        assert condition == "temporary-auth-failure"
        later.finish()
        assert [client.only().name for client in clients] == ["success"] * 3
    finally:
        server.stopService()
        server.store.close()


@pytest.mark.parametrize("end", ["lose", "abort"])
def test_an_xmpp_exchange_given_up_mid_check_counts_as_failed(end):
    later, server = plain_server(auth_failures_allowed=2)
    try:
        for n in range(2):
            client = plain_login(server, f"operator{n}", f"operator{n}"[::-1])
            if end == "lose":
                client.lose()
            else:
                client.send(f"<abort xmlns='{NS_SASL}'/>")
        later.finish()
        assert server.throttle.blocked("192.0.2.7", "operator5")
        assert not server.throttle.blocked("192.0.2.8", "operator5")
    finally:
        server.stopService()
        server.store.close()


def test_an_xmpp_exchange_lost_after_the_scram_salt_counts_as_failed():
    _, server = plain_server(auth_failures_allowed=1)
    try:
        client = Client(server)
        client.starttls()
        client.features()
        first = b64(b"n,,n=operator1,r=abcdefghijklmnop")
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-256'>{first}</auth>")
        assert client.only().name == "challenge"
        assert not server.throttle.blocked("192.0.2.7", "operator5")
        client.lose()
        assert server.throttle.blocked("192.0.2.7", "operator5")
    finally:
        server.stopService()
        server.store.close()


# The web sign-in, with its password checks held until told to run.


class Credentials:
    def __init__(self, password):
        self.password = password

    def verify(self, password):
        return password == self.password


class Accounts:
    """
    Accounts whose passwords are their names reversed.
    """

    def sign_in_check(self, username):
        return username, Credentials(username[::-1])


def password_check(throttle):
    later = Later()
    check = PasswordCheck(Accounts(), throttle, lambda request: request, later, site="Test")
    return later, check


def test_a_hundred_right_web_sign_ins_at_once_from_one_address_all_succeed():
    _, throttle = login_throttle(logins_in_progress=100)
    later, check = password_check(throttle)
    results = [
        check("192.0.2.1", f"operator{n}", f"operator{n}"[::-1]) for n in range(100)
    ]
    later.finish()
    assert [done.result for done in results] == [f"operator{n}" for n in range(100)]
    assert not throttle.blocked("192.0.2.1", "mallory")


def test_web_sign_ins_beyond_those_under_way_are_refused_and_failures_count():
    _, throttle = login_throttle(failures_allowed=3, logins_in_progress=4)
    later, check = password_check(throttle)
    results = [check("192.0.2.1", f"user{n}", "guess") for n in range(4)]
    with pytest.raises(Throttled):
        check("192.0.2.1", "user9", "guess")
    later.finish()
    assert [done.result for done in results] == [None] * 4
    with pytest.raises(Throttled):
        check("192.0.2.1", "user0", "0resu")


def test_a_web_sign_in_whose_check_breaks_counts_as_failed():
    _, throttle = login_throttle(failures_allowed=1)
    check = PasswordCheck(
        Accounts(), throttle, lambda request: request,
        lambda function, *args: defer.fail(RuntimeError("pool gone")),
    )
    broken = check("192.0.2.1", "alice", "ecila")
    assert broken.result.check(RuntimeError)
    broken.addErrback(lambda _: None)
    assert throttle.blocked("192.0.2.1", "bob")
