# -*- test-case-name: tests.test_xmpp_commands -*-
"""
Commands typed into a chat, for XMPP clients without ad-hoc commands:
C{!transfer reference please check}, C{!tag renewals, fines} and the rest
of L{HELP}.  Both C{!} (which no client takes for its own) and C{/} (what
arrives from clients that pass it on) start one.  A command never reaches
the visitor: it runs, or its operator gets help; the answers come back as
notices from the chat's guest JID.
"""

import re

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish

from mcc.routing.chats import ChatError, UnknownChat, UnknownTarget, sendable
from mcc.routing.errors import UnknownCanned
from mcc.routing.operations import parse_tags
from mcc.xmpp import jids
from mcc.xmpp.chatcommands import detail_rows, target_label
from mcc.xmpp.guests import GUEST_RESOURCE
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_CLIENT

COMMAND = re.compile(r"[!/]([A-Za-z]+)(?:\s+(.*))?", re.DOTALL)
PASSED_ON = ("me",)
"""
Slash words that are not ours: C{/me waves} is for the visitor (XEP-0245).
"""
HELP = """Commands (start them with ! or /):
!transfer NAME [note] - transfer to a queue or operator (!transfer alone lists them)
!tag TAG, TAG - tag this chat (!tag alone shows its tags)
!untag TAG - remove a tag
!email [ADDRESS] - e-mail the transcript (to the visitor's address by default)
!info - the visitor's details
!canned [NAME] - send a canned message (!canned alone lists them)
!end - end this chat
!help - this list
Nothing starting with ! or / reaches the visitor, except /me."""
NOTICE = "[mcc] "


def match_target(targets, text):
    """
    The transfer target named by the first words of C{text} (the most
    words that name one, in any letter case) and the rest of it, the note;
    L{UnknownTarget} when none does or two do.
    """
    words = text.split()
    for count in range(len(words), 0, -1):
        name = " ".join(words[:count]).casefold()
        found = [t for t in targets if name in (t.name.casefold(), t.label.casefold())]
        if len(found) > 1:
            raise UnknownTarget(
                f"{' '.join(words[:count])} is {' and '.join(target_label(t) for t in found)}:"
                " use the Transfer command of your client to choose"
            )
        if found:
            rest = text.split(None, count)
            return found[0], rest[count] if len(rest) > count else ""
    raise UnknownTarget(f"nobody available is called {words[0] if words else 'that'}")


class TextCommands:
    """
    @param operations: the routing layer's L{IChatOperations}.
    @param chats: the L{ChatService}.
    @param transcripts: the L{ITranscriptMailer}.
    """

    def __init__(self, operations, chats, transcripts):
        self.operations = operations
        self.chats = chats
        self.transcripts = transcripts

    def handle(self, message, send):
        """
        Run the command C{message} holds, answering through C{send};
        whether it held one (and must not be delivered).
        """
        text = message.body and str(message.body).strip()
        matched = text and COMMAND.fullmatch(text)
        if not matched or matched.group(1).lower() in PASSED_ON:
            return False
        name, rest = matched.group(1).lower(), (matched.group(2) or "").strip()
        guest = jids.parse(message["to"]).user
        operator = localpart(jids.parse(message["from"]).userhost())
        run = getattr(self, f"_do_{name}", None)
        try:
            if run is None:
                answer = f"There is no command !{name}; nothing was sent to the visitor.\n{HELP}"
            else:
                answer = run(self.chats.by_guest(guest), operator, rest)
        except UnknownChat as problem:
            send(error.StanzaError("item-not-found", text=str(problem)).toResponse(message))
            return True
        except (ChatError, UnknownCanned) as problem:
            answer = f"!{name}: {problem}"
        if answer:
            send(self._notice(message, answer))
        return True

    def _notice(self, message, text):
        notice = domish.Element((NS_CLIENT, "message"))
        notice["type"] = "chat"
        notice["from"] = f"{jids.parse(message['to']).userhost()}/{GUEST_RESOURCE}"
        notice["to"] = message["from"]
        notice.addElement("body", content=sendable(NOTICE + text))
        return notice

    def _do_help(self, chat, operator, rest):
        return HELP

    def _do_transfer(self, chat, operator, rest):
        targets = self.operations.transfer_targets(chat.id, operator)
        if not rest:
            if not targets:
                return "Nobody else is available to take this chat now."
            names = ", ".join(target_label(t) for t in targets)
            return f"Transfer to: {names}. Send !transfer NAME and a note."
        target, note = match_target(targets, rest)
        self.operations.transfer(chat.id, operator, note=note, **{target.kind: target.name})
        return None  # The router tells the operator, whatever they use.

    def _tags(self, chat):
        tags = self.operations.tags(chat.id)
        return f"Tags: {', '.join(tags)}" if tags else "This chat has no tags."

    def _do_tag(self, chat, operator, rest):
        if not rest:
            self.operations.details(chat.id, operator)
            return self._tags(chat)
        self.operations.add_tags(chat.id, operator, parse_tags(rest))
        return self._tags(chat)

    def _do_untag(self, chat, operator, rest):
        names = parse_tags(rest)
        if not names:
            raise UnknownTarget("say which tag to remove: !untag TAG")
        for name in names:
            self.operations.remove_tag(chat.id, operator, name)
        return self._tags(chat)

    def _do_email(self, chat, operator, rest):
        mail = self.transcripts.email_transcript(chat.id, to=rest or None, operator=operator)
        return f"The transcript is on its way to {mail.recipient}."

    def _do_info(self, chat, operator, rest):
        rows = detail_rows(self.operations.details(chat.id, operator))
        return "\n".join(f"{label}: {text}" for _, label, text in rows)

    def _do_canned(self, chat, operator, rest):
        if not rest:
            found = self.operations.canned_for(chat.id, operator)
            if not found:
                return "You have no canned messages for this chat."
            return "Canned messages: " + ", ".join(found) + ". Send one with !canned NAME."
        text = self.operations.send_canned(chat.id, operator, rest)
        return f"Sent: {text}"

    def _do_end(self, chat, operator, rest):
        # As a reply would, it takes a chat still ringing for this
        # operator; the router tells them when they cannot end it.
        self.chats.operator_ends(chat.guest, operator)
        return None
