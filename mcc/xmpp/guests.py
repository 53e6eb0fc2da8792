# -*- test-case-name: tests.test_chat_end_to_end -*-
"""
Visitors as XMPP contacts: every chat is a guest JID on the server's domain
(C{guest.xxxx@domain}), so operators answer from the client they already use.

L{OperatorChannel} is how the chat router reaches operators; L{GuestService}
turns what operators send to a guest JID back into router calls.
"""

import weakref

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wokkel.subprotocols import XMPPHandler
from zope.interface import implementer

from mcc.routing.chats import (
    DISPLAYED, OPERATOR, RECEIVED, VISITOR, ChatError, ChatState, isolated, sendable,
)
from mcc.routing.interfaces import IOperatorChannel
from mcc.xmpp import jids
from mcc.xmpp.guest_contact import NS_MARKERS, NS_RECEIPTS, guest_item, nickname, stamp_ids
from mcc.xmpp.jids import localpart
from mcc.xmpp.messages import add_delay
from mcc.xmpp.namespaces import NS_CLIENT, NS_HINTS
from mcc.xmpp.roster import push_item
from mcc.xmpp.taps import MessageTaps
from mcc.xmpp.upload import shared_url

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
    def __init__(self, sessions, domain, new_id):
        """
        @param new_id: returns a fresh unique string, for stanza ids.
        """
        self.sessions = sessions
        self.domain = domain
        self.new_id = new_id
        self._reached = {}
        """
        Guest -> the sessions (weakly) that have heard from it, whom
        L{introduce} leaves alone.
        """
        self.taps = MessageTaps()
        """
        The L{MessageTaps} that see the guests' messages, so that they are
        archived and copied like any other; the server sets it.
        """

    def _send(self, chat, operator, stanza, skip=None, only=None):
        """
        Send C{stanza} from the guest to every available resource of
        C{operator} but C{skip} (a full JID), or to C{only} that one; each
        resource gets the same ids (L{stamp_ids}).
        """
        stanza["from"] = guest_jid(chat, self.domain)
        bare = f"{operator}@{self.domain}"
        is_message = stanza.name == "message"
        if is_message:
            stamp_ids(stanza, bare, self.new_id)
            self.taps.receiving(stanza, bare)
        reached = []
        for session in self.sessions.available(bare):
            full = session.jid.full()
            if session.priority >= 0 and full != skip and only in (None, full):
                stanza["to"] = full
                session.send(stanza)
                self._reached.setdefault(chat.guest, weakref.WeakSet()).add(session)
                reached.append(session)
        if is_message:
            self.taps.received(stanza, bare, reached)

    def _roster(self, chat, operator, remove=False):
        """
        A roster push that names the guest to C{operator}'s clients, or
        takes it away (see L{mcc.xmpp.guest_contact}).
        """
        item = guest_item(chat, self.domain)
        push_item(self.sessions, f"{operator}@{self.domain}", item, self.new_id, remove)

    def _message(
        self, chat, operator, text=None, state=None, said_at=None, skip=None, transient=False
    ):
        """
        A chat message from the guest; C{said_at} stamps one said earlier
        (XEP-0203), so that clients show it as history; a C{transient} one
        is neither archived nor copied (XEP-0334 hints).
        """
        message = domish.Element((NS_CLIENT, "message"))
        message["type"] = "chat"
        if text is not None:
            message.addElement("body", content=sendable(text))
        if transient:
            message.addElement((NS_HINTS, "no-store"))
            message.addElement((NS_HINTS, "no-copy"))
        if state is not None:
            message.addElement((NS_CHATSTATES, state))
        if said_at is not None:
            add_delay(message, self.domain, said_at)
        skip = skip and f"{operator}@{self.domain}/{skip}"
        self._send(chat, operator, message, skip)

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

    def _presence(self, chat, operator, kind=None, only=None):
        presence = domish.Element((NS_CLIENT, "presence"))
        if kind is None:
            presence.addElement((NS_NICK, "nick"), content=sendable(nickname(chat)))
        else:
            presence["type"] = kind
        self._send(chat, operator, presence, only=only)

    def offer(self, chat, operators, transcript):
        for operator in operators:
            self._roster(chat, operator)
            self._presence(chat, operator)
            message = domish.Element((NS_CLIENT, "message"))
            message["type"] = "chat"
            message.addElement("body", content=sendable(summary(chat)))
            message.addElement((NS_NICK, "nick"), content=sendable(nickname(chat)))
            message.addElement((NS_CHATSTATES, "active"))
            self._send(chat, operator, message)
            self._replay(chat, operator, transcript)

    def resume(self, chat, operator, missed):
        self._roster(chat, operator)
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
            self._roster(chat, operator, remove=True)
            reached = self._reached.get(chat.guest, weakref.WeakSet())
            for session in [s for s in reached if s.bare == f"{operator}@{self.domain}"]:
                reached.discard(session)
            if not reached:
                self._reached.pop(chat.guest, None)

    def introduce(self, chat, session):
        """
        A resource of an operator C{chat} is shown to became available
        after the chat rang or was taken: it sees the guest too, and the
        offer of a chat still ringing, unless it has them already.
        """
        if session in self._reached.get(chat.guest, ()):
            return
        full = session.jid.full()
        operator = localpart(session.bare)
        self._presence(chat, operator, only=full)
        message = domish.Element((NS_CLIENT, "message"))
        message["type"] = "chat"
        if chat.state == ChatState.WAITING:
            text = summary(chat)
        else:
            text = f"[mcc] {chat.operator_name} has this chat; it goes on here too."
        message.addElement("body", content=sendable(text))
        message.addElement((NS_NICK, "nick"), content=sendable(nickname(chat)))
        self._send(chat, operator, message, only=full)

    def acknowledge(self, chat, operator, ref, how):
        """
        A delivery receipt (XEP-0184) or a displayed marker (XEP-0333)
        for the operator's message C{ref}.
        """
        message = domish.Element((NS_CLIENT, "message"))
        if how == RECEIVED:
            message.addElement((NS_RECEIPTS, "received"))["id"] = ref
        else:
            message.addElement((NS_MARKERS, "displayed"))["id"] = ref
        self._send(chat, operator, message)

    def echo(self, chat, operator, resource, text):
        """
        What C{operator} answered from C{resource}, for their other
        resources, so that each of their clients shows who answered.
        """
        # The answer itself is archived and copied already: this is a notice.
        self._message(
            chat, operator, f"[{chat.operator_name}, from {resource}] {text}", skip=resource,
            transient=True,
        )


class GuestService(XMPPHandler):
    """
    Stanzas from operators to guest JIDs.
    """

    def __init__(self, chats, channel, text_commands=None, uploads=None):
        """
        @param text_commands: the L{TextCommands} that take C{!transfer}
            and the like out of what operators write, or C{None}.
        @param uploads: the L{mcc.routing.uploads.Uploads}, through which
            the address of an operator's own upload reaches the visitor as
            a file; or C{None}.
        """
        XMPPHandler.__init__(self)
        self.chats = chats
        self.channel = channel
        self.text_commands = text_commands
        self.uploads = uploads

    def connectionInitialized(self):
        self.xmlstream.addObserver("/message", self.on_message)
        self.xmlstream.addObserver("/presence[@type='probe']", self.on_probe)

    def on_message(self, message):
        if message.getAttribute("type") == "error":
            return
        if self.text_commands is not None and self.text_commands.handle(message, self.send):
            return
        guest = jids.parse(message["to"]).user
        sender = jids.parse(message["from"])
        operator = localpart(sender.userhost())
        text = message.body and str(message.body).strip()
        try:
            if text in END_COMMANDS:
                self.chats.operator_ends(guest, operator)
            elif self._shares(message, guest, operator, sender.resource):
                pass
            elif text:
                self._says(message, guest, operator, sender.resource)
            else:
                for state in CHAT_STATES:
                    if next(message.elements(NS_CHATSTATES, state), None) is not None:
                        self.chats.operator_typing(guest, operator, state)
        except ChatError as problem:
            self.send(error.StanzaError("item-not-found", text=str(problem)).toResponse(message))

    def _shares(self, message, guest, operator, resource):
        """
        Whether the message was the address of one of the operator's
        uploads, now sent to the visitor as a file.
        """
        url = self.uploads and shared_url(message)
        if not url or self.uploads.share(guest, operator, url) is None:
            return False
        self.channel.echo(self.chats.by_guest(guest), operator, resource, url)
        return True

    def _says(self, message, guest, operator, resource):
        """
        Pass on the operator's words with what their client asks to hear
        back about them; their other resources see what they answered.
        """
        wants = [
            how
            for how, wanted in (
                (RECEIVED, (NS_RECEIPTS, "request")), (DISPLAYED, (NS_MARKERS, "markable")),
            )
            if next(message.elements(*wanted), None) is not None
        ]
        text = str(message.body)
        seq = self.chats.operator_says(guest, operator, text, message.getAttribute("id"), wants)
        if seq is not None:
            self.channel.echo(self.chats.by_guest(guest), operator, resource, text)

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
