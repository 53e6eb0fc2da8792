# -*- test-case-name: tests.test_components -*-
"""
XMPP components (XEP-0114), the XMPP addresses of queues, and the remote
JIDs that wrote to those addresses.
"""

import sqlite3
from dataclasses import dataclass

COMPONENT_COLUMNS = ("id", "domain", "secret", "protocol", "disabled", "last_connected_at", "created_at")


class DuplicateComponent(Exception):
    """
    Another component has this domain.
    """


class UnknownComponent(Exception):
    pass


class DuplicateIdentity(Exception):
    """
    Another queue has this address.
    """


@dataclass(frozen=True)
class Component:
    id: int
    domain: str
    secret: str
    protocol: str
    disabled: bool
    last_connected_at: float | None
    created_at: float


@dataclass(frozen=True)
class Identity:
    queue: str
    address: str


@dataclass(frozen=True)
class RemoteContact:
    address: str
    remote: str
    chat_id: int | None
    subscribed: bool


def _component(row):
    values = list(row)
    values[4] = bool(values[4])
    return Component(*values)


class Components:
    def __init__(self, db):
        self._conn = db.conn

    # Components

    def add(self, domain, secret, protocol, now):
        try:
            (component_id,) = self._conn.execute(
                "INSERT INTO xmpp_components (domain, secret, protocol, created_at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (domain, secret, protocol, now),
            ).fetchone()
        except sqlite3.IntegrityError:
            raise DuplicateComponent(f"a component has the domain {domain} already") from None
        return self.get(component_id)

    def all(self):
        rows = self._conn.execute(
            f"SELECT {', '.join(COMPONENT_COLUMNS)} FROM xmpp_components ORDER BY domain"
        )
        return [_component(row) for row in rows]

    def find(self, component_id):
        row = self._conn.execute(
            f"SELECT {', '.join(COMPONENT_COLUMNS)} FROM xmpp_components WHERE id = ?", (component_id,)
        ).fetchone()
        return None if row is None else _component(row)

    def get(self, component_id):
        found = self.find(component_id)
        if found is None:
            raise UnknownComponent(f"no component {component_id}")
        return found

    def by_domain(self, domain):
        row = self._conn.execute(
            f"SELECT {', '.join(COMPONENT_COLUMNS)} FROM xmpp_components WHERE domain = ?", (domain,)
        ).fetchone()
        return None if row is None else _component(row)

    def set_disabled(self, component_id, disabled):
        self.get(component_id)
        self._conn.execute(
            "UPDATE xmpp_components SET disabled = ? WHERE id = ?", (int(disabled), component_id)
        )
        return self.get(component_id)

    def connected(self, component_id, now):
        self._conn.execute(
            "UPDATE xmpp_components SET last_connected_at = ? WHERE id = ?", (now, component_id)
        )

    def delete(self, component_id):
        self.get(component_id)
        self._conn.execute("DELETE FROM xmpp_components WHERE id = ?", (component_id,))

    # Queue identities

    def identities(self):
        rows = self._conn.execute(
            "SELECT queues.name, address FROM queue_identities"
            " JOIN queues ON queues.id = queue_identities.queue_id ORDER BY queues.name"
        )
        return [Identity(*row) for row in rows]

    def identity_of(self, queue):
        row = self._conn.execute(
            "SELECT queues.name, address FROM queue_identities"
            " JOIN queues ON queues.id = queue_identities.queue_id WHERE queues.name = ?",
            (queue,),
        ).fetchone()
        return None if row is None else Identity(*row)

    def identity_at(self, address):
        row = self._conn.execute(
            "SELECT queues.name, address FROM queue_identities"
            " JOIN queues ON queues.id = queue_identities.queue_id WHERE address = ?",
            (address,),
        ).fetchone()
        return None if row is None else Identity(*row)

    def set_identity(self, queue, address, now):
        """
        Give C{queue} the address C{address}, or none when it is C{None}.
        """
        (queue_id,) = self._conn.execute("SELECT id FROM queues WHERE name = ?", (queue,)).fetchone()
        taken = address is not None and self.identity_at(address)
        if taken and taken.queue != queue:
            # Refused before anything changes: the queue keeps its address.
            raise DuplicateIdentity(f"the queue {taken.queue} has the address {address}")
        self._conn.execute("DELETE FROM queue_identities WHERE queue_id = ?", (queue_id,))
        if address is None:
            return None
        try:
            self._conn.execute(
                "INSERT INTO queue_identities (queue_id, address, created_at) VALUES (?, ?, ?)",
                (queue_id, address, now),
            )
        except sqlite3.IntegrityError:
            raise DuplicateIdentity(f"another queue has the address {address}") from None
        return self.identity_of(queue)

    # Remote contacts

    def contact(self, address, remote):
        self._conn.execute(
            "INSERT OR IGNORE INTO xmpp_contacts (address, remote) VALUES (?, ?)", (address, remote)
        )
        row = self._conn.execute(
            "SELECT address, remote, chat_id, subscribed FROM xmpp_contacts"
            " WHERE address = ? AND remote = ?",
            (address, remote),
        ).fetchone()
        return RemoteContact(row[0], row[1], row[2], bool(row[3]))

    def contact_of_chat(self, chat_id):
        row = self._conn.execute(
            "SELECT address, remote, chat_id, subscribed FROM xmpp_contacts WHERE chat_id = ?",
            (chat_id,),
        ).fetchone()
        return None if row is None else RemoteContact(row[0], row[1], row[2], bool(row[3]))

    def update_contact(self, address, remote, **fields):
        names = [name for name in ("chat_id", "subscribed") if name in fields]
        self._conn.execute(
            f"UPDATE xmpp_contacts SET {', '.join(f'{name} = ?' for name in names)}"
            " WHERE address = ? AND remote = ?",
            [fields[name] for name in names] + [address, remote],
        )

    def subscribers(self, address):
        rows = self._conn.execute(
            "SELECT remote FROM xmpp_contacts WHERE address = ? AND subscribed = 1 ORDER BY remote",
            (address,),
        )
        return [remote for (remote,) in rows]
