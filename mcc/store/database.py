# -*- test-case-name: tests.test_store,tests.test_group_commit -*-
"""
Opening the SQLite database that holds all of mcc's state.
"""

import os
import sqlite3
import threading
from contextlib import contextmanager

import sqlite_utils
from twisted.logger import Logger

from mcc.store.schema import migrate, write_transaction

log = Logger()


WAL_RESTART_BYTES = 64 * 1024 * 1024
"""
The size past which a background checkpoint also makes the WAL start
again from its beginning, and to which its file is then cut back.
"""

RESTART_WAIT = 0.02
"""
Seconds a checkpoint that restarts the WAL waits, at most, for the
service's current write transaction, then for readers of older pages:
while it waits for readers it holds the write lock, so that this is also
about the longest a commit of the service can wait for it.
"""


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
            # Once a checkpoint has restarted the WAL, the next commit
            # truncates its file to this size.
            conn.execute(f"PRAGMA journal_size_limit = {WAL_RESTART_BYTES}")
    db = sqlite_utils.Database(conn)
    try:
        migrate(db)
    except BaseException:
        conn.close()
        raise
    return db

CATCH_UP_PASSES = 4
"""
PASSIVE checkpoints, at most, after the first one and before a RESTART:
each copies what was written while the one before it copied.
"""

CAUGHT_UP_PAGES = 64
"""
A pass that copied this many pages or fewer is the last before RESTART.
"""


class WALCheckpointer:
    """
    Calling it copies what the WAL of the database at C{path} holds into the
    database file, through a connection of its own, opened on the first
    call and kept: opening one reads the whole schema again, several times
    what a second's checkpoint costs.  Calls may come from any thread, one
    at a time.  PASSIVE waits for no reader and no writer: pages still in
    use are copied next time.  Durability does not depend on it: a commit
    is in the WAL before it returns.

    SQLite starts writing the WAL from its beginning again only when a
    transaction begins with every page of the WAL copied; under steady
    writes some always arrive while a checkpoint copies, and the WAL file
    would grow for as long as they last (about 35 MB a second with 1,000
    XMPP messages a second).  Once the WAL is larger than C{restart_bytes},
    the PASSIVE checkpoint is followed by a RESTART one, which takes the
    write lock (waiting at most L{RESTART_WAIT}) to copy the few pages
    written meanwhile and have the next transaction start the WAL again.
    A RESTART that cannot get its locks in time is tried again next call.

    A call returns the number of pages in the WAL and how many of them are
    now in the database file.

    @param connect: L{sqlite3.connect}, or what stands for it in tests.
    @ivar restarts: how many checkpoints restarted the WAL.
    """

    def __init__(self, path, restart_bytes=WAL_RESTART_BYTES, connect=sqlite3.connect):
        self.path = path
        self.restart_bytes = restart_bytes
        self.restarts = 0
        self._connect = connect
        self._conn = None

    def __call__(self):
        if self._conn is None:
            self._conn = self._connect(
                str(self.path), isolation_level=None, check_same_thread=False,
                timeout=RESTART_WAIT,
            )
            self._page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        _, pages, copied = self._passive()
        if pages * self._page_size > self.restart_bytes:
            # What was written while the checkpoint copied is copied in
            # shorter and shorter passes, so that the write lock is held
            # for the last few pages only.
            for _ in range(CATCH_UP_PASSES):
                before = copied
                _, pages, copied = self._passive()
                if copied - before <= CAUGHT_UP_PAGES:
                    break
            blocked, pages, copied = self._conn.execute(
                "PRAGMA wal_checkpoint(RESTART)"
            ).fetchone()
            if not blocked:
                self.restarts += 1
        return pages, copied

    def _passive(self):
        return self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def unbatched():
    """
    A writer's C{begin} with no L{GroupCommit}: each write commits alone.
    """


class GroupCommit:
    """
    The chat path's writes of one reactor turn in one transaction,
    committed once the turn's reads have been handled, and what
    acknowledges them held until then.

    A commit costs about what the pages it changes cost, and the events of
    a busy turn share pages (the tables' last pages, the hour's totals), so
    the busier the service, the more each commit carries.

    The store's writers on the chat path call L{begin} before they write;
    any other write of the same turn joins the transaction.  C{call_soon}
    runs a function once the reactor has handled what it is handling (the
    reactor's C{callLater(0, f)}: before its next poll, and so before
    Twisted writes to a socket it was not already writing to).  What must
    not leave before the commit (an answer that says an event is stored)
    waits in L{after_commit}, in order; a writer that cannot wait calls
    L{commit} at once.

    A commit that fails rolls the turn's writes back: what waited for it
    does not run, and C{on_failure} is called with each of them instead,
    so that their connections close rather than acknowledge what was lost.

    @ivar pending: whether writes of this turn are not committed yet.
    """

    def __init__(self, conn, call_soon, on_failure=None):
        self._conn = conn
        self._call_soon = call_soon
        self._on_failure = on_failure
        self._waiting = []
        self._scheduled = False
        self.pending = False

    def begin(self):
        """
        Open the turn's transaction unless it is open.
        """
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
        self.pending = True
        if not self._scheduled:
            self._scheduled = True
            self._call_soon(self._turn_ended)

    def after_commit(self, f, *args):
        """
        Call C{f(*args)} once the turn's writes are committed, at once when
        none waits.
        """
        if self.pending:
            self._waiting.append((f, args))
        else:
            f(*args)

    def _turn_ended(self):
        self._scheduled = False
        self.commit()

    def commit(self):
        """
        Commit what was written, then run what waited for it.
        """
        if not self.pending:
            return
        self.pending = False
        waiting, self._waiting = self._waiting, []
        try:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")
        except sqlite3.Error:
            log.failure("A turn's writes could not be committed; they are rolled back")
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if self._on_failure is not None:
                for f, args in waiting:
                    self._on_failure(f, *args)
            return
        for f, args in waiting:
            try:
                f(*args)
            except Exception:
                log.failure("What waited for a commit failed")


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
