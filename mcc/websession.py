# -*- test-case-name: tests.test_admin_sessions,tests.test_admin,tests.test_webclient_http -*-
"""
What the sites operators sign in to (the admin site, the web chat client)
share: sessions kept in memory (a restart signs everybody out), the session
cookie, the CSRF check, the security headers, and the throttled password
check.  Each site has its own cookie and store, and the same rules.
"""

import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from twisted.logger import Logger

log = Logger()

CSRF_HEADER = b"x-csrf-token"

SECURITY_HEADERS = {
    b"cache-control": b"no-store",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"content-security-policy": (
        b"default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}

TOKEN_BYTES = 32
MAX_ANONYMOUS = 1000
"""
Sessions not signed in (one for each visit of the sign-in page) kept at
most: past that the oldest goes, so that nobody can fill the memory by
fetching the sign-in page.  Its browser is asked to sign in again.
"""


@dataclass
class Session:
    """
    One browser's visit: anonymous until its user signs in.

    C{csrf_token} goes into every form the session is shown; C{flash} is a
    one-time message for the next page, after a redirect.
    """

    id: str
    csrf_token: str
    expires_at: float
    username: str | None = None
    flash: str | None = None

    def pop_flash(self):
        flash, self.flash = self.flash, None
        return flash


class SessionStore:
    """
    Sessions by id; a session expires C{lifetime} seconds after it was last
    used, measured on C{clock}; ids and tokens come from C{random_bytes}.
    """

    def __init__(self, clock, random_bytes, lifetime):
        self._clock = clock
        self._random_bytes = random_bytes
        self.lifetime = lifetime
        self._sessions = {}

    def _token(self):
        return self._random_bytes(TOKEN_BYTES).hex()

    def create(self, username=None):
        self._prune()
        if username is None:
            anonymous = [s for s in self._sessions.values() if s.username is None]
            for oldest in anonymous[: max(0, len(anonymous) - MAX_ANONYMOUS + 1)]:
                self.discard(oldest)
        expires_at = self._clock.seconds() + self.lifetime
        session = Session(self._token(), self._token(), expires_at, username)
        self._sessions[session.id] = session
        return session

    def get(self, session_id, extend=True):
        """
        The live session C{session_id}, or C{None}.

        @param extend: whether this use counts as activity that pushes the
            expiry back; background polling does not.
        """
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock.seconds()
        if session.expires_at <= now:
            del self._sessions[session_id]
            return None
        if extend:
            session.expires_at = now + self.lifetime
        return session

    def discard(self, session):
        self._sessions.pop(session.id, None)

    def discard_user(self, username, keep=None):
        """
        End every session of C{username} but C{keep}: after a new password,
        a browser signed in with the old one has to sign in again.
        """
        for session in list(self._sessions.values()):
            if session.username == username and session is not keep:
                self.discard(session)

    def has_user(self, username):
        """
        Whether C{username} is still signed in somewhere.
        """
        return any(session.username == username for session in self._sessions.values())

    def __len__(self):
        return len(self._sessions)

    def _prune(self):
        now = self._clock.seconds()
        expired = [key for key, session in self._sessions.items() if session.expires_at <= now]
        for session_id in expired:
            del self._sessions[session_id]


def csrf_ok(request, session):
    """
    Whether a post carries its session's token, in the form body or the
    C{X-CSRF-Token} header.  A token in the query string refuses the post:
    URLs end up in logs, histories and Referer headers.
    """
    query = urlsplit(request.uri).query
    if b"csrf" in parse_qs(query):
        return False
    sent = request.getHeader(CSRF_HEADER) or request.args.get(b"csrf", [b""])[0]
    return hmac.compare_digest(sent, session.csrf_token.encode("ascii"))


def form_text(request, name, strip=True):
    value = request.args.get(name.encode("ascii"), [b""])[0].decode("utf-8", "replace")
    return value.strip() if strip else value


class Throttled(Exception):
    """
    Too many failed sign-ins from this address lately.
    """


class CookieSessions:
    """
    A site's sessions as its browsers hold them: a L{SessionStore} behind a
    cookie C{name} scoped to C{path}, HttpOnly, SameSite=Lax, and Secure
    when the request or the public URL is HTTPS.
    """

    def __init__(self, store, name, path, public_url=""):
        self.store = store
        self.name = name
        self.path = path
        self.public_url = public_url

    def get(self, request, extend=True):
        cookie = request.getCookie(self.name)
        if not cookie:
            return None
        return self.store.get(cookie.decode("ascii", "replace"), extend=extend)

    def start(self, request, username=None):
        session = self.store.create(username)
        self.set_cookie(request, session.id.encode("ascii"))
        return session

    def end(self, request, session):
        self.store.discard(session)
        self.set_cookie(request, b"", max_age=b"0")

    def set_cookie(self, request, value, **attributes):
        request.addCookie(
            self.name,
            value,
            path=self.path,
            httpOnly=True,
            sameSite="lax",
            secure=request.isSecure() or self.public_url.startswith("https://"),
            **attributes,
        )


class PasswordCheck:
    """
    Signing in with an account's password, throttled per address and per
    account (a L{mcc.throttle.LoginThrottle}): unknown and disabled accounts
    are checked against made-up credentials, as slow as a real check, so
    that they reveal no account.  Each failure is logged as C{site}'s.

    @param run_in_thread: C{(function, *args) -> Deferred}, where PBKDF2
        runs, off the reactor thread in production.
    """

    def __init__(self, accounts, throttle, client_address, run_in_thread, site="Web"):
        self.accounts = accounts
        self.throttle = throttle
        self.client_address = client_address
        self.run_in_thread = run_in_thread
        self.site = site

    def __call__(self, request, username, password):
        """
        A Deferred firing with the enabled user whose password this is, or
        C{None} (a failure, counted); raises L{Throttled} at once while the
        request's address, or the account, is blocked.
        """
        address = self.client_address(request)
        account = username.casefold()
        if self.throttle.blocked(address, account):
            self._failed(username, address, "throttled")
            raise Throttled(address)
        # Under way until the check ends, which it does even if the browser
        # went away meanwhile; only a right password does not count as failed.
        attempt = self.throttle.attempt(address, account)
        try:
            user, credentials = self.accounts.sign_in_check(username)
            checked = self.run_in_thread(credentials.verify, password)
        except BaseException:
            attempt.failed()
            raise
        checked.addCallback(self._checked, attempt, username, user)
        return checked.addErrback(self._broken, attempt)

    def _checked(self, verified, attempt, username, user):
        if not verified or user is None:
            attempt.failed()
            self._failed(username, attempt.address, "not-authorized")
            return None
        # Only this attempt is forgotten: the address's other failures stay
        # to expire, or anyone with an account could interleave guesses.
        attempt.succeeded()
        return user

    def _broken(self, failure, attempt):
        attempt.failed()
        return failure

    def _failed(self, username, address, reason):
        log.info(
            self.site + " sign-in failed for {username!r} from {address}: {reason}",
            username=username, address=address, reason=reason,
        )
