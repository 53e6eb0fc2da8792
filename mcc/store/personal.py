# -*- test-case-name: tests.test_xmpp_pep,tests.test_xmpp_private,tests.test_xmpp_blocking -*-
"""
What XMPP clients keep on the server for their account: private XML
(XEP-0049), personal eventing nodes and items (XEP-0163), the blocklist
(XEP-0191) and the time of the last logout (XEP-0012).
"""

import json
from dataclasses import dataclass

from mcc.store.database import unbatched


class PrivateXML:
    def __init__(self, db):
        self._conn = db.conn

    def get(self, owner, namespace, name):
        row = self._conn.execute(
            "SELECT xml FROM private_xml WHERE owner = ? AND namespace = ? AND name = ?",
            (owner, namespace, name),
        ).fetchone()
        return None if row is None else row[0]

    def put(self, owner, namespace, name, xml):
        self._conn.execute(
            "INSERT OR REPLACE INTO private_xml (owner, namespace, name, xml) VALUES (?, ?, ?, ?)",
            (owner, namespace, name, xml),
        )


@dataclass(frozen=True)
class PepItem:
    item_id: str
    payload: str
    published_at: float


class PepNodes:
    def __init__(self, db):
        self._conn = db.conn

    def config(self, owner, node):
        """
        The node's configuration (a dict), or C{None} when there is no node.
        """
        row = self._conn.execute(
            "SELECT config FROM pep_nodes WHERE owner = ? AND node = ?", (owner, node)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def nodes(self, owner):
        """
        C{owner}'s nodes and their configurations.
        """
        rows = self._conn.execute(
            "SELECT node, config FROM pep_nodes WHERE owner = ? ORDER BY node", (owner,)
        ).fetchall()
        return [(node, json.loads(config)) for node, config in rows]

    def configure(self, owner, node, config):
        self._conn.execute(
            "INSERT INTO pep_nodes (owner, node, config) VALUES (?, ?, ?)"
            " ON CONFLICT (owner, node) DO UPDATE SET config = excluded.config",
            (owner, node, json.dumps(config, sort_keys=True)),
        )

    def delete(self, owner, node):
        self._conn.execute("DELETE FROM pep_nodes WHERE owner = ? AND node = ?", (owner, node))

    def publish(self, owner, node, item_id, payload, now, keep):
        """
        Add or replace an item, keeping the latest C{keep} items of the node.
        """
        self._conn.execute(
            "DELETE FROM pep_items WHERE owner = ? AND node = ? AND item_id = ?",
            (owner, node, item_id),
        )
        self._conn.execute(
            "INSERT INTO pep_items (owner, node, item_id, payload, published_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (owner, node, item_id, payload, now),
        )
        self.trim(owner, node, keep)

    def trim(self, owner, node, keep):
        self._conn.execute(
            "DELETE FROM pep_items WHERE owner = ? AND node = ? AND id NOT IN"
            " (SELECT id FROM pep_items WHERE owner = ? AND node = ? ORDER BY id DESC LIMIT ?)",
            (owner, node, owner, node, keep),
        )

    def retract(self, owner, node, item_id):
        """
        Remove an item; whether there was one.
        """
        cursor = self._conn.execute(
            "DELETE FROM pep_items WHERE owner = ? AND node = ? AND item_id = ?",
            (owner, node, item_id),
        )
        return cursor.rowcount > 0

    def items(self, owner, node, limit=None, item_ids=None):
        """
        The node's items, newest first: the latest C{limit}, or those named.
        """
        sql = "SELECT item_id, payload, published_at FROM pep_items WHERE owner = ? AND node = ?"
        values = [owner, node]
        if item_ids:
            sql += f" AND item_id IN ({', '.join('?' for _ in item_ids)})"
            values += list(item_ids)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            values.append(limit)
        return [PepItem(*row) for row in self._conn.execute(sql, values).fetchall()]


class Blocklists:
    def __init__(self, db):
        self._conn = db.conn

    def blocked(self, owner):
        return [
            row[0]
            for row in self._conn.execute(
                "SELECT blocked FROM blocklist WHERE owner = ? ORDER BY blocked", (owner,)
            )
        ]

    def is_blocked(self, owner, address):
        return self._conn.execute(
            "SELECT 1 FROM blocklist WHERE owner = ? AND blocked = ?", (owner, address)
        ).fetchone() is not None

    def block(self, owner, addresses):
        self._conn.executemany(
            "INSERT OR IGNORE INTO blocklist (owner, blocked) VALUES (?, ?)",
            [(owner, address) for address in addresses],
        )

    def unblock(self, owner, addresses=None):
        """
        Unblock C{addresses}, or everyone.
        """
        if addresses is None:
            self._conn.execute("DELETE FROM blocklist WHERE owner = ?", (owner,))
            return
        self._conn.executemany(
            "DELETE FROM blocklist WHERE owner = ? AND blocked = ?",
            [(owner, address) for address in addresses],
        )


class LastLogouts:
    def __init__(self, db):
        self._conn = db.conn
        self.begin = unbatched  # Or a GroupCommit's begin (Store.commit_per_turn).

    def get(self, owner):
        """
        When C{owner} last signed out and the status it left, or C{None}.
        """
        row = self._conn.execute(
            "SELECT at, status FROM last_logout WHERE owner = ?", (owner,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def put(self, owner, at, status=""):
        self.begin()
        self._conn.execute(
            "INSERT OR REPLACE INTO last_logout (owner, at, status) VALUES (?, ?, ?)",
            (owner, at, status),
        )
