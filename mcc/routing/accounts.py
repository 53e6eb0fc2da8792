# -*- test-case-name: tests.test_routing_accounts -*-
"""
Operator and admin accounts, as the admin site and the web sign-in use them.
"""


class Accounts:
    """
    Account rules above the store: sign-in checks and disabling, which must
    reach the live XMPP sessions at once.

    C{on_disabled} observers get the username of an account just disabled
    or removed; the XMPP server closes its sessions.
    """

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self.on_disabled = []

    def authenticate(self, username, password):
        """
        The enabled L{User} whose password this is, else C{None}.
        """
        user = self.store.users.find(username.strip().lower())
        if user is None or user.disabled or not user.credentials.verify(password):
            return None
        return user

    def add(self, username, password, is_admin=False, display_name="", email=""):
        return self.store.users.add(
            username,
            password,
            now=self.clock.seconds(),
            is_admin=is_admin,
            display_name=display_name,
            email=email,
        )

    def set_disabled(self, username, disabled):
        self.store.users.set_disabled(username, disabled)
        if disabled:
            self._disabled(username)

    def remove(self, username):
        self.store.users.remove(username)
        self._disabled(username)

    def _disabled(self, username):
        for observer in list(self.on_disabled):
            observer(username)

    def get(self, username):
        return self.store.users.get(username)

    def find(self, username):
        """
        The L{User} named C{username}, or C{None}.
        """
        return self.store.users.find(username)
