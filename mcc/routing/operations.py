# -*- test-case-name: tests.test_routing_operations -*-
"""
What operators (and admins) do to a chat, whatever they use: the web client,
an XMPP client's commands, the admin site's Activity tab.  Adapters map their
own handles (guest JIDs, web chat panes) to chat ids and call L{ChatOperations}
with the acting user's username.

Every refusal is an L{OperationRefused} (or another L{ChatError}) raised
before anything changes.  An operator acts only on chats of their own queues
or addressed to them; admins, with C{by_admin=True}, on any.
"""

import re
from dataclasses import dataclass

from zope.interface import implementer

from mcc.routing.chats import ADMIN, OPERATOR, ChatOver, UnknownChat, UnknownTarget, check_sendable
from mcc.routing.errors import (
    InvalidCanned,
    InvalidNote,
    NotPermitted,
    NotYourChat,
    SelfTransfer,
    TargetUnavailable,
    TransferPending,
    InvalidTag,
)
from mcc.routing.interfaces import IChatOperations
from mcc.store import ChatState, UnknownCanned, UnknownQueue

MAX_TAG_LENGTH = 40
TAG_CHARACTERS = re.compile(r"[^\W_]|[ \-_./]")
MAX_NOTE_LENGTH = 500
CANNED_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_CANNED_LENGTH = 2000
EARLIER_IP_WINDOW = 30 * 24 * 3600
"""
How far back a visitor without an e-mail address is recognised by IP.
"""


@dataclass(frozen=True)
class TransferTarget:
    kind: str
    """
    C{"queue"} or C{"user"}.
    """
    name: str
    label: str
    available: int
    """
    How many operators would ring.
    """


@dataclass(frozen=True)
class EarlierChat:
    id: int
    started_at: float
    state: str
    queue: str | None
    operator_name: str | None


@dataclass(frozen=True)
class VisitorDetails:
    chat_id: int
    name: str
    email: str
    question: str
    ip: str
    referrer: str
    page: str
    user_agent: str
    queue: str | None
    target_user: str | None
    protocol: str
    state: str
    operator: str | None
    operator_name: str | None
    started_at: float
    answered_at: float | None
    closed_at: float | None
    waited: float
    """
    Seconds from the start until an operator answered, or until now (or the
    end) when nobody did.
    """
    tags: tuple
    earlier: tuple
    transfer_pending: bool


def tag_name(text):
    """
    C{text} as a tag name (trimmed, inner spaces folded into one) and its
    folded form for matching; L{InvalidTag} when it is empty, too long or
    holds a character other than letters, digits, space and C{- _ . /}.
    """
    if not isinstance(text, str):
        raise InvalidTag("a tag is text")
    name = " ".join(text.split())
    if not name:
        raise InvalidTag("a tag needs a name")
    if len(name) > MAX_TAG_LENGTH:
        raise InvalidTag(f"a tag has at most {MAX_TAG_LENGTH} characters")
    bad = [c for c in name if not TAG_CHARACTERS.fullmatch(c)]
    if bad:
        raise InvalidTag(
            f"{bad[0]!r} cannot be in a tag: use letters, digits, spaces and - _ . /"
        )
    return name, name.casefold()


def parse_tags(text):
    """
    The tags of C{"renewals, fines"}: comma-separated, blanks skipped.
    """
    return [piece for piece in text.split(",") if piece.strip()]


def canned_name(text):
    name = text.strip().casefold() if isinstance(text, str) else ""
    if not CANNED_NAME.fullmatch(name):
        raise InvalidCanned(
            "a canned message's name is 1 to 32 letters a-z, digits, - or _, starting with a letter or digit"
        )
    return name


def canned_text(text):
    if not isinstance(text, str) or not text.strip():
        raise InvalidCanned("a canned message needs a text")
    check_sendable(text=text)
    text = text.strip()
    if len(text) > MAX_CANNED_LENGTH:
        raise InvalidCanned(f"a canned message has at most {MAX_CANNED_LENGTH} characters")
    return text


@implementer(IChatOperations)
class ChatOperations:
    """
    @param chats: the running L{ChatService}.
    """

    def __init__(self, store, chats, clock):
        self.store = store
        self.chats = chats
        self.clock = clock

    # Who may do what

    def chat(self, chat_id):
        chat = self.store.chats.by_id(chat_id)
        if chat is None:
            raise UnknownChat(f"no chat {chat_id!r}")
        return chat

    def _admin(self, username):
        user = self.store.users.find(username)
        if user is None or user.disabled or not user.is_admin:
            raise NotPermitted("only an administrator may do that")
        return user

    def _concerns(self, chat, operator):
        """
        Whether C{chat} is for C{operator}: of their queue, addressed to
        them, theirs, or ringing for them as a transfer.
        """
        return (
            chat.operator == operator
            or operator in self.chats._chat_candidates(chat)
            or operator in self.chats.transfer_offered(chat.id)
        )

    def _held(self, chat_id, operator, by_admin):
        """
        The open chat C{operator} has (any open one, for an admin).
        """
        chat = self.chat(chat_id)
        if by_admin:
            self._admin(operator)
        elif chat.operator != operator or not self._concerns(chat, operator):
            raise NotYourChat("this chat is not yours")
        if chat.state not in ChatState.OPEN:
            raise ChatOver("this chat has ended")
        if not by_admin and chat.state != ChatState.ACTIVE:
            raise NotYourChat("this chat is not yours")
        return chat

    def _taggable(self, chat_id, operator, by_admin):
        """
        A chat its operator may tag, during it and after.
        """
        chat = self.chat(chat_id)
        if by_admin:
            self._admin(operator)
        elif chat.operator != operator:
            raise NotYourChat("only the operator who has this chat may tag it")
        return chat

    # Transfer

    def _queue_label(self, name):
        try:
            return self.store.queues.named(name).name
        except UnknownQueue:
            return name

    def _user_label(self, username):
        return self.chats._display_name(username)

    def transfer_targets(self, chat_id, operator, by_admin=False):
        """
        The queues and users a transfer of the chat can go to now: those
        with someone available other than the chat's own operator.
        """
        chat = self._held(chat_id, operator, by_admin)
        keeper = chat.operator
        targets = []
        for queue in self.store.queues.all():
            available = [n for n in self.chats.available_operators(queue=queue.name) if n != keeper]
            if available and (chat.state == ChatState.ACTIVE or queue.name != chat.queue):
                targets.append(TransferTarget("queue", queue.name, queue.name, len(available)))
        for user in self.store.users.all():
            if user.username == keeper or user.disabled:
                continue
            if user.username == chat.target_user and chat.state == ChatState.WAITING:
                continue
            if self.chats.availability.is_available(user.username):
                targets.append(TransferTarget("user", user.username, self._user_label(user.username), 1))
        return targets

    def transfer(self, chat_id, operator, queue=None, user=None, note="", by_admin=False):
        """
        Transfer the chat to C{queue} or C{user}: their available operators
        ring with the transcript and C{note}, the visitor is told, and the
        chat stays with its operator until one of them answers (or goes back
        to them, with a notice, after the answer time).  An admin may also
        send a waiting chat to another queue or user.
        """
        chat = self._held(chat_id, operator, by_admin)
        if self.chats.transfer_pending(chat.id):
            raise TransferPending("a transfer of this chat is already under way")
        if (queue is None) == (user is None):
            raise UnknownTarget("transfer to one queue or one user")
        if not isinstance(note, str):
            raise InvalidNote("the note is text")
        check_sendable(note=note, queue=queue, user=user)
        note = note.strip()
        if len(note) > MAX_NOTE_LENGTH:
            raise InvalidNote(f"a note has at most {MAX_NOTE_LENGTH} characters")
        if queue is not None:
            try:
                queue = self.store.queues.named(queue).name
            except UnknownQueue:
                raise UnknownTarget(f"no queue named {queue!r}") from None
            label = queue
        else:
            found = self.store.users.find(user)
            if found is None or found.disabled:
                raise UnknownTarget(f"no user named {user!r}")
            user = found.username
            label = self._user_label(user)
        if user is not None and user == chat.operator:
            raise SelfTransfer("this chat is yours already")
        if chat.state == ChatState.WAITING and (queue, user) == (chat.queue, chat.target_user):
            raise SelfTransfer(f"this chat is waiting for {label} already")
        available = self.chats.available_operators(queue, user)
        if not [name for name in available if name != chat.operator]:
            if available:
                raise SelfTransfer(f"nobody but you is available at {label}")
            raise TargetUnavailable(f"nobody is available at {label} now")
        by_name = "An administrator" if by_admin else self._user_label(operator)
        self.chats.transfer(chat, operator, by_name, label, note, queue=queue, user=user)

    # End

    def end(self, chat_id, operator, by_admin=False):
        """
        End the chat: its operator their own; an admin any open one.
        """
        chat = self._held(chat_id, operator, by_admin)
        if by_admin:
            self.chats.end(chat, ADMIN, "An administrator ended this chat.")
        else:
            self.chats.end(chat, OPERATOR)

    # Tags

    def tags(self, chat_id):
        return self.store.tags.of_chat(self.chat(chat_id).id)

    def add_tags(self, chat_id, operator, names, by_admin=False):
        """
        Put the tags C{names} on the chat (all, or none when one is not a
        valid tag); returns the chat's tags.
        """
        chat = self._taggable(chat_id, operator, by_admin)
        if isinstance(names, str):
            names = [names]
        checked = [tag_name(name) for name in names]
        now = self.clock.seconds()
        for name, folded in checked:
            self.store.tags.add_to_chat(chat.id, name, folded, operator, now)
        return self.store.tags.of_chat(chat.id)

    def remove_tag(self, chat_id, operator, name, by_admin=False):
        chat = self._taggable(chat_id, operator, by_admin)
        _, folded = tag_name(name)
        if not self.store.tags.remove_from_chat(chat.id, folded):
            raise InvalidTag(f"this chat has no tag {name!r}")
        return self.store.tags.of_chat(chat.id)

    def suggest_tags(self, prefix, limit=10):
        """
        Tag names in use starting with C{prefix} (in any letter case), the
        most used first.
        """
        folded = " ".join(prefix.split()).casefold() if isinstance(prefix, str) else ""
        return [tag.name for tag in self.store.tags.starting(folded, limit)]

    def all_tags(self):
        return self.store.tags.all()

    def rename_tag(self, name, new_name):
        _, folded = tag_name(name)
        shown, new_folded = tag_name(new_name)
        return self.store.tags.rename(folded, shown, new_folded)

    def merge_tags(self, name, into):
        _, folded = tag_name(name)
        _, into_folded = tag_name(into)
        if folded == into_folded:
            raise InvalidTag("a tag cannot be merged into itself")
        return self.store.tags.merge(folded, into_folded)

    def delete_tag(self, name):
        _, folded = tag_name(name)
        self.store.tags.remove(folded)

    # Canned messages

    def _queue_id(self, queue):
        try:
            return self.store.queues.named(queue).id
        except UnknownQueue:
            raise UnknownTarget(f"no queue named {queue!r}") from None

    def add_canned(self, name, text, queue=None, owner=None):
        """
        A canned message shared by C{queue}'s operators, or C{owner}'s own.
        """
        if (queue is None) == (owner is None):
            raise InvalidCanned("a canned message belongs to one queue or one operator")
        name, text = canned_name(name), canned_text(text)
        now = self.clock.seconds()
        if queue is not None:
            return self.store.canned.add(name, text, now, queue_id=self._queue_id(queue))
        if self.store.users.find(owner) is None:
            raise UnknownTarget(f"no user named {owner!r}")
        return self.store.canned.add(name, text, now, owner=self.store.users.find(owner).username)

    def update_canned(self, canned_id, name, text, owner=None):
        """
        Change a canned message; with C{owner}, only one of theirs.
        """
        found = self.store.canned.get(canned_id)
        if owner is not None and found.owner != owner:
            raise UnknownCanned(canned_id)
        return self.store.canned.update(canned_id, canned_name(name), canned_text(text))

    def remove_canned(self, canned_id, owner=None):
        found = self.store.canned.get(canned_id)
        if owner is not None and found.owner != owner:
            raise UnknownCanned(canned_id)
        self.store.canned.remove(canned_id)

    def queue_canned(self, queue):
        return self.store.canned.of_queue(self._queue_id(queue))

    def own_canned(self, owner):
        return self.store.canned.of_owner(owner)

    def canned_for(self, chat_id, operator):
        """
        The canned messages C{operator} can use in the chat, by name: their
        own, and the chat queue's where they have none of that name.
        """
        chat = self.chat(chat_id)
        if not self._concerns(chat, operator):
            raise NotYourChat("this chat is not for you")
        found = {}
        if chat.queue is not None:
            try:
                queue_id = self.store.queues.named(chat.queue).id
            except UnknownQueue:
                queue_id = None
            if queue_id is not None:
                found.update((c.name, c) for c in self.store.canned.of_queue(queue_id))
        found.update((c.name, c) for c in self.store.canned.of_owner(operator))
        return dict(sorted(found.items()))

    def find_canned(self, chat_id, operator, name):
        canned = self.canned_for(chat_id, operator).get(canned_name(name))
        if canned is None:
            raise UnknownCanned(name)
        return canned

    def send_canned(self, chat_id, operator, name):
        """
        Send the canned message C{name} as C{operator}'s message; returns its
        text, for the adapter to show the operator what went.
        """
        chat = self._held(chat_id, operator, False)
        canned = self.find_canned(chat.id, operator, name)
        self.chats.operator_says(chat.guest, operator, canned.text)
        return canned.text

    def canned_of(self, operator):
        """
        Every canned message C{operator} has: their own, then those of each
        queue they answer, as C{(queue name or None, canned)} pairs.
        """
        found = [(None, canned) for canned in self.store.canned.of_owner(operator)]
        for queue in self.store.queues.all():
            if operator in queue.operators:
                found.extend((queue.name, canned) for canned in self.store.canned.of_queue(queue.id))
        return found

    # What an operator has

    def open_chats_of(self, operator):
        """
        The open chats C{operator} holds or that ring for them (waiting in
        one of their queues, or offered to them as a transfer), oldest
        first, as C{(chat, "held" or "ringing")} pairs.
        """
        found = []
        for chat in self.store.chats.unfinished():
            if chat.state == ChatState.ACTIVE and chat.operator == operator:
                found.append((chat, "held"))
            elif operator in self.chats.transfer_offered(chat.id) or (
                chat.state == ChatState.WAITING and operator in self.chats._chat_candidates(chat)
            ):
                found.append((chat, "ringing"))
        return found

    # Details

    def details(self, chat_id, operator, by_admin=False):
        """
        What is known of the chat's visitor, for its operator (or those it
        rings, or an admin).  Earlier chats are the same visitor's: those
        with the same e-mail address, or, when the visitor gave none, those
        from the same IP address within the last 30 days (an address many
        people share shows their chats too).
        """
        chat = self.chat(chat_id)
        if by_admin:
            self._admin(operator)
        elif not self._concerns(chat, operator):
            raise NotYourChat("this chat is not for you")
        now = self.clock.seconds()
        if chat.picked_up_at is not None:
            waited = chat.picked_up_at - chat.created_at
        else:
            waited = (chat.closed_at if chat.closed_at is not None else now) - chat.created_at
        earlier = tuple(
            EarlierChat(c.id, c.created_at, c.state, c.queue or c.target_user, c.operator_name)
            for c in self.store.chats.earlier(chat, chat.created_at - EARLIER_IP_WINDOW)
        )
        return VisitorDetails(
            chat_id=chat.id,
            name=chat.visitor_name,
            email=chat.visitor_email,
            question=chat.question,
            ip=chat.ip,
            referrer=chat.referrer,
            page=chat.page,
            user_agent=chat.user_agent,
            queue=chat.queue,
            target_user=chat.target_user,
            protocol=chat.protocol,
            state=chat.state,
            operator=chat.operator,
            operator_name=chat.operator_name,
            started_at=chat.created_at,
            answered_at=chat.picked_up_at,
            closed_at=chat.closed_at,
            waited=waited,
            tags=tuple(self.store.tags.of_chat(chat.id)),
            earlier=earlier,
            transfer_pending=self.chats.transfer_pending(chat.id),
        )
