# -*- test-case-name: tests.test_xmpp_roster -*-
"""
Roster management (RFC 6121 section 2): get, set, remove, and pushes.
"""

from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.routing.chats import GUEST_PREFIX
from mcc.routing.rosters import RosterItem
from mcc.xmpp import jids
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_CLIENT, NS_ROSTER

ROSTER_QUERY = f"/query[@xmlns='{NS_ROSTER}']"


def item_element(item, remove=False):
    element = domish.Element((NS_ROSTER, "item"))
    element["jid"] = item.contact
    if remove:
        element["subscription"] = "remove"
        return element
    element["subscription"] = item.subscription
    if item.name:
        element["name"] = item.name
    if item.ask:
        element["ask"] = "subscribe"
    for group in item.groups:
        element.addElement("group", content=group)
    return element


def push_item(sessions, owner, item, new_id, remove=False):
    """
    Send a roster push to every resource of C{owner} that asked for the roster.
    """
    for session in sessions.sessions(owner):
        if not session.roster_requested:
            continue
        push = domish.Element((NS_CLIENT, "iq"))
        push["type"] = "set"
        push["id"] = new_id()
        push["to"] = session.jid.full()
        push.addElement((NS_ROSTER, "query")).addChild(item_element(item, remove))
        session.send(push)


def _own_account(iq):
    sender = jids.parse(iq["from"])
    recipient = iq.getAttribute("to")
    if recipient is not None and jids.parse(recipient).userhost() != sender.userhost():
        raise error.StanzaError("forbidden", text="only your own roster")
    return sender


class RosterService(XMPPHandler, IQHandlerMixin):
    iqHandlers = {
        "/iq[@type='get']" + ROSTER_QUERY: "on_get",
        "/iq[@type='set']" + ROSTER_QUERY: "on_set",
    }

    def __init__(self, rosters, sessions, subscriptions, new_id, extras=lambda owner: ()):
        """
        @param extras: C{account name -> RosterItem}s that a roster get adds
            to the stored ones and that are never stored (the guests of the
            chats the account's clients show).
        """
        XMPPHandler.__init__(self)
        self.rosters = rosters
        self.sessions = sessions
        self.subscriptions = subscriptions
        self.new_id = new_id
        self.extras = extras

    def connectionInitialized(self):
        self.xmlstream.addObserver(
            "/iq[@type='get' or @type='set']" + ROSTER_QUERY, self.handleRequest
        )

    def on_get(self, iq):
        owner = _own_account(iq).userhost()
        iq.session.roster_requested = True
        query = domish.Element((NS_ROSTER, "query"))
        for item in self.rosters.items(localpart(owner)):
            query.addChild(item_element(item))
        for item in self.extras(localpart(owner)):
            query.addChild(item_element(item))
        return query

    def on_set(self, iq):
        owner = _own_account(iq).userhost()
        items = list(iq.query.elements(NS_ROSTER, "item"))
        if len(items) != 1:
            raise error.StanzaError("bad-request", text="a roster set has exactly one item")
        element = items[0]
        address = element.getAttribute("jid")
        if not address:
            raise error.StanzaError("jid-malformed", text="an item needs a jid")
        try:
            contact = jids.parse(address).userhost()
        except jid.InvalidFormat:
            raise error.StanzaError("jid-malformed") from None
        if contact == owner:
            raise error.StanzaError("not-allowed", text="you cannot be your own contact")
        if localpart(contact).startswith(GUEST_PREFIX):
            raise error.StanzaError("not-allowed", text="chats come and go as contacts of their own")
        current = self.rosters.get(localpart(owner), contact)
        if element.getAttribute("subscription") == "remove":
            if current is None:
                raise error.StanzaError("item-not-found")
            self.subscriptions.forget(owner, current)
            return None
        groups = [str(group).strip() for group in element.elements(NS_ROSTER, "group")]
        if "" in groups:
            raise error.StanzaError("not-acceptable", text="empty group name")
        if len(set(groups)) != len(groups):
            raise error.StanzaError("bad-request", text="a group is named twice")
        item = (current or RosterItem(contact)).but(
            name=element.getAttribute("name") or None, groups=tuple(groups)
        )
        self.rosters.put(localpart(owner), item)
        push_item(self.sessions, owner, item, self.new_id)
        return None
