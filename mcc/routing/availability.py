# -*- test-case-name: tests.test_admin_presence,tests.test_routing_chats -*-
"""
Who is there, as the XMPP server learns it from presence.
"""

AVAILABLE_SHOWS = (None, "chat")
"""
Presence C{<show/>} values that mean "can take a chat": none at all, or chat.
"""


class Availability:
    """
    The presence of each account's resources, reduced to what mcc needs:
    available, away (connected but not taking chats) or offline.

    Observers are called with the username whenever its status may have
    changed.
    """

    def __init__(self):
        self._shows = {}
        self._observers = []

    def add_observer(self, observer):
        self._observers.append(observer)

    def remove_observer(self, observer):
        self._observers.remove(observer)

    def resource_available(self, username, resource, show=None):
        self._shows.setdefault(username, {})[resource] = show
        self._notify(username)

    def resource_gone(self, username, resource):
        resources = self._shows.get(username, {})
        if resources.pop(resource, "missing") != "missing":
            if not resources:
                del self._shows[username]
            self._notify(username)

    def _notify(self, username):
        for observer in list(self._observers):
            observer(username)

    def status(self, username):
        shows = self._shows.get(username)
        if not shows:
            return "offline"
        if any(show in AVAILABLE_SHOWS for show in shows.values()):
            return "available"
        return "away"

    def is_available(self, username):
        return self.status(username) == "available"
