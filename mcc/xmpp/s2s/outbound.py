# -*- test-case-name: tests.test_s2s_outbound -*-
"""
Streams we open to other servers.  A link stream carries our stanzas once
it is authenticated: STARTTLS (required), then SASL EXTERNAL when the peer
offers it and our certificate is valid for our domain, else Server
Dialback.  A verify stream asks a domain's authoritative server whether a
dialback key it gave us is right (XEP-0220 section 2.3), then closes.
"""

import base64

from twisted.internet import defer, protocol
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid, xmlstream
from twisted.words.xish import domish

from mcc.xmpp.namespaces import NS_SASL, NS_STREAMS, NS_TLS
from mcc.xmpp.s2s.dialback import NS_DIALBACK, NS_DIALBACK_FEATURE, dialback_element, refusal
from mcc.xmpp.s2s.identity import StreamTLS
from mcc.xmpp.s2s.inbound import NS_SERVER, ServerStream

log = Logger()


class LinkFailed(Exception):
    """
    An outgoing stream ended before it could carry stanzas; C{condition}
    is the stanza error its stanzas are bounced with.
    """

    def __init__(self, condition, text):
        Exception.__init__(self, text)
        self.condition = condition
        self.text = text


class OutboundNegotiation(xmlstream.Authenticator):
    """
    Brings one outgoing stream to C{remote} up, then fires C{ready} with it
    (or fails it with L{LinkFailed}).

    @param verify: C{(stream_id, key, receiving)} to ask the authoritative
        server of C{remote} about instead of authenticating; C{ready} then
        fires with C{(valid, why)}: whether it said the key is valid, and
        what it said, for the log.
    """

    namespace = NS_SERVER

    def __init__(self, federation, remote, verify=None):
        xmlstream.Authenticator.__init__(self)
        self.federation = federation
        self.remote = remote
        self.verify = verify
        self.ready = defer.Deferred(self._cancelled)
        self.tls = None
        self._authenticated = False

    def _cancelled(self, ready):
        """
        Given up on (too slow): the stream is closed, not left to the peer.
        """
        xs = self.xmlstream
        if xs is not None and xs.transport is not None:
            xs.transport.loseConnection()

    def associateWithStream(self, xs):
        xmlstream.Authenticator.associateWithStream(self, xs)
        xs.element_handler = self._element
        xs.namespace = NS_SERVER
        xs.thisEntity = jid.JID(self.federation.domain)
        xs.otherEntity = jid.JID(self.remote)
        xs.addObserver(xmlstream.STREAM_END_EVENT, self._ended)

    def connectionMade(self):
        self.xmlstream.sendHeader()

    def _fail(self, condition, text, stream_error=None):
        if not self.ready.called:
            self.ready.errback(LinkFailed(condition, text))
        xs = self.xmlstream
        if stream_error is not None:
            xs.close_with_error(stream_error, text)
        elif xs.transport is not None:
            xs.transport.loseConnection()

    def _ended(self, reason):
        if not self.ready.called:
            self.ready.errback(LinkFailed("remote-server-not-found", f"the stream to {self.remote} closed"))

    def streamStarted(self, rootElement):
        xmlstream.Authenticator.streamStarted(self, rootElement)
        xs = self.xmlstream
        xs.sid = rootElement.getAttribute("id")
        if self.tls is not None and self.tls.peer.certificate is None:
            self.tls.peer.seen(xs.transport)
        if rootElement.defaultUri != NS_SERVER or rootElement.uri != NS_STREAMS:
            self._fail("remote-server-not-found", f"{self.remote} does not speak jabber:server", "invalid-namespace")
        elif xs.version < (1, 0) or not xs.sid:
            self._fail("remote-server-not-found", f"{self.remote} does not speak XMPP 1.0", "unsupported-version")

    def _element(self, element):
        key = (element.uri, element.name)
        if key == (NS_STREAMS, "error"):
            condition = next((child.name for child in element.elements() if child.name != "text"), "error")
            self._fail("remote-server-not-found", f"{self.remote} sent the stream error {condition}")
        elif key == (NS_STREAMS, "features"):
            self._features(element)
        elif key == (NS_TLS, "proceed"):
            self._proceed()
        elif key == (NS_TLS, "failure"):
            self._fail("remote-server-not-found", f"{self.remote} refused TLS")
        elif key == (NS_SASL, "success"):
            self._authenticated = True
            self.xmlstream.reset()
            self.xmlstream.sendHeader()
        elif key == (NS_SASL, "failure"):
            self._dialback_or_fail()
        elif key == (NS_DIALBACK, "result"):
            self._result(element)
        elif key == (NS_DIALBACK, "verify"):
            self._verified(element)
        elif self.ready.called:
            self.federation.outbound_element(self.remote, self.xmlstream, element)
        else:
            self._fail(
                "remote-server-not-found", f"{self.remote} sent {element.name} too early", "unsupported-stanza-type"
            )

    def _features(self, features):
        self._offered = features
        if self.tls is None:
            if next(features.elements(NS_TLS, "starttls"), None) is None:
                self._fail("remote-server-not-found", f"{self.remote} does not offer TLS", "policy-violation")
                return
            self.xmlstream.send(domish.Element((NS_TLS, "starttls")))
            return
        if self.verify is not None:
            stream_id, key, receiving = self.verify
            self.xmlstream.send(
                dialback_element("verify", receiving, self.remote, key=key, stream_id=stream_id)
            )
            return
        if self._authenticated:
            self._up("SASL EXTERNAL")
            return
        if not self.tls.peer.valid_for(self.remote) and not self.federation.allow_unverified:
            self._fail(
                "remote-server-not-found", f"the certificate of {self.remote} is not valid for it",
                "undefined-condition",
            )
            return
        mechanisms = next(features.elements(NS_SASL, "mechanisms"), None)
        offered = [str(m).strip() for m in mechanisms.elements(NS_SASL, "mechanism")] if mechanisms else []
        if "EXTERNAL" in offered and self.federation.external_allowed:
            auth = domish.Element((NS_SASL, "auth"))
            auth["mechanism"] = "EXTERNAL"
            auth.addContent(base64.b64encode(self.federation.domain.encode("utf-8")).decode("ascii"))
            self.xmlstream.send(auth)
            return
        self._dialback_or_fail()

    def _dialback_or_fail(self):
        features = self._offered
        offered = next(features.elements(NS_DIALBACK_FEATURE, "dialback"), None) is not None
        if not offered and NS_DIALBACK not in (self.xmlstream.prefixes or {}):
            self._fail("remote-server-not-found", f"{self.remote} offers no way to authenticate", "undefined-condition")
            return
        key = self.federation.key_for(self.remote, self.xmlstream.sid)
        self.xmlstream.send(dialback_element("result", self.federation.domain, self.remote, key=key))

    def _proceed(self):
        xs = self.xmlstream
        self.tls = StreamTLS(self.federation.trust, server_name=self.remote)
        xs.transport.startTLS(self.tls)
        xs.reset()
        xs.sendHeader()

    def _result(self, element):
        if (element.getAttribute("from") or "").lower() != self.remote:
            self._fail("remote-server-not-found", "a dialback answer for another domain", "invalid-from")
        elif element.getAttribute("type") == "valid":
            self._up("dialback")
        else:
            self._fail(
                "remote-server-not-found", f"{self.remote} did not accept our dialback key ({refusal(element)})"
            )

    def _verified(self, element):
        if self.verify is None or self.ready.called:
            return
        stream_id = element.getAttribute("id")
        if element.getAttribute("type") != "valid":
            verdict = (False, f"{self.remote}, asked as its authoritative server, did not confirm the key"
                       f" ({refusal(element)})")
        elif stream_id != self.verify[0]:
            verdict = (False, f"{self.remote} confirmed a key for another stream ({stream_id!r})")
        else:
            verdict = (True, f"dialback, confirmed by the authoritative server of {self.remote}")
        self.ready.callback(verdict)
        self.xmlstream.sendFooter()
        self.xmlstream.transport.loseConnection()

    def _up(self, how):
        log.info("Stream to {domain} authenticated by {how}", domain=self.remote, how=how)
        self.ready.callback(self.xmlstream)


class OutboundFactory(protocol.ClientFactory):
    """
    One outgoing stream's protocol, with its L{OutboundNegotiation} as
    C{negotiation}.
    """

    def __init__(self, federation, remote, verify=None):
        self.federation = federation
        self.negotiation = OutboundNegotiation(federation, remote, verify)

    def buildProtocol(self, addr):
        xs = ServerStream(
            self.negotiation, self.federation.clock, self.federation.max_stanza_size, self.federation.max_depth
        )
        xs.factory = self
        xs.group_commit = self.federation.server.group_commit
        return xs
