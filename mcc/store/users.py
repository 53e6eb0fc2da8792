# -*- test-case-name: tests.test_store -*-
"""
Accounts: every mcc user is an XMPP account and may be an administrator.
"""

import functools
import sqlite3
from dataclasses import dataclass

from twisted.words.protocols.jabber.xmpp_stringprep import nodeprep

from mcc.credentials import Credentials

MAX_USERNAME_BYTES = 1023
GUEST_PREFIX = "guest."
"""
Names with this prefix stand for visitors' chats, so no account may have one.
"""


class UsernameError(ValueError):
    """
    The name cannot be the local part of a JID.
    """


class UnknownUser(KeyError):
    """
    No account has that name.
    """

    def __str__(self):
        return f"no user named {self.args[0]!r}"


class DuplicateUser(ValueError):
    """
    An account with that name exists already.
    """

    def __str__(self):
        return f"a user named {self.args[0]!r} exists already"


PREPARED_CACHE_SIZE = 4096
"""
Names recently prepared: a login looks its account up three times, and
nodeprep (stringprep in pure Python) is most of what a lookup costs.  The
cache is bounded, so names a client makes up cannot grow it; a name that
cannot be prepared raises again, uncached.
"""

_nodeprep = functools.lru_cache(maxsize=PREPARED_CACHE_SIZE)(nodeprep.prepare)


def normalize_username(name):
    """
    The canonical (nodeprep'd) form of C{name}, or L{UsernameError}.
    """
    if not name:
        raise UsernameError("a username cannot be empty")
    try:
        prepared = _nodeprep(name)
    except UnicodeError:
        raise UsernameError(
            f"{name!r} cannot be an XMPP username: no spaces, and none of "
            "\" & ' / : < > @"
        ) from None
    if not prepared:
        raise UsernameError(f"{name!r} cannot be an XMPP username: it is empty once prepared")
    if len(prepared.encode("utf-8")) > MAX_USERNAME_BYTES:
        shown = name if len(name) <= 40 else f"{name[:40]}…"
        raise UsernameError(
            f"{shown!r} cannot be an XMPP username: it is longer than {MAX_USERNAME_BYTES} bytes"
        )
    if prepared.startswith(GUEST_PREFIX):
        raise UsernameError(f"{name!r}: names starting with {GUEST_PREFIX!r} are kept for visitors")
    return prepared


def _existing_name(name):
    """
    The stored form of C{name}, so that lookups match what L{Users.add}
    stored; a name no account can have is unknown.
    """
    try:
        return normalize_username(name)
    except UsernameError:
        raise UnknownUser(name) from None


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    email: str
    is_admin: bool
    disabled: bool
    credentials: Credentials


_CREDENTIAL_COLUMNS = (
    "salt",
    "iterations",
    "stored_key_sha1",
    "server_key_sha1",
    "stored_key_sha256",
    "server_key_sha256",
)
_COLUMNS = ("username", "display_name", "email", "is_admin", "disabled") + _CREDENTIAL_COLUMNS


def _credential_values(credentials):
    return {column: getattr(credentials, column) for column in _CREDENTIAL_COLUMNS}


def _user_from_row(row):
    values = dict(zip(_COLUMNS, row))
    return User(
        username=values["username"],
        display_name=values["display_name"],
        email=values["email"],
        is_admin=bool(values["is_admin"]),
        disabled=bool(values["disabled"]),
        credentials=Credentials(**{c: values[c] for c in _CREDENTIAL_COLUMNS}),
    )


class Users:
    def __init__(self, db):
        self._conn = db.conn

    def add(self, username, password, now, is_admin=False, display_name="", email=""):
        username = normalize_username(username)
        values = _credential_values(Credentials.from_password(password))
        values.update(
            username=username,
            display_name=display_name,
            email=email,
            is_admin=int(is_admin),
            created_at=now,
        )
        columns = ", ".join(values)
        placeholders = ", ".join(f":{name}" for name in values)
        try:
            self._conn.execute(
                f"INSERT INTO users ({columns}) VALUES ({placeholders})", values
            )
        except sqlite3.IntegrityError:
            raise DuplicateUser(username) from None
        return self.get(username)

    def get(self, username):
        """
        The L{User} named C{username}, or L{UnknownUser}.
        """
        row = self._conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM users WHERE username = ?",
            (_existing_name(username),),
        ).fetchone()
        if row is None:
            raise UnknownUser(username)
        return _user_from_row(row)

    def find(self, username):
        """
        The L{User} named C{username}, or C{None}.
        """
        try:
            return self.get(username)
        except UnknownUser:
            return None

    def all(self):
        rows = self._conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM users ORDER BY username"
        )
        return [_user_from_row(row) for row in rows]

    def count(self):
        return self._conn.execute("SELECT count(*) FROM users").fetchone()[0]

    def set_password(self, username, password):
        values = _credential_values(Credentials.from_password(password))
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        self._update(username, assignments, values)

    def set_disabled(self, username, disabled):
        self._update(username, "disabled = :disabled", {"disabled": int(disabled)})

    def set_profile(self, username, display_name, email, is_admin):
        self._update(
            username,
            "display_name = :display_name, email = :email, is_admin = :is_admin",
            {"display_name": display_name, "email": email, "is_admin": int(is_admin)},
        )

    def _update(self, username, assignments, values):
        cursor = self._conn.execute(
            f"UPDATE users SET {assignments} WHERE username = :username",
            dict(values, username=_existing_name(username)),
        )
        if cursor.rowcount == 0:
            raise UnknownUser(username)

    def remove(self, username):
        cursor = self._conn.execute(
            "DELETE FROM users WHERE username = ?", (_existing_name(username),)
        )
        if cursor.rowcount == 0:
            raise UnknownUser(username)
