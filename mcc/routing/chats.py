# -*- test-case-name: tests.test_routing_chats -*-
"""
The chat router: a visitor's chat goes to a queue (or one user), rings every
available operator, belongs to the first who answers, and flows both ways
until someone ends it.

Lifecycle: waiting (offered to every available operator) -> active (taken)
-> closed; or waiting -> missed when nobody answers in time.  An operator
who goes offline and does not come back soon hands the chat back to the
queue; one who comes back in time gets what the visitor said meanwhile.

The visitor side reads events by sequence number (L{ChatService.poll}); the
operator side is an L{IOperatorChannel}.  Nothing here knows XML or HTTP.
"""

import re
from dataclasses import dataclass, replace

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from mcc.routing.errors import GUEST_PREFIX, ChatError
from mcc.routing.waiter import Waiter
from mcc.store import ChatState

UNSENDABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""
Characters no chat may carry: control characters and lone surrogates,
which XML, and so every operator's XMPP stream, cannot hold.
"""

BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""
The marks, embeddings, overrides and isolates of Unicode's bidirectional
algorithm: in a name, they turn what follows it around.
"""

LINE_BREAKS = re.compile("(\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029])")
ISOLATE_OPENERS = "\u2066\u2067\u2068"
FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"

VISITOR = "visitor"
OPERATOR = "operator"
ADMIN = "admin"
TIMEOUT = "timeout"

log = Logger()

RECEIVED = "received"
DISPLAYED = "displayed"
ACKNOWLEDGEMENTS = (RECEIVED, DISPLAYED)
"""
What an operator's message may ask to hear back about, in order: the
visitor's widget got it, then showed it; showing it implies getting it.
"""
LOOKING = "looking"
"""
The chat state a visitor sees while an operator types before taking the chat.
"""


@dataclass(frozen=True)
class Visitor:
    name: str = ""
    email: str = ""
    question: str = ""
    ip: str = ""
    page: str = ""
    """
    The page the visitor chats from.
    """
    referrer: str = ""
    """
    The page that led the visitor there, when the browser tells.
    """
    user_agent: str = ""
    protocol: str = "web"


@dataclass(frozen=True)
class Timeouts:
    """
    Seconds: to answer a ringing chat; before a silent visitor counts as
    gone; the longest a poll waits for news; and how long an operator who
    went offline (a dropped connection, a client or server restart) has to
    come back before their chats return to the queue.
    """

    answer: float
    visitor: float
    poll: float
    reconnect: float


@dataclass(eq=False)
class _Live:
    """
    What routing keeps in memory of an open chat, written through to the
    store as it changes: its row, the sequence numbers of its newest event
    and of the newest one its visitor sees, and the acknowledgements its
    operators still wait for (C{None} until first needed).  A restart
    starts without any: each is read again when first needed.
    """

    row: object
    last_seq: int
    last_visible: int
    wanted: list = None


@dataclass(eq=False)
class _Wanted:
    """
    An operator's message (event C{seq}) that asked to hear back C{wants}
    under C{ref}; C{done} are those the visitor's widget already gave.
    """

    seq: int
    operator: str
    ref: str
    wants: tuple
    done: set


@dataclass(frozen=True)
class Posted:
    """
    A visitor's message as stored: its sequence number C{seq}, and
    C{follows}, that of the newest event the visitor sees before it, so
    that a widget that has shown the chat that far can show its own
    message at once, in its place.
    """

    seq: int
    follows: int


@dataclass(eq=False)
class _Absence:
    """
    The operator of an active chat is offline: C{seen} is the last event
    they had, C{timer} hands the chat back to the queue.
    """

    seen: int
    timer: object


@dataclass(eq=False)
class _Transfer:
    """
    A chat rung for C{queue} or C{user} (shown as C{label}) while C{holder}
    keeps it; C{offered} are the operators ringing, C{timer} gives it back
    to the holder.
    """

    holder: str
    by: str
    queue: str | None
    user: str | None
    label: str
    note: str
    offered: set
    timer: object = None


class UnsendableText(ChatError):
    reason = "invalid-characters"

    def __init__(self, message, field=None):
        ChatError.__init__(self, message)
        self.field = field


def sendable(text):
    """
    C{text} with every character no chat may carry replaced by U+FFFD, for
    text that comes from elsewhere than what a visitor typed (browsers'
    headers, names set in the admin site).
    """
    return UNSENDABLE.sub("\ufffd", text)


def check_sendable(**texts):
    """
    Refuse text that holds a character no chat may carry (L{UNSENDABLE});
    C{None} stands for a field not given.
    """
    for field, text in texts.items():
        if text is not None and UNSENDABLE.search(text):
            raise UnsendableText(f"{field!r} holds a character that cannot be sent", field)


def plain_name(text):
    """
    C{text} without the bidirectional controls (L{BIDI_CONTROLS}) that
    would let a name, an address or a page reverse the text around it
    wherever it is shown.
    """
    return BIDI_CONTROLS.sub("", text)


def isolated(text):
    """
    C{text} made harmless to the text around it: each line that holds a
    bidirectional control goes inside a first-strong isolate, with the
    isolates it opens closed and those it closes without opening dropped,
    so that nothing it holds reaches past it.  Lines without any are left
    as they are.
    """
    return "".join(
        piece if index % 2 else _isolated_line(piece)
        for index, piece in enumerate(LINE_BREAKS.split(text))
    )


def _isolated_line(line):
    if not BIDI_CONTROLS.search(line):
        return line
    kept = []
    depth = 0
    for character in line:
        if character in ISOLATE_OPENERS:
            depth += 1
        elif character == POP_DIRECTIONAL_ISOLATE:
            if not depth:
                continue
            depth -= 1
        kept.append(character)
    return FIRST_STRONG_ISOLATE + "".join(kept) + POP_DIRECTIONAL_ISOLATE * (depth + 1)


class Unavailable(ChatError):
    reason = "offline"


class InvalidCursor(ChatError):
    reason = "invalid-field"


class UnknownTarget(ChatError):
    reason = "unknown-target"


class UnknownChat(ChatError):
    reason = "unknown-chat"


class ChatOver(ChatError):
    reason = "chat-ended"


class ChatService(service.Service):
    """
    Running, it keeps the timers of unfinished chats: answers, silent
    visitors, waiting polls.

    @ivar channel: the L{IOperatorChannel} that reaches operators.
    @ivar on_event: callables C{(chat, kind, data, internal)} told of every
        event a chat gets (a transfer's steps, a file, an e-mail), for the
        adapters that show more of a chat than the channel's words.
    """

    def __init__(
        self, store, availability, queue_operators, clock, new_token, timeouts, channel=None
    ):
        """
        @param queue_operators: C{queue name -> usernames}, raising C{KeyError}
            for an unknown queue.
        @param new_token: returns a fresh unguessable URL-safe string.
        """
        self.store = store
        self.availability = availability
        self.queue_operators = queue_operators
        self.clock = clock
        self.new_token = new_token
        self.timeouts = timeouts
        self.channel = channel
        self.on_finished = []
        """
        Callables given each chat that ended, once its end is stored.
        """
        self.on_changed = []
        """
        Callables given a chat that started or got an event, for watchers.
        """
        self.visitor_channels = {}
        """
        C{protocol -> IVisitorChannel} for visitors who do not poll.
        """
        self._offered = {}
        self._answer_timers = {}
        self._visitor_timers = {}
        self._absences = {}
        self._transfers = {}
        self.on_event = []
        self._polls = Waiter(clock, timeouts.poll)
        self._acknowledged = {}
        self._looked_at = set()
        self._live = {}
        self._live_keys = {}
        availability.add_observer(self._availability_changed)

    # Who can take a chat

    def _candidates(self, queue=None, user=None):
        if user is not None:
            found = self.store.users.find(user)
            if found is None or found.disabled:
                raise UnknownTarget(f"no user named {user!r}")
            return [found.username]
        try:
            return list(self.queue_operators(queue))
        except KeyError:
            raise UnknownTarget(f"no queue named {queue!r}") from None

    def _available(self, names):
        return [name for name in names if self.availability.is_available(name)]

    def available_operators(self, queue=None, user=None):
        return self._available(self._candidates(queue, user))

    def is_available(self, queue=None, user=None):
        return bool(self.available_operators(queue, user))

    def widget_availability(self, queue=None, user=None):
        """
        What a widget may learn: whether C{queue}, or C{user}, takes chats
        now.  A user counts only when some snippet's service level names
        them; any other name (an admin, a user who takes no chats, nobody)
        is simply unavailable, so that nobody's presence or existence shows.
        """
        check_sendable(queue=queue, user=user)
        if user is None:
            return self.is_available(queue=queue)
        found = self.store.users.find(user)
        if found is None or found.disabled or not self.store.snippets.serving(username=found.username):
            return False
        return self.is_available(user=found.username)

    def _chat_candidates(self, chat):
        try:
            return self._candidates(chat.queue, chat.target_user)
        except UnknownTarget:
            return []

    def _available_for(self, chat):
        return self._available(self._chat_candidates(chat))

    # The visitor's side

    def start(self, visitor, queue=None, user=None):
        """
        Open a chat for C{queue} or C{user} and ring its available operators.
        """
        chat = self._create(visitor, queue, user, self.available_operators)
        self._visitor_seen(chat)
        self._offer(chat)
        self._changed(chat)
        return chat

    def start_missed(self, visitor, queue=None, user=None):
        """
        Keep what a visitor who found nobody available said as a missed
        chat, for a follow-up (a text needs no one there to arrive).
        """
        # Checks that the queue or user exists; nobody need be there.
        chat = self._create(visitor, queue, user, lambda *target: [self._candidates(*target)])
        self._finish(chat, ChatState.MISSED, TIMEOUT, None)
        return self._reload(chat.id)

    def _create(self, visitor, queue, user, operators):
        """
        A new waiting chat, once C{operators(queue, user)} named someone.
        """
        if (queue is None) == (user is None):
            raise UnknownTarget("a chat is for one queue or one user")
        check_sendable(
            queue=queue, user=user, name=visitor.name, email=visitor.email,
            question=visitor.question, ip=visitor.ip, page=visitor.page,
            referrer=visitor.referrer, user_agent=visitor.user_agent, protocol=visitor.protocol,
        )
        visitor = replace(
            visitor,
            name=plain_name(visitor.name),
            email=plain_name(visitor.email),
            ip=plain_name(visitor.ip),
            page=plain_name(visitor.page),
            referrer=plain_name(visitor.referrer),
            user_agent=plain_name(visitor.user_agent),
        )
        if not operators(queue, user):
            raise Unavailable("nobody is available")
        token = self.new_token()
        chat = self.store.chats.create(
            token=token,
            guest=GUEST_PREFIX + self.new_token()[:12].lower().replace("_", "-"),
            queue=queue,
            target_user=user,
            visitor_name=visitor.name,
            visitor_email=visitor.email,
            question=visitor.question,
            ip=visitor.ip,
            page=visitor.page,
            referrer=visitor.referrer,
            user_agent=visitor.user_agent,
            protocol=visitor.protocol,
            state=ChatState.WAITING,
            created_at=self.clock.seconds(),
        )
        self._remember(chat, new=True)
        if visitor.question:
            self._event(chat, "message", {"from": VISITOR, "name": visitor.name, "text": visitor.question})
        log.info(
            "Chat {chat_id} started for {target} over {protocol}",
            chat_id=chat.id, target=queue or user, queue=queue, user=user, protocol=chat.protocol,
        )
        return chat

    def chat(self, token):
        chat = self._cached("token", token, self.store.chats.by_token)
        if chat is None:
            raise UnknownChat("no such chat")
        return chat

    # Open chats in memory

    def _cached(self, key, value, read):
        """
        The open chat whose C{key} (C{"token"}, C{"guest"}, C{"id"}) is
        C{value} as kept in memory, else as C{read(value)} finds it in the
        store (then kept, if open); C{None} for none.
        """
        chat_id = self._live_keys.get((key, value))
        if chat_id is not None:
            return self._live[chat_id].row
        chat = read(value)
        if chat is not None:
            self._remember(chat)
        return chat

    def _remember(self, chat, new=False):
        """
        Keep C{chat}, a row just read or written, in memory while it is
        open; forget it once it has ended.  A C{new} chat has no events yet.
        """
        if chat.state not in ChatState.OPEN:
            self._forget(chat.id)
            return
        live = self._live.get(chat.id)
        if new:
            live = self._live[chat.id] = _Live(chat, 0, 0, [])
        elif live is None:
            last_seq = self.store.chats.last_seq(chat.id)
            live = self._live[chat.id] = _Live(
                chat, last_seq, self.store.chats.visible_before(chat.id, last_seq + 1)
            )
        live.row = chat
        for key in ("token", "guest", "id"):
            self._live_keys[key, getattr(chat, key)] = chat.id

    def _forget(self, chat_id):
        live = self._live.pop(chat_id, None)
        if live is not None:
            for key in ("token", "guest", "id"):
                self._live_keys.pop((key, getattr(live.row, key)), None)

    def _reload(self, chat_id):
        """
        The chat numbered C{chat_id} read again from the store, after a
        write that may have changed it.
        """
        chat = self.store.chats.by_id(chat_id)
        if chat is None:
            self._forget(chat_id)
        else:
            self._remember(chat)
        return chat

    def _last_seq(self, chat):
        live = self._live.get(chat.id)
        return self.store.chats.last_seq(chat.id) if live is None else live.last_seq

    def _open_chat(self, token):
        chat = self.chat(token)
        if chat.state not in ChatState.OPEN:
            raise ChatOver("this chat has ended")
        return chat

    def visitor_says(self, token, text, message_id=None):
        """
        Store the visitor's message and pass it on; returns its sequence number.

        C{message_id}, chosen by the visitor's side, makes a retry safe: a
        message of this chat already stored under it is neither stored nor
        passed on again, and its sequence number is the answer, even if the
        chat has ended since.
        """
        return self.visitor_posts(token, text, message_id).seq

    def visitor_posts(self, token, text, message_id=None):
        """
        L{visitor_says}, for a visitor who polls: the L{Posted} message.
        The visitor's own message does not wake its waiting poll, which
        waits for what the visitor does not know yet; the answer to the
        post tells where the message goes among the events.
        """
        check_sendable(text=text, id=message_id)
        chat = self.chat(token)
        if message_id is not None:
            known = self.store.chats.message_seq(chat.id, message_id)
            if known is not None:
                return Posted(known, self.store.chats.visible_before(chat.id, known))
        chat = self._open_chat(token)
        self._visitor_seen(chat)
        follows = self._live[chat.id].last_visible
        seq = self._event(
            chat, "message", {"from": VISITOR, "name": chat.visitor_name, "text": text},
            message_id=message_id, wake=False,
        )
        if chat.state == ChatState.ACTIVE:
            self.channel.deliver(chat, chat.operator, text)
            for operator in sorted(self.transfer_offered(chat.id)):
                self.channel.deliver(chat, operator, text)
        else:
            for operator in self._offered.get(chat.id, ()):
                self.channel.deliver(chat, operator, text)
        return Posted(seq, follows)

    def visitor_typing(self, token, state):
        chat = self._open_chat(token)
        self._visitor_seen(chat)
        if chat.state == ChatState.ACTIVE:
            self.channel.typing(chat, chat.operator, state)

    def visitor_ends(self, token):
        chat = self._open_chat(token)
        self._finish(chat, ChatState.CLOSED, VISITOR, "The visitor ended the chat.")

    def poll(self, token, after):
        """
        Events after sequence number C{after}: at once when there are some,
        else when the next one happens or after the poll timeout (then none).
        """
        chat = self.chat(token)
        if not 0 <= after <= self._last_seq(chat):
            raise InvalidCursor("'after' is the number of an event of this chat, or 0")
        live = self._live.get(chat.id)
        if live is not None and after >= live.last_visible:
            events = []
        else:
            events = self.store.chats.events_after(chat.id, after)
        if after:
            # The widget asks for what follows C{after}: it has got that far.
            self._acknowledge(chat, after, RECEIVED)
        if chat.state not in ChatState.OPEN:
            return defer.succeed(events)
        self._visitor_seen(chat)
        if events:
            return defer.succeed(events)
        waiting = self._polls.wait(chat.id, after, after)
        return waiting.addCallback(self._poll_answer, chat, after)

    def _poll_answer(self, seq, chat, after):
        """
        The events a woken poll gets: those after its cursor, or none when
        it timed out (a visitor who keeps polling is still there).
        """
        if seq != after:
            return self.store.chats.events_after(chat.id, after)
        if self.running:
            self._visitor_seen(chat)
        return []

    def visitor_displayed(self, token, seq):
        """
        The visitor's widget showed the chat up to event C{seq} while the
        visitor was looking.
        """
        chat = self.chat(token)
        if not 0 <= seq <= self._last_seq(chat):
            raise InvalidCursor("'seq' is the number of an event of this chat")
        if chat.state in ChatState.OPEN:
            self._visitor_seen(chat)
        self._acknowledge(chat, seq, DISPLAYED)

    def _acknowledge(self, chat, upto, how):
        """
        Tell the operators whose messages up to C{upto} asked for it that
        the visitor's widget has them C{how}, each message once.
        """
        if self._acknowledged.get((chat.id, how), 0) >= upto:
            return
        self._acknowledged[chat.id, how] = upto
        wanted = self._wanted(chat)
        steps = ACKNOWLEDGEMENTS[: ACKNOWLEDGEMENTS.index(how) + 1]
        for entry in list(wanted):
            if entry.seq > upto:
                continue
            for step in steps:
                if step in entry.wants and step not in entry.done:
                    entry.done.add(step)
                    self._event(chat, "acknowledged", {"seq": entry.seq, "how": step}, internal=True)
                    self.channel.acknowledge(chat, entry.operator, entry.ref, step)
            if entry.done.issuperset(entry.wants):
                wanted.remove(entry)

    def _wanted(self, chat):
        """
        The L{_Wanted} acknowledgements of C{chat} not all given yet, in
        order: kept in memory while it is open, read from its events once.
        """
        live = self._live.get(chat.id)
        if live is not None and live.wanted is not None:
            return live.wanted
        events = self.store.chats.events_after(chat.id, 0, include_internal=True)
        done = {}
        for event in events:
            if event.kind == "acknowledged":
                done.setdefault(event.data["seq"], set()).add(event.data["how"])
        wanted = [
            _Wanted(
                e.data["seq"], e.data["operator"], e.data["ref"], tuple(e.data["wants"]),
                done.get(e.data["seq"], set()),
            )
            for e in events
            if e.kind == "acknowledgement_wanted"
        ]
        wanted = [entry for entry in wanted if not entry.done.issuperset(entry.wants)]
        if live is not None:
            live.wanted = wanted
        return wanted

    def _visitor_seen(self, chat):
        timer = self._visitor_timers.get(chat.id)
        if timer is not None and timer.active():
            timer.reset(self._visitor_timeout(chat))
        else:
            self._visitor_timers[chat.id] = self.clock.callLater(
                self._visitor_timeout(chat), self._visitor_gone, chat.id
            )

    def _visitor_timeout(self, chat):
        channel = self.visitor_channels.get(chat.protocol)
        return self.timeouts.visitor if channel is None else channel.idle_timeout

    def _visitor_gone(self, chat_id):
        self._visitor_timers.pop(chat_id, None)
        chat = self.by_id(chat_id)
        if chat.state in ChatState.OPEN:
            self._finish(chat, ChatState.CLOSED, TIMEOUT, "The visitor has left.")

    # The operators' side

    def operator_says(self, guest, operator, text, ref=None, wants=()):
        """
        An operator wrote to a chat's guest: the first to answer takes it.

        @param ref: the operator's client's reference for the message.
        @param wants: which of L{ACKNOWLEDGEMENTS} the operator asks to get
            back (with C{ref}) from the visitor's widget.
        @return: the sequence number of the message the visitor gets, or
            C{None} when it went to nobody.
        """
        chat = self.by_guest(guest)
        if operator in self.transfer_offered(chat.id):
            self._take_transfer(chat, operator)
            chat = self._reload(chat.id)
        candidate = operator in self._chat_candidates(chat)
        if chat.state == ChatState.WAITING and candidate:
            self._take(chat, operator)
            chat = self._reload(chat.id)
        if chat.state == ChatState.ACTIVE and chat.operator == operator:
            seq = self._event(chat, "message", {"from": OPERATOR, "name": chat.operator_name, "text": text})
            wanted = [how for how in ACKNOWLEDGEMENTS if how in wants]
            if ref is not None and wanted:
                self._event(
                    chat, "acknowledgement_wanted",
                    {"seq": seq, "operator": operator, "ref": ref, "wants": wanted}, internal=True,
                )
                live = self._live.get(chat.id)
                if live is not None and live.wanted is not None:
                    live.wanted.append(_Wanted(seq, operator, ref, tuple(wanted), set()))
            return seq
        elif chat.state not in ChatState.OPEN:
            self.channel.notify(chat, [operator], "This chat has ended.")
        elif chat.state == ChatState.ACTIVE and candidate:
            self._event(chat, "note", {"operator": operator, "text": text}, internal=True)
            self.channel.notify(
                chat, [operator],
                f"{chat.operator_name} has this chat; the visitor did not see your message.",
            )
        else:
            self.channel.notify(chat, [operator], "This chat is not for you.")
        return None

    def operator_takes(self, guest, operator):
        """
        An operator takes a chat ringing for them without saying anything
        yet (or a transfer ringing for them); whether it is theirs now.
        """
        chat = self.by_guest(guest)
        if operator in self.transfer_offered(chat.id):
            self._take_transfer(chat, operator)
            chat = self._reload(chat.id)
        candidate = operator in self._chat_candidates(chat)
        if chat.state == ChatState.WAITING and candidate:
            self._take(chat, operator)
            chat = self._reload(chat.id)
        if chat.state == ChatState.ACTIVE and chat.operator == operator:
            return True
        if chat.state not in ChatState.OPEN:
            self.channel.notify(chat, [operator], "This chat has ended.")
        elif chat.state == ChatState.ACTIVE and candidate:
            self.channel.notify(chat, [operator], f"{chat.operator_name} has this chat.")
        else:
            self.channel.notify(chat, [operator], "This chat is not for you.")
        return False

    def operator_typing(self, guest, operator, state):
        """
        The operator's chat state reaches the visitor; before anyone has
        taken the chat, an operator it rings for who starts typing shows
        once as L{LOOKING}.
        """
        chat = self.by_guest(guest)
        if chat.state == ChatState.ACTIVE and chat.operator == operator:
            self._event(chat, "typing", {"from": OPERATOR, "state": state})
        elif (
            chat.state == ChatState.WAITING and state == "composing"
            and chat.id not in self._looked_at and self.shows(chat, operator)
        ):
            self._looked_at.add(chat.id)
            self._event(chat, "typing", {"from": OPERATOR, "state": LOOKING})

    def shows(self, chat, operator):
        """
        Whether C{operator}'s clients show C{chat}: it rings for them, or
        it is theirs.
        """
        if chat.state == ChatState.ACTIVE:
            return chat.operator == operator
        return chat.state == ChatState.WAITING and operator in self._offered.get(chat.id, ())

    def shown_to(self, operator):
        """
        The open chats that C{operator}'s clients show (L{shows}).
        """
        ringing = [
            chat for chat in self.store.chats.waiting() if operator in self._offered.get(chat.id, ())
        ]
        return sorted(self.store.chats.held_by(operator) + ringing, key=lambda chat: chat.id)

    def operator_ends(self, guest, operator):
        """
        An operator ends a chat: their own, or one still ringing for them,
        which nobody else then gets; anyone else is told why not.
        """
        chat = self.by_guest(guest)
        candidate = operator in self._chat_candidates(chat)
        if chat.state == ChatState.WAITING and candidate:
            self._take(chat, operator)
            chat = self._reload(chat.id)
        if chat.state == ChatState.ACTIVE and chat.operator == operator:
            self._finish(chat, ChatState.CLOSED, OPERATOR, None)
        elif chat.state not in ChatState.OPEN:
            self.channel.notify(chat, [operator], "This chat has ended already.")
        elif chat.state == ChatState.ACTIVE and candidate:
            self.channel.notify(
                chat, [operator], f"{chat.operator_name} has this chat; only they can end it."
            )
        else:
            self.channel.notify(chat, [operator], "This chat is not for you.")

    def by_id(self, chat_id):
        """
        The chat numbered C{chat_id}, or L{UnknownChat}.
        """
        chat = self._cached("id", chat_id, self.store.chats.by_id)
        if chat is None:
            raise UnknownChat(f"no chat is number {chat_id}")
        return chat

    def transcript(self, chat):
        """
        Everything said in C{chat} that its operators may read: the
        visitor's and operators' messages, oldest first.
        """
        return [e for e in self.store.chats.events_after(chat.id, 0) if e.kind == "message"]

    def history(self, chat):
        """
        What a chat's operators see of it so far: the messages and the
        files sent either way, oldest first.
        """
        return [e for e in self.store.chats.events_after(chat.id, 0) if e.kind in ("message", "file")]

    def by_guest(self, guest):
        """
        The chat a guest JID stands for, or L{UnknownChat}.
        """
        chat = self._cached("guest", guest, self.store.chats.by_guest)
        if chat is None:
            raise UnknownChat(f"no chat is {guest}")
        return chat

    def _take(self, chat, operator):
        user = self.store.users.find(operator)
        name = plain_name((user and user.display_name) or "") or operator
        claimed = self.store.chats.claim(chat.id, operator, name, self.clock.seconds())
        self._reload(chat.id)
        if not claimed:
            return
        log.info("Chat {chat_id} taken by {operator}", chat_id=chat.id, operator=operator)
        self._cancel_answer_timer(chat.id)
        others = self._offered.pop(chat.id, set()) - {operator}
        self._event(chat, "picked_up", {"operator": name})
        if others:
            self.channel.notify(chat, sorted(others), f"{name} picked up this chat.")
            self.channel.withdraw(chat, sorted(others))

    def _offer(self, chat, operators=None, waiting_since=None):
        """
        Ring C{operators} (by default every available one) who are not
        ringing yet; the chat is missed C{timeouts.answer} seconds after it
        began to wait.
        """
        if operators is None:
            operators = self._available_for(chat)
        fresh = [name for name in operators if name not in self._offered.get(chat.id, set())]
        self._offered.setdefault(chat.id, set()).update(fresh)
        if fresh:
            log.info(
                "Chat {chat_id} offered to {operators} operators", chat_id=chat.id, operators=len(fresh)
            )
            self.channel.offer(chat, fresh, self._transcript(chat))
        if chat.id not in self._answer_timers:
            waited = 0 if waiting_since is None else self.clock.seconds() - waiting_since
            self._answer_timers[chat.id] = self.clock.callLater(
                max(0, self.timeouts.answer - waited), self._unanswered, chat.id
            )

    def _transcript(self, chat, after=0, speaker=None):
        """
        The messages after sequence number C{after} (of C{speaker} alone,
        if given), for an operator who has not seen them; the opening
        question is part of every offer already.
        """
        messages = [
            event
            for event in self.store.chats.events_after(chat.id, after)
            if event.kind == "message" and speaker in (None, event.data["from"])
        ]
        if chat.question and messages and messages[0].seq == 1:
            return messages[1:]
        return messages

    def _unanswered(self, chat_id):
        self._answer_timers.pop(chat_id, None)
        chat = self.by_id(chat_id)
        if chat.state == ChatState.WAITING:
            self._finish(chat, ChatState.MISSED, TIMEOUT, "Nobody answered this chat in time.")

    def _cancel_answer_timer(self, chat_id):
        timer = self._answer_timers.pop(chat_id, None)
        if timer is not None and timer.active():
            timer.cancel()

    def _availability_changed(self, username):
        if not self.running:
            # Shutting down drops every operator: that is no reason to
            # hand their chats back, they resume after the restart.
            return
        # Only the chats a change can touch are read: the operator's own,
        # those with a transfer pending, and the waiting ones when the
        # operator may now take them or was offered them; a login does not
        # cost a pass over every chat under way.
        status = self.availability.status(username)
        held = self.store.chats.held_by(username)
        for chat in held:
            if status == "offline":
                self._operator_left(chat)
            else:
                self._operator_back(chat)
        skip = {chat.id for chat in held}
        for chat_id in sorted(set(self._transfers) - skip):
            chat = self.store.chats.by_id(chat_id)
            if chat is not None and chat.state in ChatState.OPEN:
                self._transfer_availability(chat, username, status)
        skip |= set(self._transfers)
        if status == "available":
            for chat in self.store.chats.waiting():
                if chat.id not in skip and username in self._chat_candidates(chat):
                    self._offer(chat, [username])
            return
        for chat_id in sorted(self._offered):
            if chat_id in skip or username not in self._offered[chat_id]:
                continue
            chat = self.store.chats.by_id(chat_id)
            if chat is not None and chat.state == ChatState.WAITING:
                self._offered[chat_id].discard(username)
                self.channel.withdraw(chat, [username])

    def _operator_left(self, chat):
        if chat.id not in self._absences:
            self._absences[chat.id] = _Absence(
                self._last_seq(chat),
                self.clock.callLater(self.timeouts.reconnect, self._operator_gone, chat.id),
            )

    def _operator_back(self, chat):
        absence = self._absences.pop(chat.id, None)
        if absence is not None:
            absence.timer.cancel()
            self.channel.resume(chat, chat.operator, self._transcript(chat, absence.seen, VISITOR))

    def _operator_gone(self, chat_id):
        """
        The operator did not come back in time: the chat returns to the
        queue, and the visitor is told.
        """
        self._absences.pop(chat_id, None)
        chat = self.by_id(chat_id)
        if chat.state != ChatState.ACTIVE:
            return
        self._drop_transfer(chat, "operator-gone", f"{chat.operator_name} has gone; this transfer is off.")
        log.info(
            "Chat {chat_id} back in the queue: {operator} left", chat_id=chat.id, operator=chat.operator
        )
        self.store.chats.requeue(chat.id)
        requeued = self._reload(chat.id)
        self._event(chat, "requeued", {"operator": chat.operator_name})
        self._offered.pop(chat.id, None)
        self._offer(requeued)

    def _cancel_absence(self, chat_id):
        absence = self._absences.pop(chat_id, None)
        if absence is not None and absence.timer.active():
            absence.timer.cancel()

    def _waiting_since(self, chat):
        """
        When C{chat} last began to wait for an operator: its creation, or
        its last return to the queue.
        """
        returns = [
            e.at for e in self.store.chats.events_after(chat.id, 0) if e.kind in ("requeued", "transfer")
        ]
        return returns[-1] if returns else chat.created_at

    def end(self, chat, closed_by, notice=None):
        """
        End the open C{chat} for C{closed_by} (L{OPERATOR} or L{ADMIN});
        its operator (or those it rings) get C{notice}, if any.
        """
        self._finish(chat, ChatState.CLOSED, closed_by, notice)

    def _finish(self, chat, state, closed_by, notice):
        self._drop_transfer(chat, "ended", "This chat has ended.")
        self._cancel_answer_timer(chat.id)
        self._cancel_absence(chat.id)
        timer = self._visitor_timers.pop(chat.id, None)
        if timer is not None and timer.active():
            timer.cancel()
        self.store.chats.finish(chat.id, state, closed_by, self.clock.seconds())
        self._forget(chat.id)
        log.info(
            "Chat {chat_id} {outcome} by {closed_by}",
            chat_id=chat.id, outcome="ended" if state == ChatState.CLOSED else "missed",
            closed_by=closed_by,
        )
        self._event(chat, "ended" if state == ChatState.CLOSED else "missed", {"by": closed_by})
        for observer in self.on_finished:
            observer(chat)
        involved = [chat.operator] if chat.operator else sorted(self._offered.pop(chat.id, set()))
        self._offered.pop(chat.id, None)
        self._looked_at.discard(chat.id)
        for how in ACKNOWLEDGEMENTS:
            self._acknowledged.pop((chat.id, how), None)
        if involved:
            if notice:
                self.channel.notify(chat, involved, notice)
            self.channel.withdraw(chat, involved)

    # Transfers

    def transfer_offered(self, chat_id):
        """
        The operators a pending transfer of the chat rings (empty for none).
        """
        transfer = self._transfers.get(chat_id)
        return set() if transfer is None else set(transfer.offered)

    def transfer_pending(self, chat_id):
        return chat_id in self._transfers

    def transfer(self, chat, by, by_name, label, note, queue=None, user=None):
        """
        Ring the available operators of C{queue} or C{user} (but the one who
        has it) with the active C{chat}, which stays with its operator until
        one of them answers, or the answer time is over; a waiting chat
        goes to C{queue} or C{user} instead of where it was, to ring there
        for a fresh answer time.  Who may ask, and whether anyone is there,
        the caller checked: C{targets} must not be empty.
        """
        targets = [name for name in self.available_operators(queue, user) if name != chat.operator]
        notice = f"You are being transferred to {label}."
        if chat.state == ChatState.WAITING:
            self._redirect(chat, by, by_name, label, note, queue, user, notice)
            return
        transfer = _Transfer(chat.operator, by, queue, user, label, note, set())
        self._transfers[chat.id] = transfer
        self._event(
            chat, "transfer_offered",
            {"by": by, "from": chat.operator, "queue": queue, "user": user, "note": note},
            internal=True,
        )
        self._event(chat, "transfer", {"text": notice, "to": label})
        transfer.timer = self.clock.callLater(self.timeouts.answer, self._transfer_unanswered, chat.id)
        self._ring_transfer(chat, transfer, targets, by_name)
        self.channel.notify(
            chat, [chat.operator],
            f"Transferring this chat to {label}; it is yours until someone there takes it.",
        )

    def _ring_transfer(self, chat, transfer, operators, by_name=None):
        fresh = sorted(set(operators) - transfer.offered - {transfer.holder})
        if not fresh:
            return
        transfer.offered.update(fresh)
        self.channel.offer(chat, fresh, self._transcript(chat))
        by_name = by_name or self._display_name(transfer.by)
        text = f"{by_name} transfers this chat to {transfer.label}; reply to take it."
        if transfer.note:
            text += f"\nNote: {isolated(transfer.note)}"
        self.channel.notify(chat, fresh, text)

    def _redirect(self, chat, by, by_name, label, note, queue, user, notice):
        redirected = self.store.chats.redirect(chat.id, queue, user)
        self._reload(chat.id)
        if not redirected:
            return
        self._cancel_answer_timer(chat.id)
        ringing = sorted(self._offered.pop(chat.id, set()))
        self._event(
            chat, "transfer_offered",
            {"by": by, "from": None, "queue": queue, "user": user, "note": note},
            internal=True,
        )
        self._transferred(chat.queue, queue, None, None, chat)
        self._event(chat, "transfer", {"text": notice, "to": label})
        if ringing:
            self.channel.notify(chat, ringing, f"{by_name} moved this chat to {label}.")
            self.channel.withdraw(chat, ringing)
        chat = self._reload(chat.id)
        self._offer(chat)
        if note:
            self.channel.notify(
                chat, sorted(self._offered.get(chat.id, ())), f"Note from {by_name}: {isolated(note)}"
            )

    def _transferred(self, from_queue, to_queue, from_operator, to_operator, chat):
        """
        Record that C{chat} went elsewhere: one event per transfer that
        happened, which reports count (offers that came to nothing are not).
        """
        self._event(
            chat, "transferred",
            {
                "from_queue": from_queue, "to_queue": to_queue,
                "from_operator": from_operator, "to_operator": to_operator,
            },
            internal=True,
        )

    def _display_name(self, username):
        user = self.store.users.find(username)
        return plain_name((user and user.display_name) or "") or username

    def _take_transfer(self, chat, operator):
        """
        The first to answer a transfer takes the chat from its holder.
        """
        transfer = self._transfers.get(chat.id)
        name = self._display_name(operator)
        handed = self.store.chats.hand_over(
            chat.id, transfer.holder, operator, name, transfer.queue, transfer.user
        )
        self._reload(chat.id)
        if not handed:
            return
        self._transfers.pop(chat.id)
        transfer.timer.cancel()
        self._cancel_absence(chat.id)
        self._event(chat, "transfer_taken", {"operator": operator, "from": transfer.holder}, internal=True)
        self._transferred(chat.queue, transfer.queue, transfer.holder, operator, chat)
        self._event(chat, "picked_up", {"operator": name})
        others = sorted(transfer.offered - {operator})
        if others:
            self.channel.notify(chat, others, f"{name} picked up this chat.")
            self.channel.withdraw(chat, others)
        self.channel.notify(chat, [transfer.holder], f"{name} took this chat over from you.")
        self.channel.withdraw(chat, [transfer.holder])

    def _transfer_unanswered(self, chat_id):
        transfer = self._transfers.get(chat_id)
        if transfer is None:
            return
        chat = self.by_id(chat_id)
        self._drop_transfer(chat, "unanswered", f"Nobody took this chat in time; it stays with {chat.operator_name}.")
        self.channel.notify(
            chat, [transfer.holder],
            f"Nobody at {transfer.label} took this chat in time; it is still yours.",
        )

    def _drop_transfer(self, chat, reason, notice):
        """
        Call off the chat's pending transfer, if any: the operators it rang
        are told C{notice}, and the event says C{reason}.
        """
        transfer = self._transfers.pop(chat.id, None)
        if transfer is None:
            return
        if transfer.timer is not None and transfer.timer.active():
            transfer.timer.cancel()
        self._event(chat, "transfer_returned", {"to": transfer.holder, "reason": reason}, internal=True)
        ringing = sorted(transfer.offered)
        if ringing:
            self.channel.notify(chat, ringing, notice)
            self.channel.withdraw(chat, ringing)

    def _transfer_availability(self, chat, username, status):
        transfer = self._transfers[chat.id]
        if status != "available":
            transfer.offered.discard(username)
            return
        try:
            candidates = self._candidates(transfer.queue, transfer.user)
        except UnknownTarget:
            return
        if username in candidates:
            self._ring_transfer(chat, transfer, [username])

    # Events

    def record(self, chat, kind, data, internal=False):
        """
        Add an event the chat operations make (a file, an e-mail) to
        C{chat}; its visitor's polls wake unless it is C{internal}.
        """
        return self._event(chat, kind, data, internal)

    def _event(self, chat, kind, data, internal=False, message_id=None, wake=True):
        """
        Store an event of C{chat} and tell whoever follows it; a C{wake}
        false leaves its visitor's waiting poll be (the visitor's own
        message, which the visitor knows of).
        """
        seq = self.store.chats.add_event(
            chat.id, kind, data, self.clock.seconds(), internal, message_id=message_id
        )
        live = self._live.get(chat.id)
        if live is not None:
            live.last_seq = seq
            if not internal:
                live.last_visible = seq
        if not internal:
            if wake:
                self._polls.notify(chat.id, seq)
            visitor_channel = self.visitor_channels.get(chat.protocol)
            if visitor_channel is not None:
                visitor_channel.event(chat, kind, data)
        self._changed(chat)
        for observer in self.on_event:
            observer(chat, kind, data, internal)
        return seq

    def _changed(self, chat):
        for observer in self.on_changed:
            observer(chat)

    def startService(self):
        """
        After a restart: watch unfinished chats again, ring waiting ones for
        the rest of their answer time, and give the operators of active
        ones the time to reconnect.
        """
        service.Service.startService(self)
        for chat in self.store.chats.unfinished():
            self._remember(chat)
            self._visitor_seen(chat)
            self._settle_transfer(chat)
            if chat.state == ChatState.WAITING:
                self._offer(chat, waiting_since=self._waiting_since(chat))
            elif self.availability.status(chat.operator) == "offline":
                self._operator_left(chat)

    def _settle_transfer(self, chat):
        """
        A transfer still ringing when the server stopped is off: the chat
        stayed with its operator, and the events say so.
        """
        outcome = None
        for event in self.store.chats.events_after(chat.id, 0, include_internal=True):
            if event.kind in ("transfer_offered", "transfer_taken", "transfer_returned"):
                outcome = event
        if outcome is not None and outcome.kind == "transfer_offered" and outcome.data["from"]:
            self._event(chat, "transfer_returned", {"to": outcome.data["from"], "reason": "restart"}, internal=True)

    def stopService(self):
        service.Service.stopService(self)
        timers = [absence.timer for absence in self._absences.values()]
        timers += [transfer.timer for transfer in self._transfers.values()]
        self._transfers.clear()
        for timer in timers + list(self._answer_timers.values()) + list(self._visitor_timers.values()):
            if timer.active():
                timer.cancel()
        self._answer_timers.clear()
        self._visitor_timers.clear()
        self._absences.clear()
        self._offered.clear()
        self._acknowledged.clear()
        self._looked_at.clear()
        self._live.clear()
        self._live_keys.clear()
        self._polls.release()
