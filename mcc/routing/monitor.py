# -*- test-case-name: tests.test_routing_monitor -*-
"""
The live monitor of the Activity tab: per queue, the operators online and
how many chats each holds, and the chats waiting or under way.

Watchers wait for news through the shared L{Waiter}: the version moves on
whenever a chat starts or gets an event, or someone's presence changes, so
a page that missed a change hears of it at once.
"""

from dataclasses import dataclass

from mcc.routing.waiter import Waiter
from mcc.store import ChatState

LATE_WAIT = 60.0
"""
Seconds after which a waiting chat stands out.
"""

EVERYTHING = "monitor"
"""
The one key of the feed: every watcher waits for the same news.
"""


@dataclass(frozen=True)
class LiveChat:
    """
    A chat waiting or under way; C{since} is when it began to wait or was
    picked up, C{last_message} when the latest message came (or C{None}).
    """

    id: int
    visitor: str
    queue: str
    operator: str
    protocol: str
    state: str
    since: float
    last_message: float | None

    @property
    def waiting(self):
        return self.state == ChatState.WAITING


@dataclass(frozen=True)
class LiveOperator:
    username: str
    name: str
    status: str
    holding: int


@dataclass(frozen=True)
class LiveQueue:
    """
    C{name} is C{None} for the chats asked of one user rather than a queue.
    """

    name: str | None
    operators: list
    chats: list


@dataclass(frozen=True)
class Snapshot:
    version: int
    now: float
    queues: list
    late_after: float

    def late(self, chat):
        return chat.waiting and self.now - chat.since >= self.late_after


class LiveMonitor:
    """
    What is happening now, for watchers.

    @param timeout: the longest a watcher waits before hearing anyway.
    """

    def __init__(self, store, availability, clock, timeout, late_after=LATE_WAIT):
        self.store = store
        self.availability = availability
        self.clock = clock
        self.late_after = late_after
        self.version = 0
        self._polls = Waiter(clock, timeout)
        availability.add_observer(self._changed)

    def chat_changed(self, chat):
        """
        For L{ChatService.on_changed}.
        """
        self._changed()

    def _changed(self, *ignored):
        self.version += 1
        self._polls.notify(EVERYTHING, self.version)

    def wait(self, after):
        """
        A Deferred firing with the version once it differs from C{after},
        or with the same one after the timeout; cancelling forgets it.
        """
        return self._polls.wait(EVERYTHING, after, self.version)

    def snapshot(self):
        chats = self.store.chats.unfinished()
        last = self.store.history.last_messages([chat.id for chat in chats])
        holding = {}
        for chat in chats:
            if chat.state == ChatState.ACTIVE:
                holding[chat.operator] = holding.get(chat.operator, 0) + 1
        users = {user.username: user for user in self.store.users.all()}

        def operator(username):
            user = users.get(username)
            return LiveOperator(
                username,
                (user and user.display_name) or username,
                self.availability.status(username),
                holding.get(username, 0),
            )

        def live(chat):
            waiting = chat.state == ChatState.WAITING
            return LiveChat(
                chat.id,
                chat.visitor_name,
                chat.queue or "",
                "" if waiting else (chat.operator_name or chat.operator or ""),
                chat.protocol,
                chat.state,
                chat.created_at if waiting else (chat.picked_up_at or chat.created_at),
                last.get(chat.id),
            )

        # The chats of each queue, by its folded name, in one pass: with a
        # thousand queues and chats, matching each queue against every
        # chat cost a million comparisons per snapshot.
        by_queue = {}
        for chat in chats:
            by_queue.setdefault((chat.queue or "").casefold(), []).append(chat)
        queues = []
        for queue in self.store.queues.all():
            queues.append(
                LiveQueue(
                    queue.name,
                    [operator(name) for name in queue.operators if self.availability.status(name) != "offline"],
                    [live(chat) for chat in by_queue.pop(queue.name.casefold(), ())],
                )
            )
        others = [live(chat) for chat in chats if (chat.queue or "").casefold() in by_queue]
        if others:
            targets = sorted({chat.target_user for chat in chats if chat.target_user})
            queues.append(LiveQueue(None, [operator(name) for name in targets], others))
        return Snapshot(self.version, self.clock.seconds(), queues, self.late_after)


def elapsed(seconds):
    """
    A span of time as the monitor shows it: C{45 s}, C{3 min 20 s}, C{1 h 05 min}.
    """
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
