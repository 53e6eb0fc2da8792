# -*- test-case-name: tests.test_guest_contact -*-
"""
Guests that behave like real contacts: what an operator's client asks a
chat's guest JID (service discovery, ping, the visitor's vCard), the roster
item that names it, and the ids its messages carry.

Guests' roster items are never stored: an operator's roster holds, besides
what the rosters table keeps, one item for each open chat their clients show
(L{mcc.routing.chats.ChatService.shown_to}), added when the roster is read
and pushed or taken away as chats ring, are taken and end.  A chat that
ended while the server was down has no item to leave behind.
"""

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish, xpath
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.routing.chats import ChatError, ChatState, isolated, sendable
from mcc.routing.rosters import RosterItem
from mcc.xmpp import jids
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_SID, NS_VCARD
from mcc.xmpp.presence import INITIAL_PRESENCE_EVENT

NS_RECEIPTS = "urn:xmpp:receipts"
NS_MARKERS = "urn:xmpp:chat-markers:0"
NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_COMMANDS = "http://jabber.org/protocol/commands"
"""
Ad-hoc commands (XEP-0050): a guest announces them once it has some.
"""

GUEST_FEATURES = (
    NS_DISCO_INFO,
    NS_DISCO_ITEMS,
    NS_PING,
    NS_VCARD,
    NS_CHATSTATES,
    NS_RECEIPTS,
    NS_MARKERS,
)
GUEST_IDENTITY = ("client", "web")
ROSTER_GROUP = "Chats"


def nickname(chat):
    """
    How operators' clients name C{chat}'s guest: "Vera Visitor · Reference".
    """
    name = chat.visitor_name or "Visitor"
    return f"{name} \u00b7 {chat.queue or chat.target_user}"


def guest_item(chat, domain):
    """
    The roster item that names C{chat}'s guest (L{nickname}).
    """
    return RosterItem(
        f"{chat.guest}@{domain}", sendable(nickname(chat)), "to", False, (ROSTER_GROUP,)
    )


def stamp_ids(message, owner, new_id):
    """
    Give a guest's message an id, as its origin-id, and a stanza-id
    (XEP-0359) assigned for C{owner}, the operator's bare JID, unless it
    has them already.
    """
    if message.getAttribute("id"):
        return
    message["id"] = new_id()
    message.addElement((NS_SID, "origin-id"))["id"] = message["id"]
    stanza_id = message.addElement((NS_SID, "stanza-id"))
    stanza_id["by"] = owner
    stanza_id["id"] = new_id()


def _query(iq, uri, name):
    return f"/iq[@type='{iq}']/{name}[@xmlns='{uri}']"


class GuestContact(XMPPHandler, IQHandlerMixin):
    """
    Iqs to a guest JID.  A chat that has ended (or never was) is
    item-not-found for every iq; what a guest does not speak is left to
    the fallback (service-unavailable).
    """

    iqHandlers = {
        _query("get", NS_DISCO_INFO, "query"): "on_disco_info",
        _query("get", NS_DISCO_ITEMS, "query"): "on_disco_items",
        _query("get", NS_PING, "ping"): "on_ping",
        _query("get", NS_VCARD, "vCard"): "on_vcard",
        _query("set", NS_VCARD, "vCard"): "on_vcard_set",
    }

    def __init__(self, chats, commands=None):
        """
        @param commands: the guests' ad-hoc commands (an C{IDisco}), whose
            feature and nodes the guest's disco answers name; or C{None}.
        """
        XMPPHandler.__init__(self)
        self.chats = chats
        self.commands = commands

    def connectionInitialized(self):
        self.xmlstream.addObserver("/iq[@type='get' or @type='set']", self.on_iq)

    def on_iq(self, iq):
        if self._chat(iq) is None and not self._for_commands(iq):
            iq.handled = True
            self.send(error.StanzaError("item-not-found", text="this chat has ended").toResponse(iq))
        elif any(xpath.internQuery(query).matches(iq) for query in self.iqHandlers):
            self.handleRequest(iq)

    def _for_commands(self, iq):
        """
        Whether C{iq} runs or discovers commands, which outlive a chat (its
        tags, transcript and details stay at hand once it ended).
        """
        if self.commands is None:
            return False
        if next(iq.elements(NS_COMMANDS, "command"), None) is not None:
            return True
        return iq.query is not None and bool(iq.query.getAttribute("node"))

    def _chat(self, iq):
        """
        The open chat C{iq} is addressed to, or C{None}.
        """
        try:
            chat = self.chats.by_guest(jids.parse(iq["to"]).user)
        except ChatError:
            return None
        return chat if chat.state in ChatState.OPEN else None

    def _shown(self, iq, chat):
        return self.chats.shows(chat, localpart(jids.parse(iq["from"]).userhost()))

    def on_disco_info(self, iq):
        node = iq.query.getAttribute("node")
        if node:
            return self._commands_node(iq, node, NS_DISCO_INFO, "getDiscoInfo")
        query = domish.Element((NS_DISCO_INFO, "query"))
        identity = query.addElement("identity")
        identity["category"], identity["type"] = GUEST_IDENTITY
        chat = self._chat(iq)
        if chat is not None and self._shown(iq, chat):
            identity["name"] = sendable(chat.visitor_name or "Visitor")
        for feature in GUEST_FEATURES + ((NS_COMMANDS,) if self.commands else ()):
            query.addElement("feature")["var"] = feature
        return query

    def on_disco_items(self, iq):
        node = iq.query.getAttribute("node")
        if node:
            return self._commands_node(iq, node, NS_DISCO_ITEMS, "getDiscoItems")
        return domish.Element((NS_DISCO_ITEMS, "query"))

    def _commands_node(self, iq, node, namespace, ask):
        """
        The guest's only nodes are its commands' (XEP-0050 discovery).
        """
        if self.commands is None:
            raise error.StanzaError("item-not-found", text="a guest has no nodes")
        found = getattr(self.commands, ask)(jids.parse(iq["from"]), jids.parse(iq["to"]), node)
        return found.addCallback(self._node_query, node, namespace)

    @staticmethod
    def _node_query(items, node, namespace):
        if not items:
            raise error.StanzaError("item-not-found", text=f"no node {node!r}")
        query = domish.Element((namespace, "query"))
        query["node"] = node
        for item in items:
            query.addChild(item.toElement())
        return query

    def on_ping(self, iq):
        return None

    def on_vcard(self, iq):
        """
        The visitor's details, for an operator the chat rings for or who
        holds it.
        """
        chat = self._chat(iq)
        if chat is None:
            raise error.StanzaError("item-not-found", text="this chat has ended")
        if not self._shown(iq, chat):
            raise error.StanzaError("forbidden", text="this chat is not for you")
        card = domish.Element((NS_VCARD, "vCard"))
        card.addElement("FN", content=sendable(chat.visitor_name or "Visitor"))
        card.addElement("NICKNAME", content=sendable(chat.visitor_name or "Visitor"))
        if chat.visitor_email:
            card.addElement("EMAIL").addElement("USERID", content=sendable(chat.visitor_email))
        if chat.page:
            card.addElement("URL", content=sendable(chat.page))
        note = [f"Queue: {chat.queue}" if chat.queue else f"For: {chat.target_user}"]
        if chat.question:
            note.append(f"Question: {isolated(chat.question)}")
        card.addElement("NOTE", content=sendable("\n".join(note)))
        return card

    def on_vcard_set(self, iq):
        raise error.StanzaError("not-allowed", text="a visitor's details come from the chat")


class GuestIntroductions(XMPPHandler):
    """
    A resource that becomes available meets the guests of the chats its
    account is shown (L{OperatorChannel.introduce}): an operator's second
    client rings too, and shows the chat that the first one answered.
    """

    def __init__(self, chats, channel):
        XMPPHandler.__init__(self)
        self.chats = chats
        self.channel = channel

    def connectionInitialized(self):
        self.xmlstream.addObserver(INITIAL_PRESENCE_EVENT, self.on_initial_presence)

    def on_initial_presence(self, session):
        for chat in self.chats.shown_to(localpart(session.bare)):
            self.channel.introduce(chat, session)


def roster_extras(chats, domain):
    """
    For L{mcc.xmpp.roster.RosterService}: the guest items of an owner
    (an account name) that a roster get adds.
    """

    def extras(owner):
        return [guest_item(chat, domain) for chat in chats.shown_to(owner)]

    return extras
