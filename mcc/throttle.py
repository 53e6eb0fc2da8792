# -*- test-case-name: tests.test_throttle -*-
"""
Limits on how often one client address may do something: fail to log in
(XMPP and the admin sign-in) or start chats (the visitor API); and on how
often one account may be guessed at, from however many addresses.
"""

from collections import OrderedDict, deque

from mcc.config import Config

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
        Note one event for C{key} now.
        """
        if len(self._events) > PRUNE_ABOVE:
            for stale in list(self._events):
                self._recent(stale)
        self._recent(key)
        self._events.setdefault(key, deque()).append(self._clock.seconds())

    def __len__(self):
        return len(self._events)


class InProgress:
    """
    How many of something are under way per key; a key with none is not
    kept, so the table is as large as what is under way.
    """

    def __init__(self):
        self._counts = {}

    def count(self, key):
        return self._counts.get(key, 0)

    def begin(self, key):
        self._counts[key] = self._counts.get(key, 0) + 1

    def end(self, key):
        left = self._counts.get(key, 0) - 1
        if left > 0:
            self._counts[key] = left
        else:
            self._counts.pop(key, None)

    def __len__(self):
        return len(self._counts)


class LoginThrottle:
    """
    Failed logins, counted per address and per account, and logins under
    way.

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

    A login counts as failed when it fails or is given up half-way (see
    L{LoginAttempt}); one that succeeds never counts, however many run at
    once.  While it is under way it counts against
    C{logins_in_progress}: an address (and an account, from addresses not
    known to it; or an address known to the account, for that account)
    with that many logins under way is refused a new one.  So guesses made
    in parallel from one address stop after fewer than C{failures_allowed}
    + C{logins_in_progress} per C{window}.
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
        logins_in_progress=Config.logins_in_progress_per_address,
    ):
        self._clock = clock
        self.window = window
        self.account_failures_allowed = account_failures_allowed
        self.account_backoff = account_backoff
        self.account_max_backoff = account_max_backoff
        self.account_window = account_window
        self.known_addresses = known_addresses
        self.logins_in_progress = logins_in_progress
        self._addresses = Throttle(clock, failures_allowed, window)
        self._pairs = Throttle(clock, failures_allowed, window)
        self._accounts = {}
        self._known = {}
        self._address_logins = InProgress()
        self._account_logins = InProgress()
        self._pair_logins = InProgress()

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
        busy = self.logins_in_progress
        if self._known_good(address, account):
            pair = (address, account)
            return self._pairs.blocked(pair) or self._pair_logins.count(pair) >= busy
        return (
            self._addresses.blocked(address)
            or self._address_logins.count(address) >= busy
            or self._account_logins.count(account) >= busy
            or self._account_unlocks(account) > self._clock.seconds()
        )

    def attempt(self, address, account):
        """
        A login to C{account} from C{address} begins: under way until the
        returned L{LoginAttempt} is told how it ended.
        """
        self._address_logins.begin(address)
        self._account_logins.begin(account)
        self._pair_logins.begin((address, account))
        return LoginAttempt(self, address, account)

    def failed(self, address, account):
        """
        Count a failed login at once.
        """
        self.attempt(address, account).failed()

    def _ended(self, attempt):
        address, account = attempt.address, attempt.account
        self._address_logins.end(address)
        self._account_logins.end(account)
        self._pair_logins.end((address, account))

    def _failed(self, attempt):
        self._ended(attempt)
        address, account = attempt.address, attempt.account
        if len(self._accounts) > PRUNE_ABOVE:
            for stale in list(self._accounts):
                self._account_failures(stale)
        failures = self._account_failures(account)
        if failures is None:
            # Long enough to reach the longest wait and stay there.
            failures = self._accounts[account] = deque(
                maxlen=self.account_failures_allowed + 32
            )
        failures.append(self._clock.seconds())
        self._addresses.record(address)
        self._pairs.record((address, account))

    def _succeeded(self, attempt):
        self._ended(attempt)
        address, account = attempt.address, attempt.account
        known = self._known.setdefault(account, OrderedDict())
        known[address] = True
        known.move_to_end(address)
        while len(known) > self.known_addresses:
            known.popitem(last=False)


class LoginAttempt:
    """
    One login under way, until L{succeeded} or L{failed} is called; only
    the first call counts.
    """

    def __init__(self, throttle, address, account):
        self._throttle = throttle
        self.address = address
        self.account = account
        self.settled = False

    def succeeded(self):
        """
        The password was right: the login does not count as failed, and its
        address is known to the account from now on.
        """
        if not self.settled:
            self.settled = True
            self._throttle._succeeded(self)

    def failed(self):
        """
        The login failed, or was given up before it ended: it counts as a
        failure of its address and its account.
        """
        if not self.settled:
            self.settled = True
            self._throttle._failed(self)
