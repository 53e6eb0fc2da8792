# -*- test-case-name: tests.test_store -*-
"""
Opening the SQLite database that holds all of mcc's state.
"""

import os
import sqlite3
import threading
from contextlib import contextmanager

import sqlite_utils

from mcc.store.schema import migrate, write_transaction


def open_database(path, background_checkpoints=False):
    """
    Open (creating if needed) and migrate the database at C{path}.

    C{":memory:"} gives a private in-memory database, for tests.  The
    connection is in autocommit mode; L{transaction} groups statements.

    @param background_checkpoints: whether the WAL is copied back into the
        database by L{checkpoint}, called in another thread, rather than
        by SQLite inside whichever commit passes 1,000 pages: that commit
        would stop the service's thread for tens of milliseconds.
    """
    if str(path) != ":memory:":
        _create_private(path)
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        # With WAL, NORMAL still survives a crash of the process; only a
        # power loss may lose the latest transactions.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 5000")
        if background_checkpoints:
            conn.execute("PRAGMA wal_autocheckpoint = 0")
    db = sqlite_utils.Database(conn)
    try:
        migrate(db)
    except BaseException:
        conn.close()
        raise
    return db


class WALCheckpointer:
    """
    Calling it copies what the WAL of the database at C{path} holds into the
    database file, through a connection of its own, opened on the first
    call and kept: opening one reads the whole schema again, several times
    what a second's checkpoint costs.  Calls may come from any thread, one
    at a time.  PASSIVE waits for no reader and no writer: pages still in
    use are copied next time.  Durability does not depend on it: a commit
    is in the WAL before it returns.

    A call returns the number of pages in the WAL and how many of them are
    now in the database file.
    """

    def __init__(self, path):
        self.path = path
        self._conn = None

    def __call__(self):
        if self._conn is None:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        _, pages, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return pages, copied

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _create_private(path):
    """
    Create the database file 0600 unless it exists: it holds SCRAM keys and
    visitors' messages.  SQLite gives its WAL and SHM files the mode of the
    database file.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


@contextmanager
def transaction(db):
    """
    Run the statements of the C{with} block as one transaction.
    """
    with write_transaction(db.conn):
        yield db


class ReadersPerThread:
    """
    One read-only connection to the database at C{path} per thread, wrapped
    by C{reader} (called with the connection), so that long reads run in the
    reactor's thread pool while the reactor's own connection goes on
    writing (WAL lets readers and the writer overlap).  Calling it in a
    thread gives that thread's reader.
    """

    def __init__(self, path, reader):
        self._path = path
        self._reader = reader
        self._local = threading.local()

    def __call__(self):
        reader = getattr(self._local, "reader", None)
        if reader is None:
            conn = sqlite3.connect(
                f"file:{self._path}?mode=ro", uri=True, isolation_level=None, check_same_thread=True
            )
            conn.execute("PRAGMA busy_timeout = 5000")
            reader = self._local.reader = self._reader(conn)
        return reader
