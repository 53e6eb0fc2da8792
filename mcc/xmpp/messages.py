# -*- test-case-name: tests.test_xmpp_messages -*-
"""
Messages to an account (RFC 6121 section 8.5.2) and offline storage
(XEP-0160): kept when no resource can take them, handed over at the next
initial presence, marked with the time they were stored (XEP-0203).
"""

import datetime

from twisted.words.protocols.jabber import error
from wokkel.subprotocols import XMPPHandler

from mcc.routing.offline import SenderTooFast, StorageFull
from mcc.xmpp import jids
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_CLIENT, NS_DELAY
from mcc.xmpp.presence import INITIAL_PRESENCE_EVENT
from mcc.xmpp.taps import MessageTaps

REFUSALS = {
    # RFC 6121 section 8.5.2.2.1: storage that cannot take the message
    # answers service-unavailable; a sender over the rate may retry later.
    StorageFull: "service-unavailable",
    SenderTooFast: "resource-constraint",
}


def delay_stamp(seconds):
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_delay(stanza, domain, seconds, reason=None):
    """
    Stamp C{stanza} as sent at C{seconds} and delayed by the server
    (XEP-0203), so that clients show it with its own time.
    """
    delay = stanza.addElement((NS_DELAY, "delay"))
    delay["from"] = domain
    delay["stamp"] = delay_stamp(seconds)
    if reason:
        delay.addContent(reason)
    return delay


class MessageDelivery(XMPPHandler):
    """
    @ivar offline: the routing layer's L{IOfflineStorage}.
    """

    def __init__(self, offline, sessions, clock, domain, taps=None):
        """
        @param taps: the L{MessageTaps} that see each message given to an
            account, delivered or stored.
        """
        XMPPHandler.__init__(self)
        self.taps = MessageTaps() if taps is None else taps
        self.offline = offline
        self.sessions = sessions
        self.clock = clock
        self.domain = domain

    def connectionInitialized(self):
        self.xmlstream.addObserver("/message", self.on_message)
        self.xmlstream.addObserver(INITIAL_PRESENCE_EVENT, self.deliver_offline)

    def on_message(self, message):
        kind = message.getAttribute("type", "normal")
        recipient = jids.parse(message.getAttribute("to") or message.session.bare)
        bare = recipient.userhost()
        if kind == "error" or (kind == "headline" and recipient.resource):
            # RFC 6121 section 8.5.3.2.1: a headline for a resource that
            # is not connected (the router delivers to connected ones) is
            # silently ignored, not given to the account's others.
            return
        if kind == "groupchat":
            self._refuse(message, "service-unavailable", "no chat room here")
            return
        candidates = [s for s in self.sessions.available(bare) if s.priority >= 0]
        if kind != "headline" and candidates:
            top = max(s.priority for s in candidates)
            candidates = [s for s in candidates if s.priority == top]
        self.taps.deliver(message, bare, candidates)
        if candidates or kind == "headline" or message.body is None:
            return
        self._store(message, bare)

    def _store(self, message, bare):
        sender = localpart(jids.parse(message["from"]).userhost())
        # The stamp belongs to the stored copy only, not to a refusal.
        delay = add_delay(message, self.domain, self.clock.seconds(), "Offline storage")
        stanza = message.toXml(defaultUri=NS_CLIENT)
        message.children.remove(delay)
        try:
            self.offline.keep(localpart(bare), sender, stanza)
        except (StorageFull, SenderTooFast) as refusal:
            self._refuse(message, REFUSALS[type(refusal)], str(refusal))

    def _refuse(self, message, condition, text):
        self.send(error.StanzaError(condition, text=text).toResponse(message))

    def deliver_offline(self, session):
        for stanza in self.offline.take(localpart(session.bare)):
            session.send(stanza)
