# -*- test-case-name: tests.test_admin_sessions -*-
"""
Admin site sessions, kept in memory: a restart signs everybody out, which
is fine for a handful of administrators.
"""

from dataclasses import dataclass

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

    def __len__(self):
        return len(self._sessions)

    def _prune(self):
        now = self._clock.seconds()
        expired = [key for key, session in self._sessions.items() if session.expires_at <= now]
        for session_id in expired:
            del self._sessions[session_id]
