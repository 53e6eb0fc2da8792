# -*- test-case-name: tests.test_routing_services -*-
"""
The vCard each account publishes, kept as the XML the client sent.
"""

from zope.interface import implementer

from mcc.routing.interfaces import IVCards


@implementer(IVCards)
class VCards:
    def __init__(self, store):
        self.store = store

    def get(self, owner):
        return self.store.vcards.get(owner)

    def put(self, owner, vcard):
        self.store.vcards.put(owner, vcard)
