# -*- test-case-name: tests.test_xmpp_management,tests.test_xmpp_mobile -*-
"""
Stream management (XEP-0198): acknowledgements both ways, and resumption
of a session whose connection dropped, as a phone's does whenever it
changes networks.

A session that enabled resumption and loses its connection without closing
its stream is I{detached}: it stays bound under its full JID, keeps its
presence for its contacts, and keeps what is sent to it; it no longer takes
new chats (L{Availability} counts it as away).  A new stream of the same
account that resumes it within the timeout gets every stanza it had not
acknowledged; otherwise the session ends as any other, and the messages it
had not acknowledged go to offline storage.
"""

import collections

from twisted.logger import Logger
from twisted.words.xish import domish
from wokkel.generic import parseXml

from mcc.routing.offline import OfflineRefused
from mcc.xmpp.jids import localpart
from mcc.xmpp.messages import add_delay
from mcc.xmpp.namespaces import NS_CLIENT

log = Logger()

NS_SM = "urn:xmpp:sm:3"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

REQUEST_AFTER = 5
"""
How many stanzas the server sends before it asks for an acknowledgement.
"""
REQUEST_INTERVAL = 30.0
"""
Seconds after which an unacknowledged stanza makes the server ask anyway.
"""
RESUME_TIMEOUT = 300.0
"""
Seconds a detached session waits to be resumed: long enough for a phone to
find another network, short enough that its chats do not wait for nothing.
"""
WRAP = 2 ** 32

PEER_GONE = (None, "connection-timeout")
"""
How a stream that may be resumed ends: the connection dropped, or went
silent.  A stream closed by either side on purpose (the client's
C{</stream:stream>}, a conflict, a disabled account) ends its session.
"""

UNSTORED_TYPES = ("error", "groupchat", "headline")


def nonza(name, **attributes):
    element = domish.Element((NS_SM, name))
    for key, value in attributes.items():
        element[key] = str(value)
    return element


def failed(condition, **attributes):
    element = nonza("failed", **attributes)
    element.addElement((NS_STANZAS, condition))
    return element


class StreamManagement:
    """
    The counters of one session that enabled stream management.

    @ivar handled: how many stanzas from the client the server has
        processed; a stanza counts only once it has been.
    @ivar id: the resumption id, or C{None} if the session is not resumable.
    """

    def __init__(
        self, session, clock, id=None, request_after=REQUEST_AFTER,
        request_interval=REQUEST_INTERVAL,
    ):
        self.session = session
        self.clock = clock
        self.id = id
        self.request_after = request_after
        self.request_interval = request_interval
        self.handled = 0
        self._sent = 0
        self._unacked = collections.deque()
        self._since_request = 0
        self._timer = None

    @property
    def acked(self):
        return self._sent - len(self._unacked)

    def unacked(self):
        return list(self._unacked)

    def stanza_handled(self):
        self.handled += 1

    def stanza_sent(self, xml):
        """
        Keep C{xml} until the client acknowledges it, and ask for that
        every C{request_after} stanzas or C{request_interval} seconds.
        """
        self._unacked.append(xml)
        self._sent += 1
        self._since_request += 1
        if self._since_request >= self.request_after:
            self.request()
        elif self._timer is None:
            self._timer = self.clock.callLater(self.request_interval, self._request_due)

    def _request_due(self):
        self._timer = None
        if self._unacked:
            self.request()

    def request(self):
        self.cancel_timer()
        self._since_request = 0
        xs = self.session.xmlstream
        if xs is not None:
            xs.send(nonza("r"))

    def cancel_timer(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def answer(self):
        self.session.xmlstream.send(nonza("a", h=self.handled % WRAP))

    def acknowledged(self, h):
        """
        The client has C{h} of the server's stanzas; returns C{False} when
        it claims more than were sent.
        """
        # Counters wrap at 2**32: h names the count nearest the one sent.
        gained = (h - self.acked) % WRAP
        if gained > len(self._unacked):
            return gained > WRAP // 2  # An old, smaller count: nothing new.
        for _ in range(gained):
            self._unacked.popleft()
        return True

    def received(self, element):
        """
        Handle an C{<r/>} or an C{<a/>} from the client.
        """
        if element.name == "r":
            self.answer()
        elif element.name == "a":
            try:
                h = int(element.getAttribute("h", ""))
            except ValueError:
                h = -1
            if h < 0 or not self.acknowledged(h % WRAP):
                self.session.close("undefined-condition", "handled-count-too-high")


class SessionResumption:
    """
    The resumable sessions of one server, and what happens when they
    detach, resume and expire.

    @ivar timeout: seconds a detached session may be resumed within.
    """

    def __init__(self, server, availability, offline, clock, timeout=RESUME_TIMEOUT, **counting):
        """
        @param server: the L{XMPPServer}, which ends sessions.
        @param counting: L{StreamManagement}'s C{request_after} and
            C{request_interval}.
        """
        self.server = server
        self.availability = availability
        self.offline = offline
        self.clock = clock
        self.timeout = timeout
        self.counting = counting
        self._sessions = {}
        self._expiries = {}

    def __len__(self):
        return len(self._sessions)

    def detached(self):
        return [self._sessions[id] for id in self._expiries]

    # On a bound stream

    def received(self, session, element):
        """
        A stream management element from the client of C{session}.
        """
        if element.name == "enable":
            self._enable(session, element)
        elif session.management is None:
            session.xmlstream.send(failed("unexpected-request"))
        elif element.name in ("r", "a"):
            session.management.received(element)

    def _enable(self, session, element):
        if session.management is not None:
            session.xmlstream.send(failed("unexpected-request"))
            return
        resume = element.getAttribute("resume") in ("true", "1")
        management = StreamManagement(
            session, self.clock, self.server.new_id() if resume else None, **self.counting
        )
        session.management = management
        if resume:
            self._sessions[management.id] = session
            session.xmlstream.send(
                nonza("enabled", id=management.id, resume="true", max=int(self.timeout))
            )
        else:
            session.xmlstream.send(nonza("enabled"))

    def stream_ended(self, session, xs):
        """
        The stream C{xs} of C{session} ended: detach the session if it may
        be resumed, end it otherwise.  A stream the session has already
        left for another means nothing.
        """
        if session.xmlstream is not xs or session.ended:
            return
        reason = getattr(xs, "error_condition", None)
        resumable = session.management is not None and session.management.id is not None
        if resumable and reason in PEER_GONE and not getattr(xs, "closed_by_peer", False):
            self.detach(session)
        else:
            self.server.end_session(session, reason or "disconnected")

    def detach(self, session):
        log.info(
            "XMPP session {account}/{resource} detached, resumable for {timeout:g} s",
            account=session.jid.user, resource=session.jid.resource, timeout=self.timeout,
        )
        session.stop_keepalive()
        session.management.cancel_timer()
        session.xmlstream = None
        if session.available:
            self.availability.resource_detached(localpart(session.bare), session.jid.resource)
        id = session.management.id
        self._expiries[id] = self.clock.callLater(self.timeout, self._expire, session)

    def _expire(self, session):
        self._expiries.pop(session.management.id, None)
        self.server.end_session(session, "resumption timed out")

    # When a session ends, whatever the reason

    def session_ended(self, session):
        """
        Forget C{session}; the messages it had not acknowledged go to
        offline storage, as if they had arrived with nobody there.
        """
        management = session.management
        if management is None:
            return
        management.cancel_timer()
        expiry = self._expiries.pop(management.id, None)
        if expiry is not None and expiry.active():
            expiry.cancel()
        if self._sessions.get(management.id) is session:
            del self._sessions[management.id]
        for xml in management.unacked():
            self._store(session, xml)

    def _store(self, session, xml):
        message = parseXml(xml)
        kind = message.getAttribute("type", "normal")
        if message.name != "message" or kind in UNSTORED_TYPES or message.body is None:
            return
        sender = message.getAttribute("from", "")
        add_delay(message, session.jid.host, self.clock.seconds(), "Offline storage")
        try:
            self.offline.keep(
                localpart(session.bare), sender.split("/")[0].split("@")[0],
                message.toXml(defaultUri=NS_CLIENT),
            )
        except OfflineRefused as refusal:
            log.warn(
                "XMPP message from {sender} to {account} lost at the end of its session: {why}",
                sender=sender, account=session.jid.user, why=str(refusal),
            )

    # On a new stream

    def resume(self, xs, username, element):
        """
        Resume the session C{element} names on the stream C{xs}, which
        C{username} authenticated; the session, or C{None} after telling
        the client it failed.
        """
        session = self._sessions.get(element.getAttribute("previd"))
        try:
            h = int(element.getAttribute("h", ""))
        except ValueError:
            h = -1
        if session is None or session.ended or session.jid.user != username:
            xs.send(failed("item-not-found"))
            return None
        if h < 0 or not session.management.acknowledged(h % WRAP):
            xs.send(failed("unexpected-request", h=session.management.handled % WRAP))
            return None
        expiry = self._expiries.pop(session.management.id, None)
        if expiry is not None and expiry.active():
            expiry.cancel()
        old = session.xmlstream
        session.xmlstream = xs
        if old is not None:
            # The old connection has not noticed it is gone; it never will now.
            session.stop_keepalive()
            old.close_with_error("conflict", "this session was resumed on another connection")
        management = session.management
        xs.send(nonza("resumed", previd=management.id, h=management.handled % WRAP))
        for xml in management.unacked():
            xs.send(xml)
        if management.unacked():
            management.request()
        if session.available:
            show = session.presence.show and str(session.presence.show).strip()
            self.availability.resource_available(
                localpart(session.bare), session.jid.resource, show or None, session.priority
            )
        log.info(
            "XMPP session {account}/{resource} resumed, {count} stanzas sent again",
            account=session.jid.user, resource=session.jid.resource,
            count=len(management.unacked()),
        )
        return session
