# -*- test-case-name: tests.test_xmpp_private -*-
"""
Private XML storage (XEP-0049): an account's clients keep elements on the
server that only that account reads, such as bookmarks (XEP-0048) for
clients that know no PEP.
"""

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.xmpp import jids
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_PRIVATE

QUERY = f"/query[@xmlns='{NS_PRIVATE}']"


class PrivateStorageService(XMPPHandler, IQHandlerMixin):
    iqHandlers = {
        "/iq[@type='get']" + QUERY: "on_get",
        "/iq[@type='set']" + QUERY: "on_set",
    }

    def __init__(self, storage):
        XMPPHandler.__init__(self)
        self.storage = storage

    def connectionInitialized(self):
        self.xmlstream.addObserver("/iq[@type='get' or @type='set']" + QUERY, self.handleRequest)

    @staticmethod
    def _elements(iq):
        """
        The account and the one element asked for or stored (section 3).
        """
        owner = jids.parse(iq.getAttribute("to") or iq["from"]).userhost()
        if owner != jids.parse(iq["from"]).userhost():
            raise error.StanzaError("forbidden", text="only your own private storage")
        children = list(iq.query.elements())
        if len(children) != 1:
            raise error.StanzaError("not-acceptable", text="exactly one element is stored")
        (child,) = children
        if not child.uri or child.uri.startswith("jabber:"):
            # Section 3.3: jabber: namespaces are not for private data.
            raise error.StanzaError("not-acceptable", text=f"{child.uri!r} cannot be stored")
        return localpart(owner), child

    def on_get(self, iq):
        owner, asked = self._elements(iq)
        query = domish.Element((NS_PRIVATE, "query"))
        stored = self.storage.get(owner, asked.uri, asked.name)
        if stored is None:
            query.addChild(domish.Element((asked.uri, asked.name)))
        else:
            # Raw: wokkel's parseXml drops the text of the root element.
            query.addRawXml(stored)
        return query

    def on_set(self, iq):
        owner, element = self._elements(iq)
        self.storage.put(owner, element.uri, element.name, element.toXml())
