# -*- test-case-name: tests.test_xmpp_commands -*-
"""
What the ad-hoc commands do: L{ChatCommands} on each chat's guest JID
(transfer, tags, e-mail transcript, visitor details, end) and
L{OwnCommands} on the server's JID (status, my chats, canned messages).
Both only translate between data forms and the routing layer's
L{IChatOperations}, which decides who may do what.
"""

from datetime import datetime, UTC

from twisted.words.xish import domish
from wokkel import data_form
from zope.interface import implementer

from mcc.routing.chats import ChatError, ChatOver, ChatState, UnknownTarget
from mcc.routing.operations import parse_tags
from mcc.xmpp.commands import Ask, Done, ICommandSet, UnknownCommand, value, values
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import NS_CLIENT

OPEN_COMMANDS = (
    ("transfer", "Transfer this chat"),
    ("tags", "Tags"),
    ("email", "E-mail the transcript"),
    ("details", "Visitor details"),
    ("end", "End this chat"),
)
CLOSED_COMMANDS = tuple(c for c in OPEN_COMMANDS if c[0] in ("tags", "email", "details"))
OWN_COMMANDS = (
    ("status", "My status"),
    ("chats", "My chats"),
    ("canned", "Canned messages"),
)
STATUSES = {"available": "Available: chats ring for me", "away": "Away: no new chats"}


def when(at):
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def visitor(chat):
    return chat.visitor_name or "the visitor"


def detail_rows(details):
    """
    C{(var, label, text)} of what is known about a chat's visitor, for the
    details form and C{!info} alike; empty facts are left out.
    """
    earlier = [
        f"{when(c.started_at)} {c.queue or ''} ({c.state}, {c.operator_name or 'unanswered'})"
        for c in details.earlier
    ]
    rows = [
        ("name", "Name", details.name),
        ("email", "E-mail", details.email),
        ("question", "Question", details.question),
        ("for", "Asked", details.queue or details.target_user or ""),
        ("state", "State", details.state),
        ("operator", "Operator", details.operator_name or ""),
        ("started", "Started", when(details.started_at)),
        ("waited", "Waited", f"{round(details.waited)} s"),
        ("page", "Page", details.page),
        ("referrer", "Came from", details.referrer),
        ("ip", "IP address", details.ip),
        ("user_agent", "Browser", details.user_agent),
        ("tags", "Tags", ", ".join(details.tags)),
        ("earlier", "Earlier chats", "\n".join(earlier)),
    ]
    return [(var, label, text) for var, label, text in rows if text]


def target_value(target):
    return f"{target.kind}:{target.name}"


def target_label(target):
    if target.kind == "queue":
        return f"{target.label} (queue, {target.available} available)"
    return f"{target.label} (operator)"


def parse_target(text):
    """
    C{queue=} or C{user=} of a transfer form's C{kind:name} value.
    """
    kind, _, name = text.partition(":")
    if kind not in ("queue", "user") or not name:
        raise UnknownTarget("choose where to transfer the chat")
    return {kind: name}


def _result(title, rows):
    form = data_form.Form("result", title=title)
    for var, label, text in rows:
        kind = "text-multi" if "\n" in text else "text-single"
        form.addField(data_form.Field(kind, var=var, label=label, values=text.split("\n")))
    return form


@implementer(ICommandSet)
class ChatCommands:
    """
    The commands of a chat's guest JID, run by its operator.

    @param operations: the routing layer's L{IChatOperations}.
    @param chats: the L{ChatService}, to find the chat of a guest JID.
    @param transcripts: the L{ITranscriptMailer}.
    """

    def __init__(self, operations, chats, transcripts):
        self.operations = operations
        self.chats = chats
        self.transcripts = transcripts

    def listed(self, requester, target):
        try:
            chat = self.chats.by_guest(target.user)
        except ChatError:
            return []
        return list(OPEN_COMMANDS if chat.state in ChatState.OPEN else CLOSED_COMMANDS)

    def _context(self, node, requester, target):
        """
        The chat, its operator's username and the visitor's details,
        checking that the command exists and that the chat is theirs.
        """
        if node not in dict(OPEN_COMMANDS):
            raise UnknownCommand(f"no command {node!r}")
        chat = self.chats.by_guest(target.user)
        operator = localpart(requester.userhost())
        details = self.operations.details(chat.id, operator)
        return chat, operator, details

    def start(self, node, requester, target):
        chat, operator, details = self._context(node, requester, target)
        return getattr(self, f"_start_{node}")(chat, operator, details)

    def submit(self, node, requester, target, form):
        chat, operator, details = self._context(node, requester, target)
        return getattr(self, f"_submit_{node}")(chat, operator, details, form)

    # Transfer

    def _start_transfer(self, chat, operator, details):
        targets = self.operations.transfer_targets(chat.id, operator)
        if not targets:
            return Done("Nobody else is available to take this chat now.")
        form = data_form.Form(
            "form",
            title=f"Transfer the chat with {visitor(chat)}",
            instructions=["It stays yours until someone there answers."],
        )
        form.addField(data_form.Field(
            "list-single", var="target", label="Transfer to", required=True,
            options=[data_form.Option(target_value(t), target_label(t)) for t in targets],
        ))
        form.addField(data_form.Field("text-multi", var="note", label="Note for them"))
        return Ask(form)

    def _submit_transfer(self, chat, operator, details, form):
        where = parse_target(value(form, "target"))
        note = "\n".join(values(form, "note"))
        self.operations.transfer(chat.id, operator, note=note, **where)
        name = next(iter(where.values()))
        return Done(f"Transferring to {name}: the chat stays yours until someone there answers.")

    # Tags

    def _start_tags(self, chat, operator, details):
        form = data_form.Form("form", title=f"Tags of the chat with {visitor(chat)}")
        form.addField(data_form.Field(
            "list-multi", var="tags", label="Keep these tags",
            options=[data_form.Option(tag, tag) for tag in details.tags],
            values=list(details.tags),
        ))
        form.addField(data_form.Field(
            "text-single", var="add", label="Add tags (separated by commas)"
        ))
        return Ask(form)

    def _submit_tags(self, chat, operator, details, form):
        added = parse_tags(value(form, "add"))
        if added:
            self.operations.add_tags(chat.id, operator, added)
        if "tags" in form.fields:
            kept = {tag.casefold() for tag in values(form, "tags")}
            for tag in details.tags:
                if tag.casefold() not in kept:
                    self.operations.remove_tag(chat.id, operator, tag)
        tags = self.operations.tags(chat.id)
        return Done(f"Tags: {', '.join(tags)}" if tags else "This chat has no tags.")

    # E-mail

    def _start_email(self, chat, operator, details):
        form = data_form.Form("form", title="E-mail the transcript")
        form.addField(data_form.Field(
            "text-single", var="address", label="To", required=True, value=chat.visitor_email or None
        ))
        return Ask(form)

    def _submit_email(self, chat, operator, details, form):
        mail = self.transcripts.email_transcript(
            chat.id, to=value(form, "address") or None, operator=operator
        )
        return Done(f"The transcript is on its way to {mail.recipient}.")

    # Details

    def _start_details(self, chat, operator, details):
        return Done(form=_result(f"Visitor details of chat {chat.id}", detail_rows(details)))

    # End

    def _start_end(self, chat, operator, details):
        if chat.state not in ChatState.OPEN:
            raise ChatOver("this chat has ended")
        form = data_form.Form(
            "form", title=f"End the chat with {visitor(chat)}?",
            instructions=["The visitor is told that the chat has ended."],
        )
        return Ask(form)

    def _submit_end(self, chat, operator, details, form):
        self.operations.end(chat.id, operator)
        return Done(f"The chat with {visitor(chat)} has ended.")


@implementer(ICommandSet)
class OwnCommands:
    """
    An operator's commands on the server's JID, about themselves.

    @param sessions: the L{SessionRegistry}, whose sessions' presence the
        status command changes.
    """

    def __init__(self, operations, availability, sessions, domain):
        self.operations = operations
        self.availability = availability
        self.sessions = sessions
        self.domain = domain

    def listed(self, requester, target):
        return list(OWN_COMMANDS)

    def start(self, node, requester, target):
        if node not in dict(OWN_COMMANDS):
            raise UnknownCommand(f"no command {node!r}")
        return getattr(self, f"_start_{node}")(localpart(requester.userhost()))

    def submit(self, node, requester, target, form):
        if node != "status":
            raise UnknownCommand(f"no command {node!r} with a form")
        return self._submit_status(requester.userhost(), form)

    # Status

    def _start_status(self, operator):
        current = self.availability.status(operator)
        form = data_form.Form(
            "form", title="My status",
            instructions=[f"You are {current} now."],
        )
        form.addField(data_form.Field(
            "list-single", var="status", label="Status", required=True,
            value="away" if current == "away" else "available",
            options=[data_form.Option(name, label) for name, label in STATUSES.items()],
        ))
        form.addField(data_form.Field("text-single", var="message", label="Status message"))
        return Ask(form)

    def _submit_status(self, bare, form):
        """
        Each available client of the operator announces the new status as if
        it had sent that presence itself, so that their contacts and the
        chat router learn it the usual way.
        """
        status = value(form, "status")
        if status not in STATUSES:
            raise UnknownTarget("a status is available or away")
        sessions = self.sessions.available(bare)
        if not sessions:
            raise UnknownTarget("send presence first: none of your clients is online")
        for session in sessions:
            presence = domish.Element((NS_CLIENT, "presence"))
            if status == "away":
                presence.addElement("show", content="away")
            if value(form, "message"):
                presence.addElement("status", content=value(form, "message"))
            presence.addElement("priority", content=str(session.priority))
            session.stanza_received(presence)
        if status == "away":
            return Done("You are away: new chats no longer ring for you.")
        return Done("You are available: new chats ring for you.")

    # My chats

    def _start_chats(self, operator):
        found = self.operations.open_chats_of(operator)
        rows = [
            {
                "jid": f"{chat.guest}@{self.domain}",
                "visitor": chat.visitor_name or "Visitor",
                "for": chat.queue or chat.target_user or "",
                "state": how,
                "started": when(chat.created_at),
            }
            for chat, how in found
        ]
        columns = (
            ("jid", "Chat"), ("visitor", "Visitor"), ("for", "For"),
            ("state", "State"), ("started", "Started"),
        )
        note = f"{len(rows)} open chat{'s' if len(rows) != 1 else ''}." if rows else "You have no open chats."
        return Done(note, data_form.Form("result", title="My chats"), (columns, rows))

    # Canned messages

    def _start_canned(self, operator):
        rows = [
            {"name": canned.name, "for": queue or "mine", "text": canned.text}
            for queue, canned in self.operations.canned_of(operator)
        ]
        columns = (("name", "Name"), ("for", "For"), ("text", "Text"))
        note = (
            "Send one in a chat with !canned NAME." if rows else "You have no canned messages."
        )
        return Done(note, data_form.Form("result", title="Canned messages"), (columns, rows))
