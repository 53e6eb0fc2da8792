# -*- test-case-name: tests.test_store_widgets -*-
"""
Widgets: skins (how a chat widget looks and speaks), code snippets (what a
website pastes, found by a public key) and each snippet's ordered service
levels.

A skin's settings are stored as one JSON object: which settings exist and
what values they may take are rules, kept in L{mcc.routing.widgets}.
"""

import json
import sqlite3
from dataclasses import dataclass

from mcc.store.database import transaction


class UnknownSkin(KeyError):
    def __str__(self):
        return f"no widget {self.args[0]!r}"


class DuplicateSkin(ValueError):
    def __str__(self):
        return f"a widget named {self.args[0]!r} exists already"


class SkinInUse(ValueError):
    """
    Service levels still show the skin, so it cannot be deleted.
    """

    def __str__(self):
        name, snippets = self.args
        return f"the widget {name!r} is used by the code snippet {', '.join(snippets)}"


class UnknownSnippet(KeyError):
    def __str__(self):
        return f"no code snippet {self.args[0]!r}"


class DuplicateSnippet(ValueError):
    def __str__(self):
        return f"a code snippet named {self.args[0]!r} exists already"


@dataclass(frozen=True)
class Skin:
    id: int
    name: str
    settings: dict


@dataclass(frozen=True)
class ServiceLevel:
    """
    One row of a snippet's service levels: a queue (C{queue_id}, with its
    current C{queue_name}) or a user (C{username}), and the skin shown.
    """

    queue_id: int | None
    queue_name: str | None
    username: str | None
    skin_id: int


@dataclass(frozen=True)
class Snippet:
    id: int
    key: str
    name: str
    widget_type: str
    no_javascript_html: str
    offline_html: str
    online_html: str
    levels: tuple
    """
    The L{ServiceLevel}s, first choice first.
    """


_SKIN_COLUMNS = "id, name, settings"
_SNIPPET_COLUMNS = (
    "id, public_key, name, widget_type, no_javascript_html, offline_html, online_html"
)


def _name_taken(problem, name):
    """
    Raise L{DuplicateSnippet} when C{problem} is about the snippet's name,
    not another constraint (the public key, the widget type).
    """
    if "snippets.name" in str(problem):
        raise DuplicateSnippet(name) from None


class Skins:
    def __init__(self, db):
        self._conn = db.conn

    def add(self, name, settings, now):
        try:
            cursor = self._conn.execute(
                "INSERT INTO skins (name, settings, created_at) VALUES (?, ?, ?)",
                (name, json.dumps(settings, sort_keys=True), now),
            )
        except sqlite3.IntegrityError:
            raise DuplicateSkin(name) from None
        return self.get(cursor.lastrowid)

    def get(self, skin_id):
        """
        The L{Skin} with id C{skin_id}, or L{UnknownSkin}.
        """
        row = self._conn.execute(
            f"SELECT {_SKIN_COLUMNS} FROM skins WHERE id = ?", (skin_id,)
        ).fetchone()
        if row is None:
            raise UnknownSkin(skin_id)
        return _skin(row)

    def all(self):
        """
        Every skin, by name.
        """
        rows = self._conn.execute(f"SELECT {_SKIN_COLUMNS} FROM skins ORDER BY name, id")
        return [_skin(row) for row in rows]

    def update(self, skin_id, name, settings):
        try:
            cursor = self._conn.execute(
                "UPDATE skins SET name = ?, settings = ? WHERE id = ?",
                (name, json.dumps(settings, sort_keys=True), skin_id),
            )
        except sqlite3.IntegrityError:
            raise DuplicateSkin(name) from None
        if cursor.rowcount == 0:
            raise UnknownSkin(skin_id)
        return self.get(skin_id)

    def remove(self, skin_id):
        skin = self.get(skin_id)
        users = snippets_with_levels(self._conn, "skin_id", skin_id)
        if users:
            raise SkinInUse(skin.name, users)
        self._conn.execute("DELETE FROM skins WHERE id = ?", (skin_id,))


LEVEL_COLUMNS = ("skin_id", "queue_id", "username")


def snippets_with_levels(conn, column, value):
    """
    The names of the snippets with a service level whose C{column} (one of
    L{LEVEL_COLUMNS}) is C{value}, in order.
    """
    if column not in LEVEL_COLUMNS:
        raise ValueError(f"service levels have no column {column!r}")
    rows = conn.execute(
        "SELECT DISTINCT snippets.name FROM service_levels"
        " JOIN snippets ON snippets.id = service_levels.snippet_id"
        f" WHERE service_levels.{column} = ? ORDER BY snippets.name",
        (value,),
    )
    return [name for (name,) in rows]


def _skin(row):
    skin_id, name, settings = row
    return Skin(skin_id, name, json.loads(settings))


class Snippets:
    def __init__(self, db):
        self._db = db
        self._conn = db.conn

    def serving(self, queue_id=None, username=None):
        """
        The names of the snippets with a service level for the queue
        C{queue_id} or the user C{username}: what deleting it changes.
        """
        if queue_id is not None:
            return snippets_with_levels(self._conn, "queue_id", queue_id)
        return snippets_with_levels(self._conn, "username", username)

    def add(self, key, name, widget_type, now):
        try:
            cursor = self._conn.execute(
                "INSERT INTO snippets (public_key, name, widget_type, created_at)"
                " VALUES (?, ?, ?, ?)",
                (key, name, widget_type, now),
            )
        except sqlite3.IntegrityError as problem:
            _name_taken(problem, name)
            raise
        return self.get(cursor.lastrowid)

    def get(self, snippet_id):
        """
        The L{Snippet} with id C{snippet_id}, or L{UnknownSnippet}.
        """
        return self._one("id", snippet_id)

    def by_key(self, key):
        """
        The L{Snippet} whose public key is C{key}, or L{UnknownSnippet}.
        """
        return self._one("public_key", key)

    def _one(self, column, value):
        row = self._conn.execute(
            f"SELECT {_SNIPPET_COLUMNS} FROM snippets WHERE {column} = ?", (value,)
        ).fetchone()
        if row is None:
            raise UnknownSnippet(value)
        return Snippet(*row, levels=self._levels(row[0]))

    def all(self):
        """
        Every snippet, by name.
        """
        rows = self._conn.execute(f"SELECT {_SNIPPET_COLUMNS} FROM snippets ORDER BY name, id")
        return [Snippet(*row, levels=self._levels(row[0])) for row in rows]

    def count(self):
        return self._conn.execute("SELECT count(*) FROM snippets").fetchone()[0]

    def _levels(self, snippet_id):
        rows = self._conn.execute(
            "SELECT service_levels.queue_id, queues.name, service_levels.username,"
            " service_levels.skin_id FROM service_levels"
            " LEFT JOIN queues ON queues.id = service_levels.queue_id"
            " WHERE service_levels.snippet_id = ? ORDER BY service_levels.position",
            (snippet_id,),
        )
        return tuple(ServiceLevel(*row) for row in rows)

    def save(self, snippet_id, name, widget_type, html, levels):
        """
        Change a snippet and replace its service levels, at once.

        @param html: the contingency options, a mapping with the keys
            C{no_javascript}, C{offline} and C{online}.
        @param levels: C{(queue_id, username, skin_id)} triples, one of the
            first two C{None}, in order.
        """
        with transaction(self._db):
            try:
                cursor = self._conn.execute(
                    "UPDATE snippets SET name = ?, widget_type = ?, no_javascript_html = ?,"
                    " offline_html = ?, online_html = ? WHERE id = ?",
                    (
                        name,
                        widget_type,
                        html["no_javascript"],
                        html["offline"],
                        html["online"],
                        snippet_id,
                    ),
                )
            except sqlite3.IntegrityError as problem:
                _name_taken(problem, name)
                raise
            if cursor.rowcount == 0:
                raise UnknownSnippet(snippet_id)
            self._conn.execute("DELETE FROM service_levels WHERE snippet_id = ?", (snippet_id,))
            self._conn.executemany(
                "INSERT INTO service_levels (snippet_id, position, queue_id, username, skin_id)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (snippet_id, position, queue_id, username, skin_id)
                    for position, (queue_id, username, skin_id) in enumerate(levels, start=1)
                ],
            )
        return self.get(snippet_id)

    def remove(self, snippet_id):
        cursor = self._conn.execute("DELETE FROM snippets WHERE id = ?", (snippet_id,))
        if cursor.rowcount == 0:
            raise UnknownSnippet(snippet_id)
