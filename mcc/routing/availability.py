# -*- test-case-name: tests.test_admin_presence,tests.test_routing_chats -*-
"""
Who is there, as the XMPP server learns it from presence.
"""

AVAILABLE_SHOWS = (None, "chat")
"""
Presence C{<show/>} values that mean "can take a chat": none at all, or chat.
"""

DETACHED = "detached"
"""
The show of a resource whose connection dropped, waiting to be resumed.
"""


class Availability:
    """
    The presence of each account's resources, reduced to what mcc needs:
    available, away (connected but not taking chats) or offline.

    Observers are called with the username whenever its status may have
    changed.
    """

    def __init__(self):
        self._presences = {}
        self._observers = []

    def add_observer(self, observer):
        self._observers.append(observer)

    def resource_available(self, username, resource, show=None, priority=0):
        self._presences.setdefault(username, {})[resource] = (show, priority)
        self._notify(username)

    def resource_detached(self, username, resource):
        """
        The resource's connection dropped and it may be resumed (XEP-0198):
        still there for its contacts, but it must not be offered chats it
        could not answer, so it counts as away.
        """
        resources = self._presences.get(username, {})
        if resource in resources:
            resources[resource] = (DETACHED, resources[resource][1])
            self._notify(username)

    def resource_gone(self, username, resource):
        resources = self._presences.get(username, {})
        if resources.pop(resource, None) is not None:
            if not resources:
                del self._presences[username]
            self._notify(username)

    def _notify(self, username):
        for observer in list(self._observers):
            observer(username)

    def status(self, username):
        presences = self._presences.get(username)
        if not presences:
            return "offline"
        if any(_takes_chats(show, priority) for show, priority in presences.values()):
            return "available"
        return "away"

    def is_available(self, username):
        return self.status(username) == "available"


def _takes_chats(show, priority):
    """
    A resource with a negative priority is never sent messages to its bare
    JID (RFC 6121 section 8.5.2), chats among them: connected, but away.
    """
    return show in AVAILABLE_SHOWS and priority >= 0
