# -*- test-case-name: tests.test_xmpp_carbons -*-
"""
Message carbons (XEP-0280): every resource of an account that asks for them
gets a copy of the chat messages its other resources send and receive, so
the chat with a visitor answered from the desktop is on the phone too.
"""

import weakref

from twisted.words.xish import domish
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.xmpp.namespaces import NS_CARBONS, NS_CLIENT, NS_FORWARD, NS_HINTS
from mcc.xmpp.serialized import standalone

ENABLE = f"/iq[@type='set']/enable[@xmlns='{NS_CARBONS}']"
DISABLE = f"/iq[@type='set']/disable[@xmlns='{NS_CARBONS}']"


def eligible(message):
    """
    Whether C{message} is copied (XEP-0280 section 6): chat messages, and
    normal ones with a body; never carbons themselves or what asks not to.
    """
    kind = message.getAttribute("type", "normal")
    if kind == "chat":
        pass
    elif kind != "normal" or message.body is None:
        return False
    for child in message.elements():
        if child.uri == NS_CARBONS or (child.uri, child.name) == (NS_HINTS, "no-copy"):
            return False
    return True


class Carbons(XMPPHandler, IQHandlerMixin):
    """
    Enabling and disabling, in the accounts collection, and the copies, as
    an observer of L{MessageTaps}.
    """

    iqHandlers = {ENABLE: "on_enable", DISABLE: "on_disable"}

    def __init__(self, sessions):
        XMPPHandler.__init__(self)
        self.sessions = sessions
        self._enabled = weakref.WeakSet()

    def connectionInitialized(self):
        self.xmlstream.addObserver(ENABLE, self.handleRequest)
        self.xmlstream.addObserver(DISABLE, self.handleRequest)

    def on_enable(self, iq):
        self._enabled.add(iq.session)

    def on_disable(self, iq):
        self._enabled.discard(iq.session)

    def is_enabled(self, session):
        return session in self._enabled

    def _copies_for(self, owner, besides):
        return [
            s for s in self.sessions.sessions(owner) if s in self._enabled and s not in besides
        ]

    def sent(self, message):
        if not eligible(message):
            return
        session = message.session
        for target in self._copies_for(session.bare, [session]):
            target.send(_wrap(message, "sent", session.bare, target))

    def receiving(self, message, owner):
        pass

    def received(self, message, owner, sessions):
        if not eligible(message):
            return
        for target in self._copies_for(owner, sessions):
            target.send(_wrap(message, "received", owner, target))


def _wrap(message, direction, owner, target):
    copy = domish.Element((NS_CLIENT, "message"))
    copy["from"] = owner
    copy["to"] = target.jid.full()
    copy["type"] = message.getAttribute("type", "normal")
    forwarded = copy.addElement((NS_CARBONS, direction)).addElement((NS_FORWARD, "forwarded"))
    # Serialized now: the original goes on to other recipients, readdressed.
    forwarded.addRawXml(standalone(message))
    return copy
