# -*- test-case-name: tests.test_xmpp_blocking -*-
"""
Blocking (XEP-0191): an account's blocklist, pushed to the resources that
asked for it, and the router's refusal of stanzas between an account and
the JIDs it blocks, both ways (section 3.4).
"""

import weakref

from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.routing.chats import GUEST_PREFIX
from mcc.xmpp import jids
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_BLOCKING, NS_BLOCKING_ERRORS, NS_CLIENT

LIST = f"/iq[@type='get']/blocklist[@xmlns='{NS_BLOCKING}']"
CHANGE = f"/iq[@type='set']/*[@xmlns='{NS_BLOCKING}']"


def _matches(address):
    """
    The blocklist entries that cover C{address} (section 3.3.1's order:
    full JID, bare JID, domain/resource, domain).
    """
    candidates = [address.full(), address.userhost(), address.host]
    if address.resource:
        candidates.append(f"{address.host}/{address.resource}")
    return candidates


def is_account(address):
    return bool(address.user) and not address.user.startswith(GUEST_PREFIX)


class Blocking(XMPPHandler, IQHandlerMixin):
    """
    The blocklist commands, in the accounts collection, and what the router
    asks before it routes a stanza.  Blocklists are read once per account
    and kept in memory.
    """

    iqHandlers = {LIST: "on_list", CHANGE: "on_change"}

    def __init__(self, blocklists, sessions, new_id):
        XMPPHandler.__init__(self)
        self.blocklists = blocklists
        self.sessions = sessions
        self.new_id = new_id
        self._lists = {}
        self._interested = weakref.WeakSet()

    def connectionInitialized(self):
        self.xmlstream.addObserver(LIST, self.handleRequest)
        self.xmlstream.addObserver(CHANGE, self.handleRequest)

    def _list(self, owner):
        blocked = self._lists.get(owner)
        if blocked is None:
            blocked = self._lists[owner] = set(self.blocklists.blocked(localpart(owner)))
        return blocked

    def forget(self, owner):
        """
        C{owner} has no session left: its list need not stay in memory.
        """
        self._lists.pop(owner, None)

    def blocks(self, owner, address):
        """
        Whether the account C{owner} (a bare JID) blocks C{address} (a JID).
        """
        blocked = self._lists.get(owner)
        if blocked is None:
            if not self.sessions.is_connected(owner):
                # Not kept for accounts with nobody there: read it each time.
                blocked = set(self.blocklists.blocked(localpart(owner)))
            else:
                blocked = self._list(owner)
        return not blocked.isdisjoint(_matches(address))

    @staticmethod
    def _own(iq):
        owner = jids.parse(iq["from"]).userhost()
        if jids.parse(iq.getAttribute("to") or owner).userhost() != owner:
            raise error.StanzaError("forbidden", text="only your own blocklist")
        return owner

    def on_list(self, iq):
        owner = self._own(iq)
        self._interested.add(iq.session)
        reply = domish.Element((NS_BLOCKING, "blocklist"))
        for address in sorted(self._list(owner)):
            reply.addElement("item")["jid"] = address
        return reply

    def on_change(self, iq):
        owner = self._own(iq)
        command = iq.firstChildElement()
        if command.name not in ("block", "unblock"):
            raise error.StanzaError("bad-request", text=f"no {command.name} command")
        addresses = []
        for item in command.elements(NS_BLOCKING, "item"):
            try:
                addresses.append(jids.parse(item.getAttribute("jid", "")).full())
            except jid.InvalidFormat:
                raise error.StanzaError("jid-malformed", text=f"{item.getAttribute('jid')!r}") from None
        blocked = self._list(owner)
        if command.name == "block":
            if not addresses:
                raise error.StanzaError("bad-request", text="block at least one JID")
            self.blocklists.block(localpart(owner), addresses)
            blocked.update(addresses)
            self._hide(owner, addresses)
        else:
            self.blocklists.unblock(localpart(owner), addresses or None)
            if addresses:
                blocked.difference_update(addresses)
            else:
                blocked.clear()
        self._push(owner, command.name, addresses)

    def _hide(self, owner, addresses):
        """
        The blocked contacts see the account go (section 3.3.1).
        """
        for address in addresses:
            contact = jids.parse(address)
            targets = (
                [self.sessions.get(contact)] if contact.resource
                else self.sessions.available(contact.userhost())
            )
            for source in self.sessions.available(owner):
                for target in targets:
                    if target is None:
                        continue
                    gone = domish.Element((NS_CLIENT, "presence"))
                    gone["type"] = "unavailable"
                    gone["from"] = source.jid.full()
                    gone["to"] = target.jid.full()
                    target.send(gone)

    def _push(self, owner, command, addresses):
        for session in self.sessions.sessions(owner):
            if session not in self._interested:
                continue
            push = domish.Element((NS_CLIENT, "iq"))
            push["type"] = "set"
            push["id"] = self.new_id()
            push["to"] = session.jid.full()
            element = push.addElement((NS_BLOCKING, command))
            for address in addresses:
                element.addElement("item")["jid"] = address
            session.send(push)

    def refusal(self, stanza, sender, recipient):
        """
        Why C{stanza} from the account C{sender} (a full JID) to C{recipient}
        (a JID on this domain) must not pass, as the error to send back
        (or C{None} to drop it silently); C{False} when it may pass.
        """
        if self.blocks(sender.userhost(), recipient):
            if stanza.name == "presence":
                return None
            return error.StanzaError(
                "not-acceptable", appCondition=domish.Element((NS_BLOCKING_ERRORS, "blocked"))
            )
        if is_account(recipient) and self.blocks(recipient.userhost(), sender):
            if stanza.name == "presence":
                return None
            return error.StanzaError("service-unavailable")
        return False
