# -*- test-case-name: tests.test_xmpp_vcard -*-
"""
vcard-temp (XEP-0054): the profile and avatar that Pidgin and Gajim show.
"""

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wokkel.generic import parseXml
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.xmpp import jids
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_VCARD

VCARD = f"/vCard[@xmlns='{NS_VCARD}']"


class VCardService(XMPPHandler, IQHandlerMixin):
    iqHandlers = {
        "/iq[@type='get']" + VCARD: "on_get",
        "/iq[@type='set']" + VCARD: "on_set",
    }

    def __init__(self, vcards):
        XMPPHandler.__init__(self)
        self.vcards = vcards

    def connectionInitialized(self):
        self.xmlstream.addObserver("/iq[@type='get' or @type='set']" + VCARD, self.handleRequest)

    @staticmethod
    def _owner(iq):
        recipient = iq.getAttribute("to")
        return jids.parse(recipient or iq["from"]).userhost()

    def on_get(self, iq):
        stored = self.vcards.get(localpart(self._owner(iq)))
        return domish.Element((NS_VCARD, "vCard")) if stored is None else parseXml(stored)

    def on_set(self, iq):
        owner = self._owner(iq)
        if owner != jids.parse(iq["from"]).userhost():
            raise error.StanzaError("forbidden", text="only your own vCard")
        self.vcards.put(localpart(owner), iq.vCard.toXml())
