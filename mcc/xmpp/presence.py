# -*- test-case-name: tests.test_xmpp_presence -*-
"""
Presence (RFC 6121 sections 3 and 4): subscriptions between local accounts,
broadcast of available and unavailable presence, probes of contacts at
login, and directed presence.
"""

from twisted.words.xish import domish
from wokkel.subprotocols import XMPPHandler

from mcc.routing.rosters import RosterItem
from mcc.xmpp import jids
from mcc.xmpp import subscriptions as states
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_CLIENT
from mcc.xmpp.roster import push_item

SUBSCRIPTION_KINDS = ("subscribe", "subscribed", "unsubscribe", "unsubscribed")

INITIAL_PRESENCE_EVENT = "//event/mcc/initial-presence"
"""
Dispatched on the accounts stream with the session that just became
available with a non-negative priority: the time to hand it offline messages.
"""


def deliver(stanza, session):
    stanza["to"] = session.jid.full()
    session.send(stanza)


def _presence(sender, kind=None):
    element = domish.Element((NS_CLIENT, "presence"))
    element["from"] = sender
    if kind is not None:
        element["type"] = kind
    return element


def _priority(presence):
    for child in presence.elements(NS_CLIENT, "priority"):
        try:
            return max(-128, min(127, int(str(child).strip())))
        except ValueError:
            return 0
    return 0


class Subscriptions:
    """
    Both ends of a subscription change, since both accounts live here.
    """

    def __init__(self, rosters, sessions, domain, account_exists, new_id):
        self.rosters = rosters
        self.domain = domain
        self.sessions = sessions
        self.account_exists = account_exists
        self.new_id = new_id

    def outbound(self, user, contact, kind):
        """
        C{user} (a bare JID) sent a subscription stanza of C{kind} to C{contact}.
        """
        rosters = self.rosters
        if user == contact:
            return
        if kind == "subscribed" and not rosters.has_request(localpart(user), contact):
            # Nothing to approve: pre-approval (RFC 6121 3.4) is not offered.
            return
        if kind in ("subscribed", "unsubscribed"):
            rosters.remove_request(localpart(user), contact)
        item = rosters.get(localpart(user), contact)
        if item is None and kind in ("subscribe", "subscribed"):
            # Approving a request adds the requester too (RFC 6121 3.1.5).
            item = RosterItem(contact)
        if item is not None:
            changed = states.outbound(kind, item)
            if changed != item or kind == "subscribe":
                rosters.put(localpart(user), changed)
                push_item(self.sessions, user, changed, self.new_id)
        self.inbound(contact, user, kind)

    def forget(self, owner, item):
        """
        Remove C{item} from C{owner}'s roster, cancelling both directions.
        """
        if states.receives_presence(item) or item.ask:
            self.inbound(item.contact, owner, "unsubscribe")
        if states.shares_presence(item):
            self.inbound(item.contact, owner, "unsubscribed")
        self.rosters.remove(localpart(owner), item.contact)
        self.rosters.remove_request(localpart(owner), item.contact)
        push_item(self.sessions, owner, item, self.new_id, remove=True)

    def inbound(self, owner, sender, kind):
        """
        C{owner} receives a subscription stanza of C{kind} from C{sender}.
        """
        if not self._is_local_account(owner):
            return
        rosters = self.rosters
        item = rosters.get(localpart(owner), sender)
        if kind == "subscribe":
            if states.shares_presence(item):
                self.inbound(sender, owner, "subscribed")
                return
            request = _presence(sender, kind)
            rosters.add_request(localpart(owner), sender, request.toXml())
            self._deliver_to_available(request, owner)
            return
        if kind == "unsubscribe":
            rosters.remove_request(localpart(owner), sender)
        if item is None:
            return
        changed = states.inbound(kind, item)
        if changed == item:
            return
        rosters.put(localpart(owner), changed)
        push_item(self.sessions, owner, changed, self.new_id)
        self._deliver_to_available(_presence(sender, kind), owner)
        if kind == "subscribed":
            self.send_presence_of(sender, owner)
        elif kind == "unsubscribed":
            self.send_unavailable_of(sender, owner)
        elif kind == "unsubscribe":
            self.send_unavailable_of(owner, sender)

    def _is_local_account(self, bare):
        account = jids.parse(bare)
        return account.host == self.domain and (
            self.sessions.is_connected(bare) or self.account_exists(account.user)
        )

    def _deliver_to_available(self, stanza, owner):
        for session in self.sessions.available(owner):
            deliver(stanza, session)

    def send_presence_of(self, owner, recipient):
        """
        Tell C{recipient}'s available resources that C{owner}'s are there.
        """
        for source in self.sessions.available(owner):
            for target in self.sessions.available(recipient):
                deliver(source.presence, target)

    def send_unavailable_of(self, owner, recipient):
        for source in self.sessions.available(owner):
            for target in self.sessions.available(recipient):
                deliver(_presence(source.jid.full(), "unavailable"), target)


class PresenceService(XMPPHandler):
    """
    Presence stanzas from local clients.  Every one of them comes here, as
    presence always needs the server's bookkeeping.
    """

    def __init__(self, rosters, sessions, subscriptions, availability):
        XMPPHandler.__init__(self)
        self.rosters = rosters
        self.sessions = sessions
        self.subscriptions = subscriptions
        self.availability = availability
        self.blocking = None
        """
        The L{Blocking} handler: no presence passes between an account and
        a JID it blocks (XEP-0191 section 3.4).
        """

    def connectionInitialized(self):
        self.xmlstream.addObserver("/presence", self.on_presence)

    def _apart(self, owner, contact):
        """
        Whether the account C{owner} blocks the bare JID C{contact} or the
        other way round.
        """
        if self.blocking is None:
            return False
        return self.blocking.blocks(owner, jids.parse(contact)) or self.blocking.blocks(
            contact, jids.parse(owner)
        )

    def on_presence(self, presence):
        kind = presence.getAttribute("type")
        recipient = presence.getAttribute("to")
        session = presence.session
        if kind in SUBSCRIPTION_KINDS:
            if recipient is not None:
                contact = jids.parse(recipient).userhost()
                self.subscriptions.outbound(session.bare, contact, kind)
        elif kind == "probe":
            if recipient is not None:
                self._probe(session, jids.parse(recipient).userhost())
        elif kind in (None, "unavailable", "error"):
            if recipient is None:
                self._broadcast(session, presence, kind)
            else:
                self._directed(session, presence, jids.parse(recipient), kind)

    def _subscriber_sessions(self, owner):
        subscribers = [
            item.contact
            for item in self.rosters.items(localpart(owner))
            if states.shares_presence(item)
            and self.sessions.is_connected(item.contact)
            and not self._apart(owner, item.contact)
        ]
        return [s for contact in subscribers for s in self.sessions.available(contact)]

    def _broadcast(self, session, presence, kind):
        if kind == "error":
            return
        if kind is None:
            initial = not session.available
            session.presence = presence
            session.priority = _priority(presence)
            show = presence.show and str(presence.show).strip()
            self.availability.resource_available(
                localpart(session.bare), session.jid.resource, show or None, session.priority
            )
            recipients = self._subscriber_sessions(session.bare) + self.sessions.available(
                session.bare
            )
            for target in recipients:
                deliver(presence, target)
            if initial:
                self._initial(session)
            return
        # Those that got directed presence hear the end of it even from a
        # resource that never broadcast its availability.
        directed = [self.sessions.get(jids.parse(full)) for full in session.directed_to]
        session.directed_to.clear()
        targets = [s for s in directed if s is not None]
        if session.available:
            session.presence = None
            self.availability.resource_gone(localpart(session.bare), session.jid.resource)
            targets += self._subscriber_sessions(session.bare) + self.sessions.available(
                session.bare
            )
        recipients = {id(target): target for target in targets}
        for target in recipients.values():
            deliver(presence, target)

    def _initial(self, session):
        """
        What a resource learns when it first becomes available.
        """
        for item in self.rosters.items(localpart(session.bare)):
            if (
                states.receives_presence(item)
                and self.sessions.is_connected(item.contact)
                and not self._apart(session.bare, item.contact)
            ):
                for source in self.sessions.available(item.contact):
                    deliver(source.presence, session)
        for other in self.sessions.available(session.bare):
            if other is not session:
                deliver(other.presence, session)
        for request in self.rosters.requests(localpart(session.bare)):
            session.send(request)
        if session.priority >= 0:
            self.xmlstream.dispatch(session, INITIAL_PRESENCE_EVENT)

    def _directed(self, session, presence, recipient, kind):
        if recipient.resource:
            target = self.sessions.get(recipient)
            targets = [target] if target is not None else []
        else:
            targets = self.sessions.available(recipient.userhost())
        for target in targets:
            if kind is None:
                session.directed_to.add(target.jid.full())
            elif kind == "unavailable":
                session.directed_to.discard(target.jid.full())
            presence["to"] = recipient.full()
            target.send(presence)

    def _probe(self, session, contact):
        item = self.rosters.get(localpart(session.bare), contact)
        if not states.receives_presence(item):
            return
        sources = self.sessions.available(contact)
        for source in sources:
            deliver(source.presence, session)
        if not sources:
            deliver(_presence(contact, "unavailable"), session)
