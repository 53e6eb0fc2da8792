# -*- test-case-name: tests.test_routing_services -*-
"""
Rosters and subscription requests, as the XMPP server keeps them for its
accounts.  L{RosterItem} is the value the adapters build and read.
"""

from zope.interface import implementer

from mcc.routing.interfaces import IRosters
from mcc.store.rosters import RosterItem

__all__ = ["RosterItem", "Rosters"]


@implementer(IRosters)
class Rosters:
    """
    The roster rules live in the XMPP server's subscription states; here
    they reach the store, and nothing else does.
    """

    def __init__(self, store):
        self.store = store

    def items(self, owner):
        return self.store.rosters.items(owner)

    def get(self, owner, contact):
        return self.store.rosters.get(owner, contact)

    def put(self, owner, item):
        self.store.rosters.put(owner, item)

    def remove(self, owner, contact):
        self.store.rosters.remove(owner, contact)

    def add_request(self, owner, requester, stanza):
        self.store.rosters.add_request(owner, requester, stanza)

    def requests(self, owner):
        return self.store.rosters.requests(owner)

    def has_request(self, owner, requester):
        return self.store.rosters.has_request(owner, requester)

    def remove_request(self, owner, requester):
        self.store.rosters.remove_request(owner, requester)
