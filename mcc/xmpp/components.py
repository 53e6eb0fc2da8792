# -*- test-case-name: tests.test_components,tests.test_components_end_to_end -*-
"""
XEP-0114 components: bridges (slidge, biboumi...) attach on their own port
as C{jabber:component:accept} streams, each authenticated by the hex SHA-1
of the stream id and its shared secret.  Once attached, stanzas to its
domain go to it, and what it sends must come from its domain.  Stanzas it
sends to a queue's address go to L{RemoteVisitors}; L{RemoteOutlet} sends
the answers back through the route of the remote JID's domain, which a
server-to-server link can provide as well.
"""

from twisted.internet import protocol
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, jid, xmlstream
from twisted.words.xish import domish
from zope.interface import implementer

from mcc.routing.errors import ChatError
from mcc.routing.interfaces import IRemoteOutlet
from mcc.throttle import Throttle
from mcc.xmpp import jids
from mcc.xmpp.namespaces import NS_CHATSTATES, NS_CLIENT, NS_COMPONENT, NS_NICK, NS_PING, NS_STREAMS
from mcc.xmpp.stream import MAX_DEPTH, GuardedXmlStream

log = Logger()

COMPONENT_LIMIT = (600, 60.0)
"""
Stanzas one component may send per window (seconds) before its stream is
closed: room for a busy bridge, not for a flood.
"""
CHAT_STATES = ("active", "composing", "paused", "inactive", "gone")


def renamespaced(element, old, new):
    """
    C{element} with every part in the stanza namespace C{old} moved to
    C{new}: a stanza goes from a client stream to a component's, or back.
    """
    if element.uri == old:
        element.uri = new
    if element.defaultUri == old:
        element.defaultUri = new
    for child in element.elements():
        renamespaced(child, old, new)
    return element


def unescaped(localpart):
    """
    An XEP-0106 escaped localpart as the address it stands for.
    """
    for code, character in (
        ("20", " "), ("22", '"'), ("26", "&"), ("27", "'"), ("2f", "/"), ("3a", ":"),
        ("3c", "<"), ("3e", ">"), ("40", "@"), ("5c", "\\"),
    ):
        localpart = localpart.replace("\\" + code, character)
    return localpart


class ComponentStream(GuardedXmlStream):
    namespace = NS_COMPONENT


class ComponentAccept(xmlstream.ListenAuthenticator):
    """
    The handshake of XEP-0114 section 3: the component names its domain
    in the stream header and answers with C{<handshake/>}.
    """

    namespace = NS_COMPONENT

    def __init__(self, factory):
        xmlstream.ListenAuthenticator.__init__(self)
        self.factory = factory
        self._timeout = None

    def associateWithStream(self, xs):
        xs.version = (0, 0)
        xmlstream.ListenAuthenticator.associateWithStream(self, xs)
        xs.element_handler = self._handshake

    def connectionMade(self):
        self._timeout = self.factory.clock.callLater(self.factory.auth_timeout, self._timed_out)
        self.xmlstream.addObserver(xmlstream.STREAM_END_EVENT, self._ended)

    def _timed_out(self):
        self._timeout = None
        self.xmlstream.close_with_error("connection-timeout", "the handshake took too long")

    def _ended(self, reason):
        if self._timeout is not None and self._timeout.active():
            self._timeout.cancel()
        self._timeout = None

    def streamStarted(self, rootElement):
        xmlstream.Authenticator.streamStarted(self, rootElement)
        xs = self.xmlstream
        xs.namespace = NS_COMPONENT
        xs.prefixes = {NS_STREAMS: "stream"}
        xs.sid = self.factory.new_id()
        domain = (rootElement.getAttribute("to") or "").lower()
        if rootElement.uri != NS_STREAMS or rootElement.name != "stream":
            xs.close_with_error("invalid-namespace")
        elif rootElement.defaultUri != NS_COMPONENT:
            xs.close_with_error("invalid-namespace", "this port serves jabber:component:accept")
        elif not domain:
            xs.close_with_error("improper-addressing", "name the component's domain")
        else:
            xs.thisEntity = jid.JID(domain)
            xs.sendHeader()

    def _handshake(self, element):
        xs = self.xmlstream
        if xs.thisEntity is None or (element.uri, element.name) != (NS_COMPONENT, "handshake"):
            xs.close_with_error("not-authorized", "the handshake comes first")
            return
        domain = xs.thisEntity.host
        component = self.factory.visitors.authenticate(domain, xs.sid, str(element))
        if component is None:
            log.info("Component {domain} refused: wrong secret, unknown or disabled", domain=domain)
            xs.close_with_error("not-authorized")
            return
        self._ended(None)
        xs.send(domish.Element((NS_COMPONENT, "handshake")))
        self.factory.attach(component, xs)


class ComponentFactory(protocol.ServerFactory):
    """
    Component streams for C{server}, whose queue addresses are
    C{visitors} (L{RemoteVisitors}); C{limit} is C{(stanzas, seconds)}
    per component.
    """

    def __init__(self, server, visitors, limit=COMPONENT_LIMIT, max_depth=MAX_DEPTH):
        self.server = server
        self.visitors = visitors
        self.clock = server.clock
        self.new_id = server.new_id
        self.auth_timeout = server.config.auth_timeout
        self.max_depth = max_depth
        self.throttle = Throttle(server.clock, *limit)
        self.attached = {}
        visitors.on_components_changed.append(self.detach)

    def buildProtocol(self, addr):
        xs = ComponentStream(
            ComponentAccept(self), self.clock, self.server.config.max_stanza_size, self.max_depth
        )
        xs.factory = self
        xs.group_commit = self.server.group_commit
        return xs

    def attach(self, component, xs):
        domain = component.domain
        older = self.attached.get(domain)
        if older is not None:
            older.close_with_error("conflict", "replaced by a new connection")
        self.attached[domain] = xs
        self.server.router.add_remote(domain, lambda stanza: xs.send(renamespaced(stanza, NS_CLIENT, NS_COMPONENT)))
        xs.element_handler = lambda element: self.received(component, xs, element)
        xs.addObserver(xmlstream.STREAM_END_EVENT, lambda _: self._gone(domain, xs))
        log.info("Component {domain} attached", domain=domain)

    def _gone(self, domain, xs):
        if self.attached.get(domain) is xs:
            del self.attached[domain]
            self.server.router.remove_remote(domain)
            log.info("Component {domain} detached", domain=domain)

    def detach(self, domain):
        """
        The component of C{domain} was disabled or deleted: close its stream.
        """
        xs = self.attached.get(domain)
        if xs is not None:
            xs.close_with_error("not-authorized", "this component was disabled")

    def received(self, component, xs, element):
        if element.name not in ("message", "presence", "iq") or element.uri != NS_COMPONENT:
            xs.close_with_error("unsupported-stanza-type")
            return
        if self.throttle.blocked(component.domain):
            xs.close_with_error("policy-violation", "too many stanzas")
            return
        self.throttle.record(component.domain)
        try:
            sender = jids.parse(element.getAttribute("from") or "")
            recipient = jids.parse(element.getAttribute("to") or "")
        except jid.InvalidFormat:
            sender = recipient = None
        if sender is None or sender.host != component.domain:
            xs.close_with_error("invalid-from", f"stanzas come from {component.domain}")
            return
        if recipient is None:
            xs.close_with_error("improper-addressing", "stanzas name who they are for")
            return
        RemoteStanza(self.visitors, self.server.router, component.domain).handle(
            renamespaced(element, NS_COMPONENT, NS_CLIENT), sender, recipient
        )


class RemoteStanza:
    """
    What one stanza from a remote JID asks of a queue's address.
    """

    def __init__(self, visitors, router, source):
        self.visitors = visitors
        self.router = router
        self.source = source

    def handle(self, stanza, sender, recipient):
        try:
            self._handle(stanza, sender, recipient)
        except ChatError as problem:
            log.info("Refused a stanza from {sender}: {problem}", sender=sender.full(), problem=problem)
            self._refuse(stanza, "not-acceptable", str(problem))

    def _handle(self, stanza, sender, recipient):
        address = recipient.userhost()
        if not self.visitors.is_identity(address):
            self._refuse(stanza, "service-unavailable")
            return
        remote = sender.userhost()
        if stanza.name == "message":
            self._message(stanza, remote, address)
        elif stanza.name == "presence":
            self._presence(stanza, remote, address)
        elif stanza.getAttribute("type") == "get" and stanza.firstChildElement() is not None and (
            stanza.firstChildElement().uri == NS_PING
        ):
            self.router.route(xmlstream.toResponse(stanza, "result"))
        else:
            self._refuse(stanza, "service-unavailable")

    def _message(self, stanza, remote, address):
        if stanza.getAttribute("type") in ("error", "groupchat", "headline"):
            return
        body = next((str(child) for child in stanza.elements(NS_CLIENT, "body")), None)
        nick = next((str(child) for child in stanza.elements(NS_NICK, "nick")), "")
        if body is not None and body.strip():
            local = jid.JID(remote).user or ""
            name = nick.strip() or (unescaped(local) if self.source else remote)
            if not self.visitors.message(
                remote, address, body, nick=name, message_id=stanza.getAttribute("id"), source=self.source
            ):
                self._refuse(stanza, "resource-constraint", "too many messages: wait a minute")
            return
        for child in stanza.elements(NS_CHATSTATES):
            self.visitors.chat_state(remote, address, child.name)

    def _presence(self, stanza, remote, address):
        kind = stanza.getAttribute("type")
        if kind == "subscribe":
            self.visitors.subscribe(remote, address)
        elif kind == "unsubscribe":
            self.visitors.unsubscribe(remote, address)
        elif kind in (None, "probe"):
            self.visitors.probe(remote, address)

    def _refuse(self, stanza, condition, text=None):
        if stanza.getAttribute("type") in ("error", "result"):
            return
        self.router.route(error.StanzaError(condition, text=text).toResponse(stanza))


@implementer(IRemoteOutlet)
class RemoteOutlet:
    """
    Queue addresses' stanzas to remote JIDs, through the router's remote
    routes.
    """

    def __init__(self, router, new_id):
        self.router = router
        self.new_id = new_id

    def _stanza(self, name, sender, recipient, kind=None):
        stanza = domish.Element((NS_CLIENT, name))
        stanza["from"], stanza["to"] = sender, recipient
        if kind is not None:
            stanza["type"] = kind
        return stanza

    def message(self, sender, recipient, text):
        stanza = self._stanza("message", sender, recipient, "chat")
        stanza["id"] = self.new_id()
        stanza.addElement("body", content=text)
        stanza.addElement((NS_CHATSTATES, "active"))
        self.router.route(stanza)

    def chat_state(self, sender, recipient, state):
        stanza = self._stanza("message", sender, recipient, "chat")
        stanza.addElement((NS_CHATSTATES, state if state in CHAT_STATES else "active"))
        self.router.route(stanza)

    def presence(self, sender, recipient, available, status):
        stanza = self._stanza("presence", sender, recipient, None if available else "unavailable")
        stanza.addElement("status", content=status)
        self.router.route(stanza)

    def subscribed(self, sender, recipient):
        self.router.route(self._stanza("presence", sender, recipient, "subscribed"))
