# -*- test-case-name: tests.test_xmpp_router,tests.test_components -*-
"""
Where each stanza goes: RFC 6121 section 8 for a single-domain server.

Stanzas from clients arrive stamped with the sender's full JID.  Those for a
connected full JID are delivered at once; everything the server must process
itself goes to one of two handler collections, connected like wokkel's
L{InternalComponent} through an in-memory pipe (L{mcc.xmpp.dispatch}):

 - L{DOMAIN}: stanzas addressed to the server (disco, ping, version...);
 - L{ACCOUNTS}: stanzas handled on behalf of an account (no C{to}, or a bare
   JID): roster, presence, message delivery and offline storage, vCards;
 - L{GUESTS}: stanzas for the guest JIDs that stand for visitors' chats.

What those handlers send back comes to L{route} and is delivered to the full
JID it is addressed to, or dropped when that resource has gone.

Other domains are reached through remote routes (L{add_remote}): an
attached XEP-0114 component, or, for any other domain, the
C{default_remote} of federation (server-to-server streams).  What remote
servers send comes in through L{route_from_remote}, which keeps it away
from the handlers that act for a local account on its own behalf.
"""

from twisted.python import log
from twisted.words.protocols.jabber import error, xmlstream

from mcc.routing.chats import GUEST_PREFIX
from mcc.xmpp import jids
from mcc.xmpp.namespaces import NS_PING
from mcc.xmpp.taps import MessageTaps

DOMAIN = "domain"
ACCOUNTS = "accounts"
GUESTS = "guests"

_ERROR_REPLY_TYPES = {
    "iq": ("get", "set"),
    "message": (None, "normal", "chat", "headline", "groupchat"),
    "presence": (),
}


class StanzaRouter:
    def __init__(self, domain, sessions, account_exists, taps=None):
        """
        @param taps: the L{MessageTaps} that see messages sent and delivered.
        """
        self.domain = domain
        self.sessions = sessions
        self.account_exists = account_exists
        self.taps = MessageTaps() if taps is None else taps
        self.blocking = None
        """
        The L{Blocking} handler whose blocklists the router obeys, if any.
        """
        self.routes = {}
        self.remotes = {}
        """
        C{domain -> callable} sending a stanza to that domain.
        """
        self.default_remote = None
        """
        The callable that sends a stanza to a domain without a route of its
        own (federation), or C{None}: no other domain is reached.
        """

    def add_remote(self, domain, send):
        self.remotes[domain] = send

    def remove_remote(self, domain):
        self.remotes.pop(domain, None)

    def _remote(self, stanza, domain):
        send = self.remotes.get(domain, self.default_remote)
        if send is not None:
            send(stanza)
        return send is not None

    def addRoute(self, destination, xs):
        self.routes[destination] = xs
        xs.addObserver("/*", self.route)

    def removeRoute(self, destination, xs):
        if self.routes.get(destination) is xs:
            del self.routes[destination]
        xs.removeObserver("/*", self.route)

    def route(self, stanza):
        """
        Deliver what the server's handlers send to the resource it names.
        """
        recipient = stanza.getAttribute("to")
        to = recipient and jids.parse(recipient)
        if to and to.host != self.domain:
            if not self._remote(stanza, to.host):
                log.msg(f"dropped {stanza.name} to {recipient}: no route to {to.host}")
            return
        session = to and self.sessions.get(to)
        if session:
            session.send(stanza)

    def route_from_client(self, stanza):
        recipient = stanza.getAttribute("to")
        to = None if recipient is None else jids.parse(recipient)
        if to is not None and to.host == self.domain and self._blocked(stanza, to):
            return
        if stanza.name == "message":
            self.taps.sent(stanza)
        if to is None:
            self._process(ACCOUNTS, stanza)
        elif to.host != self.domain:
            if not self._remote(stanza, to.host):
                self._refuse(stanza, "remote-server-not-found", f"no route to {to.host}")
        elif to.user is None:
            self._process(DOMAIN, stanza)
        elif to.user.startswith(GUEST_PREFIX):
            self._process(GUESTS, stanza)
        elif stanza.name == "presence":
            self._process(ACCOUNTS, stanza)
        elif to.resource and (session := self.sessions.get(to)):
            if stanza.name == "message":
                self.taps.deliver(stanza, to.userhost(), [session])
            else:
                session.send(stanza)
        elif to.resource and stanza.name == "iq":
            self._refuse(stanza, "service-unavailable")
        elif self.sessions.is_connected(to.userhost()) or self.account_exists(to.user):
            self._process(ACCOUNTS, stanza)
        else:
            self._refuse(stanza, "service-unavailable")

    def route_from_remote(self, stanza, sender, to):
        """
        Deliver a stanza that a remote server sent from C{sender} to C{to}
        on our domain (both parsed JIDs).  Messages go to the account like
        local ones (online resources, else offline storage); presence and
        IQs reach the resources they name, or the account's online ones;
        the server answers pings; the rest is refused, since the handlers
        of accounts and guests act for local senders only.
        """
        if self._blocked(stanza, to):
            return
        kind = stanza.getAttribute("type")
        if to.user is None:
            self._domain_from_remote(stanza)
        elif to.user.startswith(GUEST_PREFIX):
            self._refuse(stanza, "service-unavailable")
        elif to.resource and (session := self.sessions.get(to)):
            if stanza.name == "message":
                self.taps.deliver(stanza, to.userhost(), [session])
            else:
                session.send(stanza)
        elif stanza.name == "message" and (
            self.sessions.is_connected(to.userhost()) or self.account_exists(to.user)
        ):
            self._process(ACCOUNTS, stanza)
        elif stanza.name == "presence" and kind != "probe" and self.account_exists(to.user):
            for session in self.sessions.available(to.userhost()):
                session.send(stanza)
        elif stanza.name == "iq" and kind in ("result", "error"):
            return
        else:
            self._refuse(stanza, "service-unavailable")

    def _domain_from_remote(self, stanza):
        child = stanza.firstChildElement()
        if stanza.name == "iq" and stanza.getAttribute("type") == "get" and child is not None and (
            child.uri == NS_PING
        ):
            self.route(xmlstream.toResponse(stanza, "result"))
        elif stanza.name == "iq":
            self._refuse(stanza, "service-unavailable")

    def _blocked(self, stanza, to):
        """
        Whether a blocklist (XEP-0191) stops C{stanza}; the sender hears why
        when the XEP says so.
        """
        if self.blocking is None:
            return False
        refusal = self.blocking.refusal(stanza, jids.parse(stanza["from"]), to)
        if refusal is False:
            return False
        if refusal is not None and stanza.getAttribute("type") in _ERROR_REPLY_TYPES[stanza.name]:
            self.route(refusal.toResponse(stanza))
        return True

    def _process(self, destination, stanza):
        # Through the pipe: the handlers observe its other end.
        self.routes[destination].send(stanza)

    def _refuse(self, stanza, condition, text=None):
        if stanza.getAttribute("type") not in _ERROR_REPLY_TYPES[stanza.name]:
            return
        log.msg(f"refused {stanza.name} to {stanza.getAttribute('to')}: {condition}")
        self.route(error.StanzaError(condition, text=text).toResponse(stanza))
