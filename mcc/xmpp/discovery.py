# -*- test-case-name: tests.test_xmpp_discovery -*-
"""
What the server and its accounts say about themselves: service discovery
(XEP-0030) identities and features, and the legacy session request.
"""

from twisted.internet import defer
from wokkel import disco
from wokkel.iwokkel import IDisco
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler
from zope.interface import implementer

from mcc.xmpp.caps import CAPS_NODE, caps_element, verification
from mcc.xmpp.namespaces import (
    NS_OFFLINE,
    NS_PING,
    NS_ROSTER,
    NS_SESSION,
    NS_VCARD,
    NS_VERSION,
)


@implementer(IDisco)
class DomainInfo(XMPPHandler):
    """
    The server's identity and the features it serves, on the domain JID.

    @ivar features: the namespaces of what the server's handlers implement.
    """

    FEATURES = (
        disco.NS_DISCO_INFO,
        disco.NS_DISCO_ITEMS,
        NS_ROSTER,
        NS_VCARD,
        NS_OFFLINE,
    )

    IDENTITY = ("server", "im", "", "mcc")
    SIBLING_FEATURES = (NS_PING, NS_VERSION)
    """
    What wokkel's ping and version handlers next to this one list.
    """

    def __init__(self, features=FEATURES):
        XMPPHandler.__init__(self)
        self.features = tuple(features)
        self.ver = verification([self.IDENTITY], self.features + self.SIBLING_FEATURES)
        """
        The verification string of this information (XEP-0115), which the
        stream features carry.
        """

    def caps(self):
        return caps_element(self.ver)

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        features = self.features
        if nodeIdentifier == f"{CAPS_NODE}#{self.ver}":
            # The siblings answer only without a node.
            features += self.SIBLING_FEATURES
        elif nodeIdentifier:
            return defer.succeed([])
        category, kind, _, name = self.IDENTITY
        return defer.succeed(
            [disco.DiscoIdentity(category, kind, name)]
            + [disco.DiscoFeature(feature) for feature in features]
        )

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])


@implementer(IDisco)
class AccountInfo(XMPPHandler):
    """
    What the server answers for an account's bare JID (XEP-0030 section 3).

    @ivar features: what the server does on behalf of every account.
    """

    FEATURES = (disco.NS_DISCO_INFO, disco.NS_DISCO_ITEMS, NS_VCARD)

    def __init__(self, features=FEATURES, identities=()):
        """
        @param identities: C{(category, type)} besides C{account/registered},
            such as C{pubsub/pep}.
        """
        XMPPHandler.__init__(self)
        self.features = tuple(features)
        self.identities = (("account", "registered"),) + tuple(identities)

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if nodeIdentifier:
            return defer.succeed([])
        return defer.succeed(
            [disco.DiscoIdentity(category, kind) for category, kind in self.identities]
            + [disco.DiscoFeature(feature) for feature in self.features]
        )

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])


class LegacySession(XMPPHandler, IQHandlerMixin):
    """
    RFC 3921 session establishment, which libpurple 2.14 still sends and
    treats any error as fatal: it always gets an empty result.
    """

    SESSION = f"/iq[@type='set']/session[@xmlns='{NS_SESSION}']"
    iqHandlers = {SESSION: "on_session"}

    def connectionInitialized(self):
        self.xmlstream.addObserver(self.SESSION, self.handleRequest)

    def on_session(self, iq):
        return None
