# -*- test-case-name: tests.test_store -*-
"""
Rosters (contact lists), their subscription states, and presence
subscription requests that wait for the user's answer.
"""

import json
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class RosterItem:
    contact: str
    name: str | None = None
    subscription: str = "none"
    ask: bool = False
    groups: tuple = field(default=())

    def but(self, **changes):
        return replace(self, **changes)


def _item_from_row(row):
    contact, name, subscription, ask, groups = row
    return RosterItem(contact, name, subscription, bool(ask), tuple(json.loads(groups)))


_ITEM_COLUMNS = "contact, name, subscription, ask, groups"


class Rosters:
    def __init__(self, db):
        self._conn = db.conn

    def items(self, owner):
        rows = self._conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM roster_items WHERE owner = ? ORDER BY contact",
            (owner,),
        )
        return [_item_from_row(row) for row in rows]

    def get(self, owner, contact):
        row = self._conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM roster_items WHERE owner = ? AND contact = ?",
            (owner, contact),
        ).fetchone()
        return None if row is None else _item_from_row(row)

    def put(self, owner, item):
        self._conn.execute(
            "INSERT INTO roster_items (owner, contact, name, subscription, ask, groups)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (owner, contact) DO UPDATE SET name = excluded.name,"
            " subscription = excluded.subscription, ask = excluded.ask,"
            " groups = excluded.groups",
            (
                owner,
                item.contact,
                item.name,
                item.subscription,
                int(item.ask),
                json.dumps(list(item.groups)),
            ),
        )

    def remove(self, owner, contact):
        self._conn.execute(
            "DELETE FROM roster_items WHERE owner = ? AND contact = ?", (owner, contact)
        )

    def add_request(self, owner, requester, stanza):
        """
        Keep a subscription request until C{owner} answers it.
        """
        self._conn.execute(
            "INSERT OR REPLACE INTO subscription_requests (owner, requester, stanza)"
            " VALUES (?, ?, ?)",
            (owner, requester, stanza),
        )

    def requests(self, owner):
        return [
            stanza
            for (stanza,) in self._conn.execute(
                "SELECT stanza FROM subscription_requests WHERE owner = ? ORDER BY requester",
                (owner,),
            )
        ]

    def has_request(self, owner, requester):
        return (
            self._conn.execute(
                "SELECT 1 FROM subscription_requests WHERE owner = ? AND requester = ?",
                (owner, requester),
            ).fetchone()
            is not None
        )

    def remove_request(self, owner, requester):
        self._conn.execute(
            "DELETE FROM subscription_requests WHERE owner = ? AND requester = ?",
            (owner, requester),
        )
