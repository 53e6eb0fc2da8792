# -*- test-case-name: tests.test_admin,tests.test_cli,tests.test_routing_services,tests.test_components -*-
"""
Operator and admin accounts, as the admin site and the web sign-in use them.
"""

import re
import secrets

from mcc.credentials import Credentials

from zope.interface import implementer

from mcc.routing.interfaces import IAccounts

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
MAX_DISPLAY_NAME_LENGTH = 100


class AccountError(ValueError):
    """
    A change refused by the account rules; the message says why.
    """


@implementer(IAccounts)
class Accounts:
    """
    Account rules above the store: sign-in checks, and the changes that
    must reach the live XMPP sessions at once.

    C{on_sessions_ended} observers get the username of an account whose
    sessions must end, and why: just disabled, removed, or given a new
    password, which the sessions logged in with the old one must not
    outlive.  The XMPP server closes its sessions.
    """

    def __init__(self, store, clock, made_up_credentials=None):
        self.store = store
        self.clock = clock
        self.on_sessions_ended = []
        self._made_up_credentials = made_up_credentials
        self.reserved = lambda username: False
        """
        Whether a name is taken by something other than an account: a
        queue's XMPP address on the service's domain.
        """

    def authenticate(self, username, password):
        """
        The enabled L{User} whose password this is, else C{None}.
        """
        user, credentials = self.sign_in_check(username)
        if not credentials.verify(password) or user is None:
            return None
        return user

    def sign_in_check(self, username):
        """
        The enabled L{User} called C{username} and the credentials its
        password must match; C{None} and made-up credentials when there is
        no such user, which cost the same to check and never match: a
        sign-in takes as long whether the account exists or not.

        Checking the password (PBKDF2) is left to the caller, who may run it
        in a thread: it touches no store.
        """
        user = self.store.users.find(username.strip().lower())
        if user is None or user.disabled:
            return None, self._made_up()
        return user, user.credentials

    def _made_up(self):
        if self._made_up_credentials is None:
            self._made_up_credentials = Credentials.from_password(secrets.token_urlsafe(24))
        return self._made_up_credentials

    def add(self, username, password, is_admin=False, display_name="", email=""):
        _check_password(password)
        _check_display_name(display_name)
        _check_email(email)
        if self.reserved(username.strip().lower()):
            raise AccountError(f"{username!r} is a queue's XMPP address")
        return self.store.users.add(
            username,
            password,
            now=self.clock.seconds(),
            is_admin=is_admin,
            display_name=display_name,
            email=email,
        )

    def update_profile(self, username, display_name, email, is_admin):
        _check_display_name(display_name)
        _check_email(email)
        user = self.store.users.get(username)
        if not is_admin:
            self._keep_an_admin(user, "taking away the admin flag")
        self.store.users.set_profile(user.username, display_name, email, is_admin)
        return self.store.users.get(user.username)

    def reset_password(self, username, password):
        _check_password(password)
        user = self.store.users.get(username)
        self.store.users.set_password(user.username, password)
        self._end_sessions(user.username, "password changed")

    def set_disabled(self, username, disabled):
        user = self.store.users.get(username)
        if disabled:
            self._keep_an_admin(user, "disabling it")
        self.store.users.set_disabled(user.username, disabled)
        if disabled:
            self._end_sessions(user.username, "account disabled")

    def remove(self, username):
        user = self.store.users.get(username)
        self._keep_an_admin(user, "deleting it")
        self.store.users.remove(user.username)
        self._end_sessions(user.username, "account deleted")

    def _keep_an_admin(self, user, change):
        """
        Refuse C{change} to C{user} when it is the last enabled
        administrator: nobody could use the admin site any more.
        """
        if not user.is_admin or user.disabled:
            return
        if not any(
            other.is_admin and not other.disabled and other.username != user.username
            for other in self.store.users.all()
        ):
            raise AccountError(
                f"{user.username} is the only enabled administrator: {change} "
                "would leave nobody to run the admin site"
            )

    def _end_sessions(self, username, reason):
        for observer in list(self.on_sessions_ended):
            observer(username, reason)

    def get(self, username):
        return self.store.users.get(username)

    def all(self):
        return self.store.users.all()

    def find(self, username):
        """
        The L{User} named C{username}, or C{None}.
        """
        return self.store.users.find(username)


def _check_password(password):
    if not password:
        raise AccountError("the password cannot be empty")


def _check_display_name(display_name):
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise AccountError(f"a display name has at most {MAX_DISPLAY_NAME_LENGTH} characters")


def _check_email(email):
    if email and not EMAIL.fullmatch(email):
        raise AccountError(f"{email!r} is not an e-mail address like name@example.org")
