# -*- test-case-name: tests.test_xmpp_sessions -*-
"""
Bound client sessions: the connected resources of each account.
"""

from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish

from mcc.xmpp import jids
from mcc.xmpp.namespaces import NS_CLIENT, NS_PING
from mcc.xmpp.serialized import in_stream


def serialize(element):
    """
    C{element} as a C{jabber:client} stream writes it: a copy that the
    server's later changes to the same element (the next recipient's
    C{to}) do not reach.  A message's text is made once for all who get
    the same bytes (L{mcc.xmpp.serialized}).
    """
    return in_stream(element)


STANZA_NAMES = ("message", "presence", "iq")
IQ_TYPES = ("get", "set", "result", "error")


class ClientSession:
    """
    One bound resource: its stream, its presence, and what the server must
    remember about it until it goes away.

    @ivar presence: the last available presence it broadcast, or C{None}.
    @ivar directed_to: full JIDs it sent directed presence to, which get its
        unavailable presence when it leaves.
    @ivar xmlstream: its stream, or C{None} while it is detached (XEP-0198).
    @ivar management: its L{StreamManagement}, once the client enabled it.
    @ivar nonzas: C{(uri, name) -> handler(session, element)} for the
        top-level elements that are not stanzas (XEP-0198, XEP-0352).
    @ivar inactive: whether the client said it is not being looked at
        (XEP-0352): presence for it is held back until it is again.
    """

    def __init__(self, full_jid, xmlstream, router, clock):
        self.jid = full_jid
        self.bare = full_jid.userhost()
        self.xmlstream = xmlstream
        self.router = router
        self.clock = clock
        self.presence = None
        self.priority = 0
        self.roster_requested = False
        self.directed_to = set()
        self.ended = False
        self.management = None
        self.nonzas = {}
        self.inactive = False
        self._held = {}
        self._keepalive = None

    @property
    def available(self):
        return self.presence is not None

    def send(self, element):
        """
        Send C{element}, or keep it: a presence while the client is
        inactive waits (only the latest of each sender), and with stream
        management every stanza is kept until acknowledged, the connection
        there or not.
        """
        name = getattr(element, "name", None)  # Offline storage gives text.
        if self.inactive and name == "presence":
            sender = element.getAttribute("from")
            self._held.pop(sender, None)
            self._held[sender] = serialize(element)
            return
        if self._held and name == "message":
            # The presence a message's sender showed comes before it, as
            # a chat offer's nickname does.
            held = self._held.pop(element.getAttribute("from"), None)
            if held is not None:
                self._write(held)
        self._write(element)

    def _write(self, element):
        xml = serialize(element)
        if self.xmlstream is not None:
            self.xmlstream.send(xml)
        if self.management is not None:
            self.management.stanza_sent(xml)

    def set_inactive(self, inactive):
        """
        The client's state (XEP-0352); becoming active again flushes the
        presence held back meanwhile.
        """
        self.inactive = inactive
        if not inactive:
            held, self._held = self._held, {}
            for element in held.values():
                self._write(element)

    def close(self, condition, text=None):
        if self.xmlstream is not None:
            self.xmlstream.close_with_error(condition, text)

    def element_received(self, element):
        """
        A top-level element from the client: a stanza, counted for stream
        management once processed, or one of the C{nonzas}.
        """
        handler = self.nonzas.get((element.uri, element.name))
        if handler is not None:
            handler(self, element)
            return
        self.stanza_received(element)
        if self.management is not None:
            self.management.stanza_handled()

    def stanza_received(self, stanza):
        """
        Check and stamp a stanza from the client, then hand it to the router.
        """
        if stanza.uri != NS_CLIENT or stanza.name not in STANZA_NAMES:
            self.close("unsupported-stanza-type", f"<{stanza.name}/> is not a stanza")
            return
        claimed = stanza.getAttribute("from")
        if claimed is not None and not self._is_own_address(claimed):
            self.close("invalid-from", "stanzas are sent from the bound JID")
            return
        stanza["from"] = self.jid.full()
        kind = stanza.getAttribute("type")
        recipient = stanza.getAttribute("to")
        if recipient is not None:
            try:
                stanza["to"] = jids.parse(recipient).full()
            except jid.InvalidFormat:
                # The reply must not come "from" the malformed address.
                del stanza["to"]
                self._refuse(stanza, "jid-malformed", f"{recipient!r} is not a valid JID")
                return
        if stanza.name == "iq" and not self._valid_iq(stanza, kind):
            return
        # The server's handlers need the session itself, not only its JID:
        # a replaced session and its successor share one full JID.
        stanza.session = self
        self.router.route_from_client(stanza)

    def _is_own_address(self, claimed):
        """
        Whether C{claimed} is this session's full or bare JID once
        normalised, as C{ALICE@example.org} is C{alice@example.org}; an
        address that does not parse is no one's.
        """
        try:
            address = jids.parse(claimed)
        except jid.InvalidFormat:
            return False
        return address.full() in (self.jid.full(), self.bare)

    def _valid_iq(self, iq, kind):
        if kind not in IQ_TYPES or not iq.getAttribute("id"):
            self._refuse(iq, "bad-request", "an iq needs an id and a type")
            return False
        if kind in ("get", "set") and len(list(iq.elements())) != 1:
            self._refuse(iq, "bad-request", "a request carries exactly one payload")
            return False
        return True

    def _refuse(self, stanza, condition, text):
        if stanza.getAttribute("type") in ("error", "result"):
            return
        self.send(error.StanzaError(condition, text=text).toResponse(stanza))

    def start_keepalive(self, interval, grace, new_id):
        """
        Ping the client when it has been silent for C{interval} seconds and
        close the stream when it stays silent C{grace} seconds longer.
        """

        def check():
            silent = self.clock.seconds() - self.xmlstream.last_activity
            if silent >= interval + grace:
                self.close("connection-timeout", "no answer to keepalive")
                return
            if silent >= interval:
                ping = domish.Element((NS_CLIENT, "iq"))
                ping["type"] = "get"
                ping["id"] = new_id()
                ping["to"] = self.jid.full()
                ping["from"] = self.jid.host
                ping.addElement((NS_PING, "ping"))
                self.send(ping)
                delay = grace
            else:
                delay = interval - silent
            self._keepalive = self.clock.callLater(delay, check)

        self._keepalive = self.clock.callLater(interval, check)

    def stop_keepalive(self):
        if self._keepalive is not None and self._keepalive.active():
            self._keepalive.cancel()
        self._keepalive = None


class SessionRegistry:
    """
    The bound resources of every account, by bare and then resource.
    """

    def __init__(self):
        self._accounts = {}

    def add(self, session):
        """
        Register C{session}; return the session it replaces, if any.
        """
        resources = self._accounts.setdefault(session.bare, {})
        replaced = resources.get(session.jid.resource)
        resources[session.jid.resource] = session
        return replaced

    def remove(self, session):
        resources = self._accounts.get(session.bare, {})
        if resources.get(session.jid.resource) is session:
            del resources[session.jid.resource]
            if not resources:
                del self._accounts[session.bare]

    def get(self, full_jid):
        """
        The session bound to C{full_jid} (a L{jid.JID}), or C{None}.
        """
        return self._accounts.get(full_jid.userhost(), {}).get(full_jid.resource)

    def sessions(self, bare):
        return list(self._accounts.get(bare, {}).values())

    def available(self, bare):
        return [s for s in self._accounts.get(bare, {}).values() if s.available]

    def all(self):
        return [s for resources in self._accounts.values() for s in resources.values()]

    def is_connected(self, bare):
        return bare in self._accounts

    def __len__(self):
        return sum(len(resources) for resources in self._accounts.values())

