# -*- test-case-name: tests.test_push -*-
"""
Push (XEP-0357) on an account: C{<enable/>} and C{<disable/>} from its own
clients, the feature in the account's disco#info, and a message that finds
none of its sessions connected handed to the routing layer's
L{mcc.routing.push.PushServices}.
"""

from twisted.internet import defer
from twisted.words.protocols.jabber import jid
from twisted.words.protocols.jabber.error import StanzaError
from wokkel import disco
from wokkel.iwokkel import IDisco
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler
from zope.interface import implementer

from mcc.xmpp import jids
from mcc.xmpp.jids import localpart

NS_PUSH = "urn:xmpp:push:0"


@implementer(IDisco)
class PushNotifications(XMPPHandler, IQHandlerMixin):
    ENABLE = f"/iq[@type='set']/enable[@xmlns='{NS_PUSH}']"
    DISABLE = f"/iq[@type='set']/disable[@xmlns='{NS_PUSH}']"
    iqHandlers = {ENABLE: "on_enable", DISABLE: "on_disable"}

    def __init__(self, push, sessions):
        XMPPHandler.__init__(self)
        self.push = push
        self.sessions = sessions

    def connectionInitialized(self):
        self.xmlstream.addObserver(self.ENABLE, self.handleRequest)
        self.xmlstream.addObserver(self.DISABLE, self.handleRequest)
        self.xmlstream.addObserver("/message", self.on_message, priority=1)

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if nodeIdentifier:
            return defer.succeed([])
        return defer.succeed([disco.DiscoFeature(NS_PUSH)])

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])

    def _owner(self, iq):
        """
        The account enabling or disabling: only its own clients may.
        """
        sender = jids.parse(iq["from"]).userhost()
        if iq.getAttribute("to") and jids.parse(iq["to"]).userhost() != sender:
            raise StanzaError("forbidden", text="push is set up by the account's own clients")
        return localpart(sender)

    def _app_server(self, element):
        try:
            return jids.parse(element.getAttribute("jid", "")).full()
        except jid.InvalidFormat:
            raise StanzaError("bad-request", text="push needs the app server's JID") from None

    def on_enable(self, iq):
        owner = self._owner(iq)
        try:
            self.push.enable(owner, self._app_server(iq.enable), iq.enable.getAttribute("node"))
        except ValueError as problem:
            raise StanzaError("bad-request", text=str(problem)) from None

    def on_disable(self, iq):
        owner = self._owner(iq)
        self.push.disable(owner, self._app_server(iq.disable), iq.disable.getAttribute("node"))

    def on_message(self, message):
        """
        Before delivery: a message with a body for an account none of
        whose sessions has a connection now.
        """
        if message.getAttribute("type", "normal") not in ("normal", "chat") or message.body is None:
            return
        bare = jids.parse(message.getAttribute("to") or message["from"]).userhost()
        if any(s.xmlstream is not None for s in self.sessions.sessions(bare)):
            return
        self.push.message_waiting(localpart(bare))
