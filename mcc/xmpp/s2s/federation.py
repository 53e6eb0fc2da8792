# -*- test-case-name: tests.test_s2s_federation,tests.test_s2s_end_to_end -*-
"""
Federation: stanzas to other XMPP domains go out over server-to-server
streams, opened on demand and closed once idle; stanzas from them come in
over the streams those servers open to us.

Where a domain's server is: the SRV records C{_xmpp-server._tcp.DOMAIN}
(RFC 6120 section 3.2), or DOMAIN:5269 without any.  Which domains we talk
with: all but the denied ones, or only the allowed ones when the allow list
is not empty; none when federation is off.
"""

from twisted.application import service
from twisted.internet import defer, endpoints, error as net_error, protocol
from twisted.logger import Logger
from twisted.names import dns
from twisted.names import error as dns_error
from twisted.words.protocols.jabber import error, xmlstream
from twisted.words.xish import domish

from mcc.throttle import Throttle
from mcc.xmpp import jids
from mcc.xmpp.components import RemoteStanza, renamespaced
from mcc.xmpp.namespaces import NS_CLIENT
from mcc.xmpp.s2s.dialback import dialback_key, key_is_right
from mcc.xmpp.s2s.inbound import NS_SERVER, InboundNegotiation, ServerStream
from mcc.xmpp.s2s.outbound import LinkFailed, OutboundFactory
from mcc.xmpp.stream import MAX_DEPTH

log = Logger()

DEFAULT_PORT = 5269
SERVICE = "_xmpp-server._tcp"
DOMAIN_LIMIT = (600, 60.0)
"""
Stanzas one remote domain may send per window (seconds) before its stream
is closed with a C{policy-violation}: room for a busy server, not a flood.
"""
MAX_PENDING = 1000
"""
Stanzas kept for one domain while its stream comes up; more are bounced.
"""
_ERROR_REPLY_TYPES = {
    "iq": ("get", "set"),
    "message": (None, "normal", "chat", "headline", "groupchat"),
    "presence": (None, "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe"),
}


def copied(element):
    """
    A deep copy of C{element}: what goes out over a link is renamed into
    C{jabber:server}, while the original may still wait in a client's
    queue (XEP-0198) or inside a carbon copy.
    """
    copy = domish.Element((element.uri, element.name), element.defaultUri, dict(element.attributes))
    copy.localPrefixes = dict(element.localPrefixes)
    for child in element.children:
        copy.addChild(copied(child) if isinstance(child, domish.Element) else child)
    return copy


class DomainPolicy:
    """
    Which remote domains we federate with.
    """

    def __init__(self, enabled=True, allow=(), deny=()):
        self.enabled = enabled
        self.allow = frozenset(domain.lower() for domain in allow)
        self.deny = frozenset(domain.lower() for domain in deny)

    def allows(self, domain):
        domain = domain.lower()
        if not self.enabled or domain in self.deny:
            return False
        return not self.allow or domain in self.allow


class SRVTargets:
    """
    Where a domain's XMPP server listens: its C{_xmpp-server._tcp} SRV
    records in order of priority (and weight within one), else the domain
    itself on port 5269.

    @param resolver: a L{twisted.names} C{IResolver}; tests give one that
        answers from a table (L{StaticResolver}).  C{None}: the system's
        resolver, made at the first lookup (it watches resolv.conf from
        then on).
    """

    def __init__(self, resolver=None):
        self.resolver = resolver

    @defer.inlineCallbacks
    def __call__(self, domain):
        if self.resolver is None:
            from twisted.names import client

            self.resolver = client.createResolver()
        try:
            answers, _, _ = yield self.resolver.lookupService(f"{SERVICE}.{domain}")
        except (dns_error.DomainError, dns_error.DNSNameError, dns_error.DNSServerError,
                dns_error.DNSQueryRefusedError, dns_error.DNSUnknownError, defer.TimeoutError,
                dns_error.ResolverError):
            return [(domain, DEFAULT_PORT)]
        records = [answer.payload for answer in answers if answer.type == dns.SRV]
        if len(records) == 1 and str(records[0].target) == ".":
            # RFC 2782: the service is decidedly not available.
            return []
        records.sort(key=lambda record: (record.priority, -record.weight))
        return [(str(record.target), record.port) for record in records] or [(domain, DEFAULT_PORT)]


class StaticResolver:
    """
    An C{IResolver} enough for L{SRVTargets} that answers from a table
    C{{domain: [(host, port), ...]}}: no records for other domains.
    """

    def __init__(self, table):
        self.table = table

    def lookupService(self, name, timeout=None):
        domain = name[len(SERVICE) + 1 :]
        targets = self.table.get(domain)
        if not targets:
            return defer.fail(dns_error.DNSNameError(name))
        answers = [
            dns.RRHeader(name, dns.SRV, payload=dns.Record_SRV(0, 0, port, host)) for host, port in targets
        ]
        return defer.succeed((answers, [], []))


def _tcp_endpoint(reactor, host, port):
    return endpoints.HostnameEndpoint(reactor, host, port, timeout=30)


class OutgoingLink:
    """
    The stream to one remote domain: stanzas wait in C{pending} until it is
    up, then go at once; it closes after C{idle_timeout} seconds unused.
    """

    def __init__(self, federation, domain):
        self.federation = federation
        self.domain = domain
        self.pending = []
        self.xs = None
        self.last_used = federation.clock.seconds()
        self._idle_call = None

    def send(self, stanza):
        self.last_used = self.federation.clock.seconds()
        if self.xs is not None:
            self.xs.send(renamespaced(copied(stanza), NS_CLIENT, NS_SERVER))
        elif len(self.pending) >= MAX_PENDING:
            self.federation.bounce(stanza, "resource-constraint", f"too many stanzas wait for {self.domain}")
        else:
            self.pending.append(stanza)

    def up(self, xs):
        self.xs = xs
        xs.addObserver(xmlstream.STREAM_END_EVENT, lambda _: self.federation.link_closed(self))
        pending, self.pending = self.pending, []
        for stanza in pending:
            self.send(stanza)
        self._watch()

    def failed(self, condition, text):
        pending, self.pending = self.pending, []
        log.info(
            "No stream to {domain}: {why}; {count} stanzas bounced", domain=self.domain, why=text, count=len(pending)
        )
        for stanza in pending:
            self.federation.bounce(stanza, condition, text)

    def _watch(self):
        idle = self.federation.idle_timeout
        self._idle_call = self.federation.clock.callLater(
            max(0.0, self.last_used + idle - self.federation.clock.seconds()), self._check_idle
        )

    def _check_idle(self):
        self._idle_call = None
        if self.xs is None or self.xs._closing:
            return
        if self.federation.clock.seconds() - self.last_used >= self.federation.idle_timeout:
            log.info("Closing the idle stream to {domain}", domain=self.domain)
            self.close()
        else:
            self._watch()

    def close(self):
        if self._idle_call is not None and self._idle_call.active():
            self._idle_call.cancel()
        self._idle_call = None
        xs = self.xs
        if xs is not None and xs.transport is not None and not xs._closing:
            xs._closing = True
            xs.sendFooter()
            xs.transport.loseConnection()


class InboundFactory(protocol.ServerFactory):
    def __init__(self, federation):
        self.federation = federation

    def buildProtocol(self, addr):
        federation = self.federation
        xs = ServerStream(
            InboundNegotiation(federation), federation.clock, federation.max_stanza_size, federation.max_depth
        )
        xs.factory = self
        xs.group_commit = federation.server.group_commit
        return xs


class Federation(service.Service):
    """
    Server-to-server links of one XMPP server.

    @param server: the L{XMPPServer}, whose router gets the stanzas that
        come in and sends those for other domains here (its
        C{default_remote}).
    @param trust: the L{TrustStore} (our certificate, the CAs of peers').
    @param secret: bytes the dialback keys derive from, kept across
        restarts.
    @param targets: C{domain -> Deferred [(host, port)]}: an L{SRVTargets}.
    @param connect: C{(host, port) -> IStreamClientEndpoint}.
    @param allow_unverified: whether peers whose certificate does not
        verify for their domain are still accepted when dialback
        authenticates them.
    """

    def __init__(
        self, server, visitors, trust, secret, targets, connect=None, policy=None,
        allow_unverified=False, idle_timeout=600.0, domain_limit=DOMAIN_LIMIT, max_depth=MAX_DEPTH,
    ):
        self.server = server
        self.router = server.router
        self.visitors = visitors
        self.domain = server.domain
        self.clock = server.clock
        self.new_id = server.new_id
        self.auth_timeout = server.config.auth_timeout
        self.max_stanza_size = server.config.max_stanza_size
        self.max_depth = max_depth
        self.trust = trust
        self._secret = secret
        self.targets = targets
        self.connect = connect or (lambda host, port: _tcp_endpoint(self.clock, host, port))
        self.policy = policy or DomainPolicy()
        self.allow_unverified = allow_unverified
        self.idle_timeout = idle_timeout
        self.throttle = Throttle(server.clock, *domain_limit)
        self.external_allowed = trust.own_certificate_valid(self.domain)
        self.links = {}
        self.inbound = set()
        self.router.default_remote = self.send

    def factory(self):
        """
        The factory of the streams other servers open to us.
        """
        return InboundFactory(self)

    def stopService(self):
        service.Service.stopService(self)
        for link in list(self.links.values()):
            link.close()
        for negotiation in list(self.inbound):
            negotiation.xmlstream.close_with_error("system-shutdown")

    # Dialback keys

    def key_for(self, receiving, stream_id):
        return dialback_key(self._secret, receiving, self.domain, stream_id)

    def key_is_ours(self, receiving, stream_id, key):
        return key_is_right(self._secret, receiving, self.domain, stream_id, key)

    # Out

    def send(self, stanza):
        """
        Send C{stanza} to the domain of its C{to}, bringing up the stream.
        """
        domain = jids.parse(stanza["to"]).host
        if not self.policy.allows(domain):
            self.bounce(stanza, "remote-server-not-found", f"{self.domain} does not federate with {domain}")
            return
        link = self.links.get(domain)
        if link is not None:
            link.send(stanza)
            return
        link = self.links[domain] = OutgoingLink(self, domain)
        # Queued first: the stream may fail before _bring_up returns.
        link.send(stanza)
        self._bring_up(link)

    def bounce(self, stanza, condition, text=None):
        if stanza.getAttribute("type") not in _ERROR_REPLY_TYPES.get(stanza.name, ()):
            return
        renamespaced(stanza, NS_SERVER, NS_CLIENT)
        self.router.route(error.StanzaError(condition, text=text).toResponse(stanza))

    def _bring_up(self, link):
        d = self._open(link.domain)
        timeout = self.clock.callLater(self.auth_timeout, self._link_timed_out, link, d)
        d.addBoth(self._link_outcome, link, timeout)

    @defer.inlineCallbacks
    def _open(self, domain, verify=None):
        """
        An authenticated stream to C{domain} (or, with C{verify}, its
        answer), trying its servers in turn until one authenticates: a
        server that refuses TCP, or closes the stream or fails it before
        it is authenticated, is passed over for the next.
        """
        targets = yield self.targets(domain)
        problem = LinkFailed("remote-server-not-found", f"no server for {domain}")
        for host, port in targets:
            factory = OutboundFactory(self, domain, verify)
            try:
                yield self.connect(host, port).connect(factory)
            except (net_error.ConnectError, net_error.DNSLookupError, OSError) as reason:
                problem = LinkFailed("remote-server-not-found", f"cannot reach {host}:{port}: {reason}")
            else:
                try:
                    result = yield factory.negotiation.ready
                except LinkFailed as failed:
                    problem = failed
                else:
                    return result
            log.info(
                "Server {host}:{port} of {domain} failed: {why}", host=host, port=port, domain=domain, why=problem.text
            )
        raise problem

    def _link_timed_out(self, link, opening):
        if self.links.get(link.domain) is link and link.xs is None:
            del self.links[link.domain]
            link.failed("remote-server-timeout", f"no stream to {link.domain} within {self.auth_timeout:g} s")
            # No further servers are tried; the one being tried is closed.
            opening.cancel()

    def _link_outcome(self, outcome, link, timeout):
        if timeout.active():
            timeout.cancel()
        if self.links.get(link.domain) is not link:
            # Timed out meanwhile: a late stream is not used.
            if not isinstance(outcome, defer.Failure) and outcome.transport is not None:
                outcome.transport.loseConnection()
            return
        if isinstance(outcome, defer.Failure):
            del self.links[link.domain]
            if outcome.check(LinkFailed):
                link.failed(outcome.value.condition, outcome.value.text)
            else:
                log.failure("Stream to {domain} failed", outcome, domain=link.domain)
                link.failed("remote-server-not-found", f"no stream to {link.domain}")
            return
        link.up(outcome)

    def link_closed(self, link):
        if self.links.get(link.domain) is link:
            del self.links[link.domain]
        link.close()

    def outbound_element(self, domain, xs, element):
        """
        Something other than dialback came on a stream we opened: outgoing
        streams carry our stanzas only.
        """
        log.info("Ignored {name} from {domain} on our stream to it", name=element.name, domain=domain)

    def verify_dialback(self, originating, stream_id, key):
        """
        Ask the authoritative server of C{originating} whether C{key} is
        the one it gave for our stream C{stream_id}: a Deferred
        C{(valid, why)}, C{why} saying what it answered or why it could
        not be asked.
        """
        d = self._open(originating, verify=(stream_id, key, self.domain))
        timeout = self.clock.callLater(self.auth_timeout, d.cancel)

        def done(outcome):
            if timeout.active():
                timeout.cancel()
            if isinstance(outcome, defer.Failure):
                if outcome.check(defer.CancelledError):
                    why = f"the authoritative server of {originating} did not answer within {self.auth_timeout:g} s"
                else:
                    why = f"the authoritative server of {originating} could not be asked: {outcome.getErrorMessage()}"
                return (False, why)
            return outcome

        return d.addBoth(done)

    # In

    def inbound_authenticated(self, negotiation, domain):
        self.inbound.add(negotiation)

    def inbound_closed(self, negotiation):
        self.inbound.discard(negotiation)

    def inbound_allowed(self, sender):
        """
        Whether the domain of C{sender} is under its rate of stanzas.
        """
        if self.throttle.blocked(sender.host):
            log.info("Server {domain} over its rate: stream closed", domain=sender.host)
            return False
        self.throttle.record(sender.host)
        link = self.links.get(sender.host)
        if link is not None:
            link.last_used = self.clock.seconds()
        return True

    def received(self, stanza, sender, recipient):
        """
        A stanza from an authenticated remote domain, for ours.
        """
        renamespaced(stanza, NS_SERVER, NS_CLIENT)
        if self.visitors is not None and recipient.user and self.visitors.is_identity(recipient.userhost()):
            RemoteStanza(self.visitors, self.router, None).handle(stanza, sender, recipient)
            return
        self.router.route_from_remote(stanza, sender, recipient)
