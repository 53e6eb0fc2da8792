# -*- test-case-name: tests.test_xmpp_negotiation -*-
"""
Stream negotiation on the receiving side: STARTTLS, SASL, resource binding.

The order is the one RFC 6120 prescribes and real clients expect: before TLS
only C{<starttls><required/></starttls>}; after TLS the SASL mechanisms;
after authentication C{<bind/>} and then an optional legacy C{<session/>}.
"""

import base64
import binascii
import ipaddress

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.words.protocols.jabber import error, jid, xmlstream
from twisted.words.xish import domish

from mcc.xmpp import jids, sasl
from mcc.xmpp.clientstate import NS_CSI
from mcc.xmpp.management import NS_SM, failed
from mcc.xmpp.namespaces import (
    NS_BIND,
    NS_CLIENT,
    NS_SASL,
    NS_SESSION,
    NS_STREAMS,
    NS_TLS,
)


log = Logger()

SASL_REASONS = {"temporary-auth-failure": "throttled", "incorrect-encoding": "malformed"}
"""
What a failed login's log line calls some SASL conditions.
"""


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ClientNegotiation(xmlstream.ListenAuthenticator):
    """
    Takes one client connection from its stream header to a bound resource.

    @ivar username: the authenticated account, once SASL succeeded.
    """

    namespace = NS_CLIENT

    def __init__(self, server):
        xmlstream.ListenAuthenticator.__init__(self)
        self.server = server
        self.username = None
        self.tls_active = False
        self._exchange = None
        self._attempt = None
        self._timeout = None
        self._given_name = None
        self._mechanism = None
        self._checking = False

    def associateWithStream(self, xs):
        xmlstream.ListenAuthenticator.associateWithStream(self, xs)
        xs.element_handler = self._element_received

    def connectionMade(self):
        self.peer = self.xmlstream.transport.getPeer().host
        self.plaintext_allowed = (
            self.server.config.allow_plaintext_on_loopback and _is_loopback(self.peer)
        )
        self._timeout = self.server.clock.callLater(
            self.server.config.auth_timeout, self._timed_out
        )
        self.xmlstream.addObserver(xmlstream.STREAM_END_EVENT, self._connection_lost)

    def _timed_out(self):
        self._timeout = None
        self.xmlstream.close_with_error(
            "connection-timeout", "authentication took too long"
        )

    def _connection_lost(self, reason):
        self._exchange = None
        # An exchange given up half-way counts as failed.
        self._attempt_failed()
        if self._timeout is not None and self._timeout.active():
            self._timeout.cancel()
        self._timeout = None

    def streamStarted(self, rootElement):
        # The base class would intern the peer's 'to' as a JID for ever.
        xmlstream.Authenticator.streamStarted(self, rootElement)
        xs = self.xmlstream
        xs.namespace = rootElement.defaultUri
        # Not the peer's prefixes: Twisted always ends the stream with
        # "</stream:stream>", so the header must use that prefix too.
        xs.prefixes = {NS_STREAMS: "stream"}
        xs.sid = self.server.new_id()
        # Parsed once for every stream (a shared JID: nothing changes it).
        xs.thisEntity = jids.parse(self.server.domain)
        requested_domain = rootElement.getAttribute("to")
        if rootElement.uri != NS_STREAMS or rootElement.name != "stream":
            xs.namespace = NS_CLIENT
            xs.close_with_error("invalid-namespace")
        elif xs.namespace != NS_CLIENT:
            xs.namespace = NS_CLIENT
            xs.close_with_error("invalid-namespace", "this port serves jabber:client")
        elif xs.version < (1, 0):
            xs.close_with_error("unsupported-version", "XMPP 1.0 is required")
        elif requested_domain is not None and requested_domain.lower() != self.server.domain:
            xs.close_with_error("host-unknown", f"this server is {self.server.domain}")
        else:
            xs.sendHeader()
            xs.send(self._features())

    def _features(self):
        features = domish.Element((NS_STREAMS, "features"))
        if not self.tls_active and not self.plaintext_allowed:
            features.addElement((NS_TLS, "starttls")).addElement("required")
        elif self.username is None:
            if not self.tls_active:
                features.addElement((NS_TLS, "starttls"))
            offered = features.addElement((NS_SASL, "mechanisms"))
            for name in sasl.mechanisms(plain_allowed=True):
                offered.addElement("mechanism", content=name)
        else:
            features.addElement((NS_BIND, "bind"))
            features.addElement((NS_SESSION, "session")).addElement("optional")
            features.addElement((NS_SM, "sm"))
            features.addElement((NS_CSI, "csi"))
            features.addChild(self.server.domain_info.caps())
        return features

    def _element_received(self, element):
        handlers = {
            (NS_TLS, "starttls"): self._starttls,
            (NS_SASL, "auth"): self._auth,
            (NS_SASL, "response"): self._response,
            (NS_SASL, "abort"): self._abort,
            (NS_CLIENT, "iq"): self._iq,
            (NS_SM, "resume"): self._resume,
            (NS_SM, "enable"): self._enable_unbound,
        }
        handler = handlers.get((element.uri, element.name))
        if handler is None:
            self.xmlstream.close_with_error(
                "not-authorized" if element.uri == NS_CLIENT else "unsupported-stanza-type"
            )
        else:
            handler(element)

    def _starttls(self, element):
        xs = self.xmlstream
        if self.tls_active or self.username is not None:
            xs.close_with_error("policy-violation", "TLS cannot be started now")
            return
        xs.send(domish.Element((NS_TLS, "proceed")))
        # In the clear, before TLS starts.
        xs.flush()
        xs.transport.startTLS(self.server.tls_options)
        self.tls_active = True
        xs.reset()

    def _auth(self, element):
        if self.username is not None or self._exchange is not None:
            self.xmlstream.close_with_error("policy-violation", "already authenticating")
            return
        if not self.tls_active and not self.plaintext_allowed:
            self._sasl_failed(sasl.SaslFailure("encryption-required"))
            return
        self._mechanism = element.getAttribute("mechanism")
        self._given_name = None
        try:
            self._exchange = sasl.start_exchange(
                self._mechanism,
                self.server.find_credentials,
                self.server.domain,
                self.server.made_up_credentials,
                self._admit,
                self.server.password_checks,
            )
        except sasl.SaslFailure as failure:
            self._sasl_failed(failure)
            return
        text = str(element).strip()
        if text:
            self._step(text)
        else:
            self._send_sasl("challenge", b"")

    def _response(self, element):
        if self._exchange is None:
            self.xmlstream.close_with_error("policy-violation", "no SASL exchange under way")
        elif self._checking:
            self._exchange = None
            self.xmlstream.close_with_error("policy-violation", "the last response is being checked")
        else:
            self._step(str(element).strip())

    def _abort(self, element):
        self._exchange = None
        self._attempt_failed()
        failure = domish.Element((NS_SASL, "failure"))
        failure.addElement("aborted")
        self.xmlstream.send(failure)

    def _admit(self, name):
        """
        Let the exchange go on for C{name} unless the throttle refuses; from
        here the login is under way, and counts as failed unless it
        succeeds: exchanges aborted or lost after SCRAM's first answer
        (which shows the salt) count too.
        """
        self._given_name = name
        if self.server.throttle.blocked(self.peer, name):
            raise sasl.SaslFailure(
                "temporary-auth-failure", "too many failed attempts; try later"
            )
        self._attempt = self.server.throttle.attempt(self.peer, name)

    def _step(self, text):
        try:
            data = b"" if text == "=" else base64.b64decode(text, validate=True)
        except binascii.Error:
            self._sasl_failed(sasl.SaslFailure("incorrect-encoding"))
            return
        exchange = self._exchange
        try:
            outcome = exchange.step(data)
        except sasl.SaslFailure as failure:
            self._sasl_failed(failure)
            return
        if isinstance(outcome, Deferred):
            self._checking = True
            outcome.addBoth(self._checked, exchange)
        else:
            self._outcome(outcome)

    def _checked(self, outcome, exchange):
        """
        The outcome of a step checked elsewhere, unless the exchange was
        aborted, failed or lost its connection meanwhile.
        """
        self._checking = False
        if self._exchange is not exchange:
            return
        if not isinstance(outcome, Failure):
            self._outcome(outcome)
        elif outcome.check(sasl.SaslFailure):
            self._sasl_failed(outcome.value)
        else:
            log.failure("XMPP login check failed", outcome)
            self._sasl_failed(sasl.SaslFailure("temporary-auth-failure"))

    def _outcome(self, outcome):
        try:
            if isinstance(outcome, sasl.Success):
                self._authenticated(outcome)
            else:
                self._send_sasl("challenge", outcome.data)
        except sasl.SaslFailure as failure:
            self._sasl_failed(failure)

    def _authenticated(self, success):
        if self.server.is_disabled(success.username):
            raise sasl.SaslFailure("account-disabled", "this account is disabled")
        self._exchange = None
        # Only this login stops counting as failed: the peer's other
        # failures stay until they expire, or logging in to one's own account
        # between guesses would reset the count.
        self._attempt.succeeded()
        self._attempt = None
        self.username = success.username
        self._send_sasl("success", success.data)
        self.xmlstream.reset()

    def _send_sasl(self, name, data):
        element = domish.Element((NS_SASL, name))
        if data:
            element.addContent(base64.b64encode(data).decode("ascii"))
        self.xmlstream.send(element)

    def _attempt_failed(self):
        if self._attempt is not None:
            self._attempt.failed()
            self._attempt = None

    def _sasl_failed(self, failure):
        self._exchange = None
        self._attempt_failed()
        element = domish.Element((NS_SASL, "failure"))
        element.addElement(failure.condition)
        if failure.text:
            element.addElement("text", content=failure.text)
        log.info(
            "XMPP login failed for {account!r} from {address}: {reason}",
            account=self._given_name, address=self.peer,
            reason=SASL_REASONS.get(failure.condition, failure.condition),
            condition=failure.condition, mechanism=self._mechanism,
        )
        self.xmlstream.send(element)

    def _iq(self, iq):
        bind = self._bind_request(iq)
        if self.username is None or bind is None:
            self.xmlstream.close_with_error("not-authorized", "authenticate and bind first")
            return
        resource = str(bind.resource or "").strip() or None
        try:
            session = self.server.bind(self.xmlstream, self.username, resource)
        except jid.InvalidFormat:
            self.xmlstream.send(error.StanzaError("bad-request", text="invalid resource").toResponse(iq))
            return
        self._stop_timeout()
        result = xmlstream.toResponse(iq, "result")
        result.addElement((NS_BIND, "bind")).addElement("jid", content=session.jid.full())
        self.xmlstream.send(result)
        log.info(
            "XMPP login {account}/{resource} from {address} with {mechanism}",
            account=self.username, resource=session.jid.resource, address=self.peer,
            mechanism=self._mechanism,
        )
        self.xmlstream.dispatch(self.xmlstream, xmlstream.STREAM_AUTHD_EVENT)

    def _resume(self, element):
        """
        XEP-0198 resumption: instead of binding, take over the detached
        session the client names, under its full JID.
        """
        if self.username is None:
            self.xmlstream.close_with_error("not-authorized", "authenticate before resuming")
            return
        session = self.server.resume(self.xmlstream, self.username, element)
        if session is None:
            return
        self._stop_timeout()
        log.info(
            "XMPP session {account}/{resource} resumed from {address}",
            account=self.username, resource=session.jid.resource, address=self.peer,
        )
        self.xmlstream.dispatch(self.xmlstream, xmlstream.STREAM_AUTHD_EVENT)

    def _enable_unbound(self, element):
        self.xmlstream.send(failed("unexpected-request"))

    def _stop_timeout(self):
        if self._timeout is not None and self._timeout.active():
            self._timeout.cancel()
        self._timeout = None

    @staticmethod
    def _bind_request(iq):
        if iq.getAttribute("type") != "set":
            return None
        for child in iq.elements(NS_BIND, "bind"):
            return child
        return None
