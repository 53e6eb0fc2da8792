# -*- test-case-name: tests.test_xmpp_activity -*-
"""
Entity time (XEP-0202) of the server, and last activity (XEP-0012): the
server's uptime, and for an account the seconds since its last logout,
told to the account itself and the contacts that see its presence.
"""

import datetime

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.xmpp import jids
from mcc.xmpp import subscriptions as states
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_LAST, NS_TIME

TIME = f"/iq[@type='get']/time[@xmlns='{NS_TIME}']"
LAST = f"/iq[@type='get']/query[@xmlns='{NS_LAST}']"


class EntityTime(XMPPHandler, IQHandlerMixin):
    """
    The server's clock, in UTC: it keeps no time zone of its own.
    """

    iqHandlers = {TIME: "on_time"}

    def __init__(self, clock):
        XMPPHandler.__init__(self)
        self.clock = clock

    def connectionInitialized(self):
        self.xmlstream.addObserver(TIME, self.handleRequest)

    def on_time(self, iq):
        moment = datetime.datetime.fromtimestamp(self.clock.seconds(), datetime.UTC)
        reply = domish.Element((NS_TIME, "time"))
        reply.addElement("tzo", content="+00:00")
        reply.addElement("utc", content=moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        return reply


def _last(seconds, status=""):
    query = domish.Element((NS_LAST, "query"))
    query["seconds"] = str(max(0, int(seconds)))
    if status:
        query.addContent(status)
    return query


class ServerUptime(XMPPHandler, IQHandlerMixin):
    """
    Last activity of the server itself: how long it has run (section 5).
    """

    iqHandlers = {LAST: "on_last"}

    def __init__(self, clock):
        XMPPHandler.__init__(self)
        self.clock = clock
        self.started = clock.seconds()

    def connectionInitialized(self):
        self.xmlstream.addObserver(LAST, self.handleRequest)

    def on_last(self, iq):
        return _last(self.clock.seconds() - self.started)


class AccountLastActivity(XMPPHandler, IQHandlerMixin):
    """
    Last activity of an account's bare JID (section 4), in the accounts
    collection: 0 while a resource is connected.
    """

    iqHandlers = {LAST: "on_last"}

    def __init__(self, last_activity, rosters, sessions, clock):
        XMPPHandler.__init__(self)
        self.last_activity = last_activity
        self.rosters = rosters
        self.sessions = sessions
        self.clock = clock

    def connectionInitialized(self):
        self.xmlstream.addObserver(LAST, self.handleRequest)

    def on_last(self, iq):
        requester = jids.parse(iq["from"]).userhost()
        owner = jids.parse(iq.getAttribute("to") or requester).userhost()
        if owner != requester:
            item = self.rosters.get(localpart(owner), requester)
            if not states.shares_presence(item):
                raise error.StanzaError("forbidden", text="only contacts who see the presence")
        if self.sessions.available(owner):
            return _last(0)
        last = self.last_activity.last(localpart(owner))
        if last is None:
            raise error.StanzaError("service-unavailable", text="never signed out")
        at, status = last
        return _last(self.clock.seconds() - at, status)
