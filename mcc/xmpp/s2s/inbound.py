# -*- test-case-name: tests.test_s2s_inbound -*-
"""
Streams other servers open to us (RFC 6120 section 13.?): STARTTLS first
and required, then the peer proves which domains it sends for, by SASL
EXTERNAL with a certificate valid for the domain or by Server Dialback
(XEP-0220); only then do its stanzas go in, each one's C{from} checked
against the domains proven on that stream.
"""

import base64
import binascii

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid, xmlstream
from twisted.words.xish import domish

from mcc.xmpp import jids
from mcc.xmpp.namespaces import NS_SASL, NS_STREAMS, NS_TLS
from mcc.xmpp.s2s.dialback import NS_DIALBACK, NS_DIALBACK_FEATURE, dialback_element
from mcc.xmpp.s2s.identity import StreamTLS
from mcc.xmpp.stream import GuardedXmlStream

NS_SERVER = "jabber:server"
STANZAS = ("message", "presence", "iq")

log = Logger()


class ServerStream(GuardedXmlStream):
    """
    A C{jabber:server} stream, either way, guarded like clients' streams.
    """

    namespace = NS_SERVER

    def __init__(self, authenticator, clock, max_stanza_size, max_depth):
        GuardedXmlStream.__init__(self, authenticator, clock, max_stanza_size, max_depth)
        self.prefixes = {NS_STREAMS: "stream", NS_DIALBACK: "db"}


class InboundNegotiation(xmlstream.ListenAuthenticator):
    """
    One stream from a peer server, from its header to the stanzas it may
    send.  C{federation} (L{Federation}) holds the policy, the secret, the
    trust store and where the stanzas go.

    @ivar domains: the peer domains this stream has proven it sends for.
    """

    namespace = NS_SERVER

    def __init__(self, federation):
        xmlstream.ListenAuthenticator.__init__(self)
        self.federation = federation
        self.tls = None
        self.peer_domain = None
        self.domains = set()
        self._external_done = False
        self._timeout = None

    def associateWithStream(self, xs):
        xmlstream.ListenAuthenticator.associateWithStream(self, xs)
        xs.element_handler = self._element

    def connectionMade(self):
        self.peer = getattr(self.xmlstream.transport.getPeer(), "host", None)
        self._timeout = self.federation.clock.callLater(self.federation.auth_timeout, self._timed_out)
        self.xmlstream.addObserver(xmlstream.STREAM_END_EVENT, self._ended)

    def _timed_out(self):
        self._timeout = None
        if not self.domains:
            self.xmlstream.close_with_error("connection-timeout", "authentication took too long")

    def _ended(self, reason):
        if self._timeout is not None and self._timeout.active():
            self._timeout.cancel()
        self._timeout = None
        self.federation.inbound_closed(self)

    @property
    def tls_active(self):
        return self.tls is not None

    def streamStarted(self, rootElement):
        xmlstream.Authenticator.streamStarted(self, rootElement)
        xs = self.xmlstream
        xs.namespace = NS_SERVER
        xs.prefixes = {NS_STREAMS: "stream", NS_DIALBACK: "db"}
        xs.sid = self.federation.new_id()
        domain = self.federation.domain
        xs.thisEntity = jid.JID(domain)
        if self.tls is not None and self.tls.peer.certificate is None:
            self.tls.peer.seen(xs.transport)
        sender = (rootElement.getAttribute("from") or "").lower()
        try:
            xs.otherEntity = jid.JID(sender) if sender else None
        except jid.InvalidFormat:
            xs.otherEntity = None
        if rootElement.uri != NS_STREAMS or rootElement.name != "stream":
            xs.close_with_error("invalid-namespace")
        elif rootElement.defaultUri != NS_SERVER:
            xs.close_with_error("invalid-namespace", "this port serves jabber:server")
        elif xs.version < (1, 0):
            xs.close_with_error("unsupported-version", "XMPP 1.0 is required")
        elif (rootElement.getAttribute("to") or "").lower() != domain:
            xs.close_with_error("host-unknown", f"this server is {domain}")
        elif sender and not self.federation.policy.allows(sender):
            log.info("Refused a stream from {domain}: not allowed", domain=sender)
            xs.close_with_error("policy-violation", f"{domain} does not federate with {sender}")
        else:
            self.peer_domain = sender or None
            xs.sendHeader()
            xs.send(self._features())

    def _features(self):
        features = domish.Element((NS_STREAMS, "features"))
        if self.tls is None:
            features.addElement((NS_TLS, "starttls")).addElement("required")
            return features
        if self._external_done:
            return features
        if self.peer_domain and self.tls.peer.valid_for(self.peer_domain):
            features.addElement((NS_SASL, "mechanisms")).addElement("mechanism", content="EXTERNAL")
        features.addElement((NS_DIALBACK_FEATURE, "dialback")).addElement("errors")
        return features

    def _element(self, element):
        xs = self.xmlstream
        if (element.uri, element.name) == (NS_STREAMS, "error"):
            xs.transport.loseConnection()
        elif (element.uri, element.name) == (NS_TLS, "starttls"):
            self._starttls()
        elif self.tls is None:
            xs.close_with_error("policy-violation", "STARTTLS is required first")
        elif (element.uri, element.name) == (NS_SASL, "auth"):
            self._auth(element)
        elif (element.uri, element.name) == (NS_DIALBACK, "result"):
            self._result(element)
        elif (element.uri, element.name) == (NS_DIALBACK, "verify"):
            self._verify(element)
        elif element.uri == NS_SERVER and element.name in STANZAS:
            self._stanza(element)
        else:
            xs.close_with_error("unsupported-stanza-type")

    def _starttls(self):
        xs = self.xmlstream
        if self.tls is not None:
            xs.close_with_error("policy-violation", "TLS is already active")
            return
        xs.send(domish.Element((NS_TLS, "proceed")))
        # The proceed goes in the clear: written now, not kept until the
        # read that asked for it is handled, when TLS has begun.
        xs.flush()
        self.tls = StreamTLS(self.federation.trust)
        xs.transport.startTLS(self.tls)
        xs.reset()

    def _auth(self, element):
        """
        SASL EXTERNAL (RFC 6120 section 13.8.1? and XEP-0178): the peer is
        the domain its certificate names.
        """
        xs = self.xmlstream
        if element.getAttribute("mechanism") != "EXTERNAL" or self._external_done:
            self._sasl_failure("invalid-mechanism")
            return
        text = str(element).strip()
        try:
            claimed = base64.b64decode(text, validate=True).decode("utf-8") if text not in ("", "=") else ""
        except (binascii.Error, UnicodeDecodeError):
            self._sasl_failure("incorrect-encoding")
            return
        domain = (claimed or self.peer_domain or "").lower()
        if not domain or not self.federation.policy.allows(domain) or not self.tls.peer.valid_for(domain):
            log.info("SASL EXTERNAL refused for {domain!r} from {address}", domain=domain, address=self.peer)
            self._sasl_failure("not-authorized")
            return
        self._external_done = True
        self._authenticated(domain, "SASL EXTERNAL")
        xs.send(domish.Element((NS_SASL, "success")))
        xs.reset()

    def _sasl_failure(self, condition):
        failure = domish.Element((NS_SASL, "failure"))
        failure.addElement(condition)
        self.xmlstream.send(failure)

    def _authenticated(self, domain, how):
        if self._timeout is not None and self._timeout.active():
            self._timeout.cancel()
        self._timeout = None
        if not self.domains:
            self._watch_idle()
        self.domains.add(domain)
        log.info("Server {domain} authenticated by {how} from {address}", domain=domain, how=how, address=self.peer)
        self.federation.inbound_authenticated(self, domain)

    def _watch_idle(self):
        xs = self.xmlstream
        idle = self.federation.idle_timeout
        wait = max(0.0, xs.last_activity + idle - self.federation.clock.seconds())
        self._timeout = self.federation.clock.callLater(wait, self._check_idle)

    def _check_idle(self):
        """
        A stream silent for the idle timeout (whitespace keepalives count
        as activity) is closed; its server opens another when it needs one.
        """
        self._timeout = None
        xs = self.xmlstream
        if xs._closing or xs.transport is None:
            return
        if self.federation.clock.seconds() - xs.last_activity >= self.federation.idle_timeout:
            log.info("Closing the idle stream from {domains}", domains=", ".join(sorted(self.domains)))
            xs._closing = True
            xs.sendFooter()
            xs.transport.loseConnection()
        else:
            self._watch_idle()

    def _result(self, element):
        """
        XEP-0220 section 2.2: the originating server gives its key; a
        certificate valid for its domain proves it at once (XEP-0344),
        otherwise its authoritative server is asked, when unverifiable peers
        are allowed.
        """
        xs = self.xmlstream
        sender = (element.getAttribute("from") or "").lower()
        recipient = (element.getAttribute("to") or "").lower()
        key = str(element).strip()
        if recipient != self.federation.domain:
            xs.close_with_error("host-unknown", f"this server is {self.federation.domain}")
            return
        if not sender or not key or element.getAttribute("type"):
            xs.close_with_error("bad-format", "a dialback result names its domain and key")
            return
        if not self.federation.policy.allows(sender):
            self._answer_result(sender, False, "not allowed")
            return
        if self.tls.peer.valid_for(sender):
            self._answer_result(sender, True, "dialback with a valid certificate")
            return
        if not self.federation.allow_unverified:
            self._answer_result(sender, False, "its certificate is not valid for it")
            return
        d = defer.maybeDeferred(self.federation.verify_dialback, sender, xs.sid, key)
        d.addErrback(self._verify_failed, sender)
        d.addCallback(lambda verdict: self._answer_result(sender, *verdict))

    def _verify_failed(self, failure, domain):
        log.failure("Dialback verification of {domain} failed", failure, domain=domain)
        return (False, f"the dialback check with {domain} failed: {failure.getErrorMessage()}")

    def _answer_result(self, domain, valid, how):
        xs = self.xmlstream
        if xs.transport is None or xs._closing:
            return
        xs.send(dialback_element("result", self.federation.domain, domain, "valid" if valid else "invalid"))
        if valid:
            self._authenticated(domain, how)
        else:
            log.info("Dialback refused for {domain} from {address}: {why}", domain=domain, address=self.peer, why=how)

    def _verify(self, element):
        """
        XEP-0220 section 2.3: we are the authoritative server, asked
        whether a key we gave another server is right.
        """
        receiving = (element.getAttribute("from") or "").lower()
        originating = (element.getAttribute("to") or "").lower()
        stream_id = element.getAttribute("id") or ""
        if originating != self.federation.domain:
            self.xmlstream.close_with_error("host-unknown", f"this server is {self.federation.domain}")
            return
        valid = self.federation.key_is_ours(receiving, stream_id, str(element))
        self.xmlstream.send(
            dialback_element("verify", originating, receiving, "valid" if valid else "invalid", stream_id=stream_id)
        )

    def _stanza(self, stanza):
        xs = self.xmlstream
        if not self.domains:
            xs.close_with_error("not-authorized", "authenticate first")
            return
        try:
            sender = jids.parse(stanza.getAttribute("from") or "")
            recipient = jids.parse(stanza.getAttribute("to") or "")
        except jid.InvalidFormat:
            xs.close_with_error("improper-addressing", "stanzas name who sends them and who they are for")
            return
        if sender.host not in self.domains:
            xs.close_with_error("invalid-from", f"this stream is for {', '.join(sorted(self.domains))}")
            return
        if recipient.host != self.federation.domain:
            xs.close_with_error("host-unknown", f"this server is {self.federation.domain}")
            return
        if not self.federation.inbound_allowed(sender):
            xs.close_with_error("policy-violation", "too many stanzas")
            return
        self.federation.received(stanza, sender, recipient)
