# -*- test-case-name: tests.test_routing_queues -*-
"""
Queues as admins shape them and the chat router reads them: a queue groups
operators (by specialty or department) so that chats reach the right people.
"""

from mcc.store import UnknownUser

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500


class QueueError(ValueError):
    """
    A queue change refused by the rules; the message says why.
    """


class Queues:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def all(self):
        return self.store.queues.all()

    def get(self, queue_id):
        """
        The L{Queue} with that id, or L{UnknownQueue}.
        """
        return self.store.queues.get(queue_id)

    def create(self, name, description=""):
        """
        A new queue without operators; names are unique in any letter case.
        """
        return self.store.queues.add(
            _name(name), _description(description), now=self.clock.seconds()
        )

    def update(self, queue_id, name, description):
        """
        Rename a queue and change its description.
        """
        return self.store.queues.update(queue_id, _name(name), _description(description))

    def remove(self, queue_id):
        self.store.queues.remove(queue_id)

    def assign(self, queue_id, usernames):
        """
        Make C{usernames} the queue's operators, replacing the previous set;
        each is stored as its user's own username, whatever its letter case.
        """
        usernames = [self._username(name) for name in usernames]
        return self.store.queues.set_operators(queue_id, usernames)

    def _username(self, name):
        user = self.store.users.find(name)
        if user is None:
            raise UnknownUser(name)
        return user.username

    def operators_of(self, name):
        """
        The usernames staffing the queue called C{name}, as the chat router
        asks for them; L{UnknownQueue} (a C{KeyError}) when there is none.
        """
        return list(self.store.queues.named(name).operators)


def _name(name):
    name = name.strip()
    if not name:
        raise QueueError("a queue needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise QueueError(f"a queue name has at most {MAX_NAME_LENGTH} characters")
    return name


def _description(description):
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise QueueError(f"a queue description has at most {MAX_DESCRIPTION_LENGTH} characters")
    return description
