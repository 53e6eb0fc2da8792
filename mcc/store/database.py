# -*- test-case-name: tests.test_store -*-
"""
Opening the SQLite database that holds all of mcc's state.
"""

import sqlite3
from contextlib import contextmanager

import sqlite_utils

from mcc.store.schema import migrate, write_transaction


def open_database(path):
    """
    Open (creating if needed) and migrate the database at C{path}.

    C{":memory:"} gives a private in-memory database, for tests.  The
    connection is in autocommit mode; L{transaction} groups statements.
    """
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        # With WAL, NORMAL still survives a crash of the process; only a
        # power loss may lose the latest transactions.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 5000")
    db = sqlite_utils.Database(conn)
    try:
        migrate(db)
    except BaseException:
        conn.close()
        raise
    return db


@contextmanager
def transaction(db):
    """
    Run the statements of the C{with} block as one transaction.
    """
    with write_transaction(db.conn):
        yield db
