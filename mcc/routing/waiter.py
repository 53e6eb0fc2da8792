# -*- test-case-name: tests.test_routing_waiter -*-
"""
Long polling, written once: a client asks for news of a key (a chat, a
snippet, everyone's presence) after the cursor it holds, and hears as soon
as the key's position differs from it, or after a timeout with nothing new.

The cursor is the client's own, so a client that missed a change while it
was not waiting hears at once when it asks again: nothing is lost between
two polls.  Positions are compared for difference only, so a counter and a
hash both serve.
"""

from dataclasses import dataclass

from twisted.internet import defer


@dataclass(eq=False)
class _Listener:
    """
    One waiting client: C{deferred} fires with the key's new position, or
    with C{cursor} when C{timer} runs out.
    """

    key: object
    cursor: object
    deferred: defer.Deferred = None
    timer: object = None


class Waiter:
    """
    The clients waiting for news, each with its own Deferred and timer on
    the injected clock, grouped by key so a change wakes only those who
    wait for it.

    @param clock: an L{IReactorTime}.
    @param timeout: seconds a wait lasts when its caller names none.
    """

    def __init__(self, clock, timeout):
        self.clock = clock
        self.timeout = timeout
        self._listeners = {}

    def wait(self, key, cursor, position, timeout=None):
        """
        A Deferred firing with the position of C{key} once it is not
        C{cursor}: at once when C{position} (the key's position now) is not,
        else when L{notify} reports another one, or with C{cursor} itself
        after C{timeout} seconds or L{release}.  Cancelling it (the client
        went away) forgets the client and its timer.
        """
        if position != cursor:
            return defer.succeed(position)
        listener = _Listener(key, cursor)
        listener.deferred = defer.Deferred(lambda _: self._forget(listener))
        listener.timer = self.clock.callLater(
            self.timeout if timeout is None else timeout, self._wake, listener, cursor
        )
        self._listeners.setdefault(key, {})[listener] = None
        return listener.deferred

    def notify(self, key, position):
        """
        C{key} is now at C{position}: wake everyone waiting for it with
        another cursor.
        """
        for listener in list(self._listeners.get(key, ())):
            if listener.cursor != position and self._waiting(listener):
                self._wake(listener, position)

    def keys(self):
        """
        The keys somebody waits for, for owners that must work out a
        key's position before they can notify it.
        """
        return list(self._listeners)

    def count(self, key=None):
        """
        How many clients wait for C{key}, or for anything.
        """
        if key is not None:
            return len(self._listeners.get(key, ()))
        return sum(len(listeners) for listeners in self._listeners.values())

    def release(self):
        """
        Answer every client at once with its own cursor (nothing new), as a
        service stops.
        """
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                if self._waiting(listener):
                    self._wake(listener, listener.cursor)

    def _waiting(self, listener):
        """
        Whether C{listener} still waits: an answer given to one client may
        make another go away before its turn.
        """
        return listener in self._listeners.get(listener.key, ())

    def _wake(self, listener, position):
        self._forget(listener)
        listener.deferred.callback(position)

    def _forget(self, listener):
        listeners = self._listeners.get(listener.key, {})
        listeners.pop(listener, None)
        if not listeners:
            self._listeners.pop(listener.key, None)
        if listener.timer.active():
            listener.timer.cancel()
