# -*- test-case-name: tests.test_chat_end_to_end -*-
"""
Visitors as XMPP contacts: every chat is a guest JID on the server's domain
(C{guest.xxxx@domain}), so operators answer from the client they already use.

L{OperatorChannel} is how the chat router reaches operators; L{GuestService}
turns what operators send to a guest JID back into router calls.
"""

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wokkel.subprotocols import XMPPHandler
from zope.interface import implementer

from mcc.routing.chats import OPERATOR, VISITOR, ChatError, ChatState, isolated, sendable
from mcc.routing.interfaces import IOperatorChannel
from mcc.xmpp import jids
from mcc.xmpp.jids import localpart
from mcc.xmpp.messages import add_delay
from mcc.xmpp.namespaces import NS_CLIENT
from mcc.xmpp.taps import MessageTaps

NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_NICK = "http://jabber.org/protocol/nick"
GUEST_RESOURCE = "visitor"
END_COMMANDS = ("/end", "!end")
"""
What ends a chat when an operator sends it; C{!end} is for clients that
take every word starting with C{/} as a command of their own.
"""
CHAT_STATES = ("composing", "paused")
QUOTE = "> "


def guest_jid(chat, domain):
    return f"{chat.guest}@{domain}/{GUEST_RESOURCE}"


def nickname(chat):
    name = chat.visitor_name or "Visitor"
    return f"{name} ({chat.queue or chat.target_user})"


def summary(chat):
    """
    The first thing an operator reads about a chat.  The fields come first,
    one a line; the question follows, every line of it quoted, so that no
    line a visitor writes can pass for one of the fields.
    """
    def value(text):
        return isolated(" ".join(text.split()))

    lines = [
        f"New chat for {value(chat.queue or chat.target_user)}"
        f" from {value(chat.visitor_name) or 'a visitor'}"
    ]
    if chat.visitor_email:
        lines.append(f"E-mail: {value(chat.visitor_email)}")
    lines.append(f"IP: {value(chat.ip) or 'unknown'}")
    lines.append(f"Page: {value(chat.page) or 'unknown'}")
    if chat.question:
        lines.append("Question:")
        lines.extend(QUOTE + isolated(line) for line in chat.question.splitlines())
    lines.append("Reply to take this chat; send /end (or !end) to end it.")
    return "\n".join(lines)


@implementer(IOperatorChannel)
class OperatorChannel:
    """
    @ivar taps: the L{MessageTaps} that see the guests' messages, so that
        they are archived and copied like any other; the server sets it.
    """

    def __init__(self, sessions, domain):
        self.sessions = sessions
        self.domain = domain
        self.taps = MessageTaps()

    def _send(self, chat, operator, stanza):
        stanza["from"] = guest_jid(chat, self.domain)
        owner = f"{operator}@{self.domain}"
        targets = [s for s in self.sessions.available(owner) if s.priority >= 0]
        is_message = stanza.name == "message"
        if is_message:
            self.taps.receiving(stanza, owner)
        for session in targets:
            stanza["to"] = session.jid.full()
            session.send(stanza)
        if is_message:
            self.taps.received(stanza, owner, targets)

    def _message(self, chat, operator, text=None, state=None, said_at=None):
        """
        A chat message from the guest; C{said_at} stamps one said earlier
        (XEP-0203), so that clients show it as history.
        """
        message = domish.Element((NS_CLIENT, "message"))
        message["type"] = "chat"
        if text is not None:
            message.addElement("body", content=sendable(text))
        if state is not None:
            message.addElement((NS_CHATSTATES, state))
        if said_at is not None:
            add_delay(message, self.domain, said_at)
        self._send(chat, operator, message)

    def _replay(self, chat, operator, events):
        """
        Messages said before C{operator} could see them.
        """
        for event in events:
            text = event.data["text"]
            if event.data["from"] == OPERATOR:
                text = f"[{event.data['name']}] {text}"
            elif event.data["from"] == VISITOR:
                text = isolated(text)
            self._message(chat, operator, text, said_at=event.at)

    def _presence(self, chat, operator, kind=None):
        presence = domish.Element((NS_CLIENT, "presence"))
        if kind is None:
            presence.addElement((NS_NICK, "nick"), content=sendable(nickname(chat)))
        else:
            presence["type"] = kind
        self._send(chat, operator, presence)

    def offer(self, chat, operators, transcript):
        for operator in operators:
            self._presence(chat, operator)
            message = domish.Element((NS_CLIENT, "message"))
            message["type"] = "chat"
            message.addElement("body", content=sendable(summary(chat)))
            message.addElement((NS_NICK, "nick"), content=sendable(nickname(chat)))
            message.addElement((NS_CHATSTATES, "active"))
            self._send(chat, operator, message)
            self._replay(chat, operator, transcript)

    def resume(self, chat, operator, missed):
        self._presence(chat, operator)
        self._replay(chat, operator, missed)

    def deliver(self, chat, operator, text):
        self._message(chat, operator, isolated(text), "active")

    def typing(self, chat, operator, state):
        self._message(chat, operator, state=state)

    def notify(self, chat, operators, text):
        for operator in operators:
            self._message(chat, operator, f"[mcc] {text}")

    def withdraw(self, chat, operators):
        for operator in operators:
            self._presence(chat, operator, "unavailable")


class GuestService(XMPPHandler):
    """
    Stanzas from operators to guest JIDs.
    """

    def __init__(self, chats):
        XMPPHandler.__init__(self)
        self.chats = chats

    def connectionInitialized(self):
        self.xmlstream.addObserver("/message", self.on_message)
        self.xmlstream.addObserver("/presence[@type='probe']", self.on_probe)

    def on_message(self, message):
        if message.getAttribute("type") == "error":
            return
        guest = jids.parse(message["to"]).user
        operator = localpart(jids.parse(message["from"]).userhost())
        text = message.body and str(message.body).strip()
        try:
            if text in END_COMMANDS:
                self.chats.operator_ends(guest, operator)
            elif text:
                self.chats.operator_says(guest, operator, str(message.body))
            else:
                for state in CHAT_STATES:
                    if next(message.elements(NS_CHATSTATES, state), None) is not None:
                        self.chats.operator_typing(guest, operator, state)
        except ChatError as problem:
            self.send(error.StanzaError("item-not-found", text=str(problem)).toResponse(message))

    def on_probe(self, presence):
        reply = domish.Element((NS_CLIENT, "presence"))
        reply["from"] = presence["to"]
        reply["to"] = presence["from"]
        try:
            chat = self.chats.by_guest(jids.parse(presence["to"]).user)
        except ChatError:
            chat = None
        if chat is None or chat.state not in ChatState.OPEN:
            reply["type"] = "unavailable"
        self.send(reply)
