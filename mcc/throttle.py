# -*- test-case-name: tests.test_throttle -*-
"""
Limits on how often one client address may do something: fail to log in
(XMPP and the admin sign-in) or start chats (the visitor API); and on how
often one account may be guessed at, from however many addresses.
"""

from collections import OrderedDict, deque

PRUNE_ABOVE = 10_000
"""
Once this many addresses are tracked, those with nothing recent are dropped,
so that many one-off addresses cannot make the table grow for ever.
"""


class Throttle:
    """
    Refuse a key (an address) that did something C{limit} times within
    C{window} seconds.
    """

    def __init__(self, clock, limit, window):
        self._clock = clock
        self.limit = limit
        self.window = window
        self._events = {}

    def _recent(self, key):
        events = self._events.get(key)
        if events is None:
            return 0
        oldest_allowed = self._clock.seconds() - self.window
        while events and events[0] <= oldest_allowed:
            events.popleft()
        if not events:
            del self._events[key]
            return 0
        return len(events)

    def blocked(self, key):
        return self._recent(key) >= self.limit

    def record(self, key):
        """
        Note one event for C{key} now; return its time, for L{forget}.
        """
        if len(self._events) > PRUNE_ABOVE:
            for stale in list(self._events):
                self._recent(stale)
        self._recent(key)
        now = self._clock.seconds()
        self._events.setdefault(key, deque()).append(now)
        return now

    def forget(self, key, when):
        """
        Take back one event of C{key} recorded at C{when}, if still counted.
        """
        events = self._events.get(key)
        if events is not None and when in events:
            events.remove(when)
            if not events:
                del self._events[key]

    def __len__(self):
        return len(self._events)


class LoginThrottle:
    """
    Failed logins, counted per address and per account.

    An address that failed C{failures_allowed} times within C{window}
    seconds is refused.  An account that failed C{account_failures_allowed}
    times, from anywhere, is locked for C{account_backoff} seconds after its
    last failure, twice as long after each further one up to
    C{account_max_backoff}; it is forgotten once quiet for
    C{account_window}.  So guesses spread over many addresses slow down to
    one per C{account_max_backoff}.

    Neither limit stops the account's owner: from an address that logged
    into an account before (the last C{known_addresses} of them), logins to
    that account only count their own failures there, with the address's
    limit.  Someone else's guesses, from that address or elsewhere, do not
    lock them out.

    A login counts as failed from the moment it starts (see L{attempt}),
    so exchanges given up half-way, or run in parallel, count too.
    """

    def __init__(
        self,
        clock,
        failures_allowed=5,
        window=60.0,
        account_failures_allowed=10,
        account_backoff=2.0,
        account_max_backoff=900.0,
        account_window=3600.0,
        known_addresses=16,
    ):
        self._clock = clock
        self.window = window
        self.account_failures_allowed = account_failures_allowed
        self.account_backoff = account_backoff
        self.account_max_backoff = account_max_backoff
        self.account_window = account_window
        self.known_addresses = known_addresses
        self._addresses = Throttle(clock, failures_allowed, window)
        self._pairs = Throttle(clock, failures_allowed, window)
        self._accounts = {}
        self._known = {}

    def _known_good(self, address, account):
        return address in self._known.get(account, ())

    def _account_failures(self, account):
        failures = self._accounts.get(account)
        if failures and self._clock.seconds() - failures[-1] >= self.account_window:
            del self._accounts[account]
            return None
        return failures

    def _account_unlocks(self, account):
        """
        When the account may be tried again by an unknown address.
        """
        failures = self._account_failures(account)
        if not failures or len(failures) < self.account_failures_allowed:
            return self._clock.seconds()
        excess = len(failures) - self.account_failures_allowed
        return failures[-1] + min(self.account_max_backoff, self.account_backoff * 2**excess)

    def blocked(self, address, account):
        """
        Whether a login to C{account} from C{address} must be refused
        without checking its password.
        """
        if self._known_good(address, account):
            return self._pairs.blocked((address, account))
        return (
            self._addresses.blocked(address)
            or self._account_unlocks(account) > self._clock.seconds()
        )

    def attempt(self, address, account):
        """
        Count a login to C{account} from C{address} as failed until the
        returned L{LoginAttempt} is told it succeeded.
        """
        if len(self._accounts) > PRUNE_ABOVE:
            for stale in list(self._accounts):
                self._account_failures(stale)
        failures = self._account_failures(account)
        if failures is None:
            # Long enough to reach the longest wait and stay there.
            failures = self._accounts[account] = deque(
                maxlen=self.account_failures_allowed + 32
            )
        when = self._clock.seconds()
        failures.append(when)
        recorded = (
            when,
            self._addresses.record(address),
            self._pairs.record((address, account)),
        )
        return LoginAttempt(self, address, account, recorded)

    def failed(self, address, account):
        """
        Count a failed login at once.
        """
        self.attempt(address, account)

    def _succeeded(self, attempt):
        address, account = attempt.address, attempt.account
        when, address_when, pair_when = attempt.recorded
        self._addresses.forget(address, address_when)
        self._pairs.forget((address, account), pair_when)
        failures = self._accounts.get(account)
        if failures is not None and when in failures:
            failures.remove(when)
            if not failures:
                del self._accounts[account]
        known = self._known.setdefault(account, OrderedDict())
        known[address] = True
        known.move_to_end(address)
        while len(known) > self.known_addresses:
            known.popitem(last=False)


class LoginAttempt:
    """
    One login under way, counted as failed unless L{succeeded} is called.
    """

    def __init__(self, throttle, address, account, recorded):
        self._throttle = throttle
        self.address = address
        self.account = account
        self.recorded = recorded
        self._settled = False

    def succeeded(self):
        """
        The password was right: the login no longer counts as failed, and
        its address is known to the account from now on.
        """
        if not self._settled:
            self._settled = True
            self._throttle._succeeded(self)
