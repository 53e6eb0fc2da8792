# -*- test-case-name: tests.test_push -*-
"""
Push notifications (XEP-0357): an account's phone app names an app server
and a node; a message that arrives while the account has no connected
session (none, or only ones whose connection dropped) would be announced
there.  mcc talks to no other server, so it says so in the log instead,
once per message, and keeps what the accounts enabled for when it can.
"""

from twisted.logger import Logger

MAX_NODE_LENGTH = 1023

log = Logger()


class PushServices:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def enable(self, owner, app_server, node):
        if not node or len(node) > MAX_NODE_LENGTH:
            raise ValueError(f"a push node is 1 to {MAX_NODE_LENGTH} characters")
        self.store.push.enable(owner, app_server, node, self.clock.seconds())

    def disable(self, owner, app_server, node=None):
        return self.store.push.disable(owner, app_server, node)

    def registrations(self, owner):
        return self.store.push.of(owner)

    def message_waiting(self, owner):
        """
        A message for C{owner} found no connected session: tell each app
        server it enabled, which, without server-to-server links, is a
        line in the log.  Returns the app servers not reached.
        """
        missed = sorted({app for app, _ in self.registrations(owner)})
        for app in missed:
            log.info("push to {app} not sent: no server-to-server links", app=app)
        return missed
