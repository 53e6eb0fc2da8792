# -*- test-case-name: tests.test_xmpp_pep,tests.test_xmpp_private,tests.test_xmpp_blocking -*-
"""
What an account's clients keep on the server, so that every client of the
account finds it: private XML, personal eventing nodes, the blocklist, and
when the account last signed out.
"""

from zope.interface import implementer

from mcc.routing.interfaces import IBlocklists, ILastActivity, IPersonalEvents, IPrivateStorage


@implementer(IPrivateStorage)
class PrivateStorage:
    def __init__(self, store):
        self.store = store

    def get(self, owner, namespace, name):
        return self.store.private.get(owner, namespace, name)

    def put(self, owner, namespace, name, xml):
        self.store.private.put(owner, namespace, name, xml)


@implementer(IPersonalEvents)
class PersonalEvents:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def config(self, owner, node):
        return self.store.pep.config(owner, node)

    def nodes(self, owner):
        return self.store.pep.nodes(owner)

    def configure(self, owner, node, config, keep=None):
        with self.store.transaction():
            self.store.pep.configure(owner, node, config)
            if keep is not None:
                self.store.pep.trim(owner, node, keep)

    def delete(self, owner, node):
        self.store.pep.delete(owner, node)

    def publish(self, owner, node, item_id, payload, keep):
        with self.store.transaction():
            self.store.pep.publish(owner, node, item_id, payload, self.clock.seconds(), keep)

    def retract(self, owner, node, item_id):
        return self.store.pep.retract(owner, node, item_id)

    def items(self, owner, node, limit=None, item_ids=None):
        return self.store.pep.items(owner, node, limit, item_ids)


@implementer(IBlocklists)
class Blocklists:
    def __init__(self, store):
        self.store = store

    def blocked(self, owner):
        return self.store.blocklists.blocked(owner)

    def is_blocked(self, owner, address):
        return self.store.blocklists.is_blocked(owner, address)

    def block(self, owner, addresses):
        with self.store.transaction():
            self.store.blocklists.block(owner, addresses)

    def unblock(self, owner, addresses=None):
        with self.store.transaction():
            self.store.blocklists.unblock(owner, addresses)


@implementer(ILastActivity)
class LastActivity:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def signed_out(self, owner, status=""):
        if self.store.users.find(owner) is not None:
            self.store.last_logouts.put(owner, self.clock.seconds(), status)

    def last(self, owner):
        return self.store.last_logouts.get(owner)
