# -*- test-case-name: tests.test_components,tests.test_components_end_to_end -*-
"""
IM identities: queues reachable at XMPP addresses from remote JIDs, and the
XEP-0114 components (bridges such as slidge) those JIDs arrive through.

A message from a remote JID to a queue's address starts a chat (protocol
C{xmpp}, or the protocol its component names) offered like a web chat;
later messages join it; the operator's replies go back from the queue's
address.  The address shows the queue's availability to the remote JIDs
that subscribed to it.  Nothing here knows XML: the XMPP server is the
L{IRemoteOutlet} replies go through, and it hands in what arrives.  Remote
JIDs come from components today; a server-to-server link is another source
of the same calls.
"""

import hashlib
import hmac
import re
import secrets

from twisted.application import service
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from zope.interface import implementer

from mcc.routing.chats import OPERATOR, VISITOR, Unavailable, Visitor, check_sendable, sendable
from mcc.routing.errors import GUEST_PREFIX, ComponentError, UnknownQueue
from mcc.routing.interfaces import IVisitorChannel
from mcc.store import ChatState
from mcc.throttle import Throttle

PROTOCOL = "xmpp"
SECRET_BYTES = 24
DOMAIN_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
PROTOCOL_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
IDLE_TIMEOUT = 4 * 3600.0
"""
Seconds a remote visitor may stay silent before their chat ends: people
write from their own IM client at their own pace.
"""
AVAILABLE_TEXT = "Someone is here to answer."
OFFLINE_TEXT = "Nobody is here right now: leave a message and we will get back to you."
CHAT_STATES = ("active", "composing", "paused", "inactive", "gone")
REMOTE_LIMIT = (30, 60.0)
"""
Messages one remote JID may send to queue addresses per window (seconds).
"""

log = Logger()


def handshake(stream_id, secret):
    """
    The XEP-0114 handshake for C{stream_id}: hex SHA-1 of it and the secret.
    """
    return hashlib.sha1((stream_id + secret).encode("utf-8")).hexdigest()


def check_domain(domain):
    """
    C{domain} lowercased, once it is a DNS name of at least two labels.
    """
    domain = (domain or "").strip().lower().rstrip(".")
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise ComponentError(f"{domain!r} is not a domain name like telegram.chat.example.org", "domain")
    return domain


@implementer(IVisitorChannel)
class RemoteVisitors(service.Service):
    """
    The rules of components and queue identities.

    @ivar outlet: the L{IRemoteOutlet} that reaches remote JIDs, set by the
        XMPP server.
    """

    idle_timeout = IDLE_TIMEOUT

    def __init__(self, store, chats, clock, domain, new_secret=None, remote_limit=REMOTE_LIMIT):
        self.store = store
        self.chats = chats
        self.clock = clock
        self.domain = domain
        self.new_secret = new_secret or (lambda: secrets.token_urlsafe(SECRET_BYTES))
        self.outlet = None
        self.throttle = Throttle(clock, *remote_limit)
        self._shown = {}
        """
        C{address -> available}: what the address last showed.
        """
        self.on_components_changed = []
        """
        Callables given a component's domain once it is disabled or deleted.
        """
        chats.availability.add_observer(self._availability_changed)
        # Before the router starts: the chats it watches again after a
        # restart need their protocol's idle timeout.
        chats.visitor_channels[PROTOCOL] = self
        for component in store.components.all():
            chats.visitor_channels.setdefault(component.protocol, self)

    # Components, for the admin site

    def components(self):
        return self.store.components.all()

    def component(self, component_id):
        return self.store.components.get(component_id)

    def add_component(self, domain, protocol=""):
        """
        A new component of C{domain}; returns it and its secret, which the
        admin site shows once.
        """
        domain = check_domain(domain)
        if domain == self.domain:
            raise ComponentError("a component needs a domain of its own, not the service's", "domain")
        protocol = (protocol or "").strip().lower() or PROTOCOL
        if not PROTOCOL_NAME.fullmatch(protocol):
            raise ComponentError("the protocol is a short word like telegram", "protocol")
        secret = self.new_secret()
        component = self.store.components.add(domain, secret, protocol, self.clock.seconds())
        self.chats.visitor_channels.setdefault(protocol, self)
        return component, secret

    def set_component_disabled(self, component_id, disabled):
        component = self.store.components.set_disabled(component_id, disabled)
        if disabled:
            self._component_gone(component.domain)
        return component

    def delete_component(self, component_id):
        component = self.store.components.get(component_id)
        self.store.components.delete(component_id)
        self._component_gone(component.domain)

    def _component_gone(self, domain):
        for observer in self.on_components_changed:
            observer(domain)

    def authenticate(self, domain, stream_id, digest):
        """
        The enabled component of C{domain} whose secret made C{digest} for
        C{stream_id}, or C{None}.
        """
        component = self.store.components.by_domain((domain or "").lower())
        if component is None or component.disabled:
            return None
        if not hmac.compare_digest(handshake(stream_id, component.secret), (digest or "").strip().lower()):
            return None
        self.store.components.connected(component.id, self.clock.seconds())
        return component

    # Queue identities

    def identities(self):
        return self.store.components.identities()

    def identity_of(self, queue):
        return self.store.components.identity_of(queue)

    def set_identity(self, queue, address):
        """
        Give C{queue} the XMPP C{address} (blank: none), on the service's
        domain, where it reserves the name, or on a component's.
        """
        try:
            queue = self.store.queues.named(queue).name
        except UnknownQueue:
            raise ComponentError(f"no queue is named {queue!r}", "queue") from None
        address = (address or "").strip()
        if not address:
            self.store.components.set_identity(queue, None, self.clock.seconds())
            return None
        check_sendable(address=address)
        try:
            parsed = jid.JID(address)
        except jid.InvalidFormat:
            parsed = None
        if parsed is None or not parsed.user or parsed.resource:
            raise ComponentError("the address is name@domain", "address")
        if parsed.host == self.domain:
            if parsed.user.startswith(GUEST_PREFIX) or self.store.users.find(parsed.user) is not None:
                raise ComponentError(f"{parsed.user!r} is an account's name already", "address")
        elif self.store.components.by_domain(parsed.host) is None:
            raise ComponentError(
                f"the address is on {self.domain} or on a component's domain", "address"
            )
        identity = self.store.components.set_identity(queue, parsed.userhost(), self.clock.seconds())
        self._shown.pop(identity.address, None)
        return identity

    def reserves(self, username):
        """
        Whether a queue's address on the service's domain holds C{username}.
        """
        found = self.store.components.identity_at(f"{username}@{self.domain}".lower())
        return found is not None

    def is_identity(self, address):
        return self.store.components.identity_at(address) is not None

    # What remote JIDs send

    def _protocol(self, source):
        component = source and self.store.components.by_domain(source)
        return component.protocol if component else PROTOCOL

    def message(self, remote, address, text, nick="", message_id=None, source=None):
        """
        C{remote} (a bare JID) wrote C{text} to the queue address
        C{address}; C{source} is the component's domain it came through.
        Returns whether it was taken (a remote JID over its rate is not).
        """
        identity = self.store.components.identity_at(address)
        if identity is None or not text.strip():
            return False
        if self.throttle.blocked(remote):
            log.info("Remote JID {remote} over its rate: message dropped", remote=remote)
            return False
        self.throttle.record(remote)
        text = sendable(text)
        contact = self.store.components.contact(address, remote)
        chat = self._open_chat(contact)
        if chat is not None:
            self.chats.visitor_says(chat.token, text, message_id=message_id)
            return True
        protocol = self._protocol(source)
        self.chats.visitor_channels.setdefault(protocol, self)
        name = sendable((nick or "").strip())[:100] or remote
        # The page a visitor chats from is, here, the address they write from.
        visitor = Visitor(name=name, question=text, protocol=protocol, page=f"xmpp:{remote}")
        try:
            chat = self.chats.start(visitor, queue=identity.queue)
        except Unavailable:
            chat = self.chats.start_missed(visitor, queue=identity.queue)
            self._send(address, remote, OFFLINE_TEXT)
        self.store.components.update_contact(address, remote, chat_id=chat.id)
        return True

    def chat_state(self, remote, address, state):
        if state not in ("composing", "paused"):
            return
        contact = self.store.components.contact(address, remote)
        chat = self._open_chat(contact)
        if chat is not None:
            self.chats.visitor_typing(chat.token, state)

    def subscribe(self, remote, address):
        """
        C{remote} asks for the address's presence: accepted, and shown.
        """
        if not self.is_identity(address) or self.outlet is None:
            return
        self.store.components.contact(address, remote)
        self.store.components.update_contact(address, remote, subscribed=1)
        self.outlet.subscribed(address, remote)
        self.probe(remote, address)

    def unsubscribe(self, remote, address):
        if self.is_identity(address):
            self.store.components.contact(address, remote)
            self.store.components.update_contact(address, remote, subscribed=0)

    def probe(self, remote, address):
        identity = self.store.components.identity_at(address)
        if identity is not None and self.outlet is not None:
            available = self._available(identity)
            self.outlet.presence(address, remote, available, AVAILABLE_TEXT if available else OFFLINE_TEXT)

    def _open_chat(self, contact):
        if contact.chat_id is None:
            return None
        chat = self.store.chats.by_id(contact.chat_id)
        return chat if chat is not None and chat.state in ChatState.OPEN else None

    def _available(self, identity):
        try:
            return self.chats.is_available(queue=identity.queue)
        except Exception:
            return False

    def _availability_changed(self, username):
        for identity in self.store.components.identities():
            available = self._available(identity)
            if self._shown.get(identity.address) == available:
                continue
            self._shown[identity.address] = available
            for remote in self.store.components.subscribers(identity.address):
                self.probe(remote, identity.address)

    # The visitor channel: what the chat's operator does

    def event(self, chat, kind, data):
        contact = self.store.components.contact_of_chat(chat.id)
        if contact is None:
            return
        if kind == "message" and data.get("from") == OPERATOR:
            self._send(contact.address, contact.remote, data["text"])
        elif kind == "typing" and data.get("from") == OPERATOR and self.outlet is not None:
            state = data["state"] if data["state"] in CHAT_STATES else "composing"
            self.outlet.chat_state(contact.address, contact.remote, state)
        elif kind == "ended" and data.get("by") != VISITOR:
            self._send(contact.address, contact.remote, "This chat has ended: write again any time.")

    def _send(self, address, remote, text):
        if self.outlet is not None:
            self.outlet.message(address, remote, text)
