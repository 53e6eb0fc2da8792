"""
Tests for L{mcc.store}: migrations, accounts, rosters, offline messages and
vCards, on :memory: databases and on files.
"""

import sqlite3
import threading
from types import SimpleNamespace

import pytest
import sqlite_utils
from twisted.internet.defer import fail, succeed
from twisted.internet.task import Clock

from mcc.credentials import PasswordError
from mcc.store import (
    Checkpoints,
    ChatState,
    DuplicateUser,
    RosterItem,
    Store,
    UnknownUser,
    UsernameError,
    schema,
)
from mcc.store.database import (
    CATCH_UP_PASSES,
    RESTART_WAIT,
    WAL_RESTART_BYTES,
    WALCheckpointer,
    open_database,
)
from mcc.store.users import normalize_username


@pytest.fixture
def store():
    store = Store.open(":memory:")
    yield store
    store.close()


def version_of(db):
    return db.conn.execute("SELECT version FROM schema_version").fetchone()[0]


def tables_of(db):
    rows = db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows}


# Migrations


def test_memory_database_gets_every_step():
    db = open_database(":memory:")
    try:
        assert version_of(db) == len(schema.MIGRATIONS)
        expected = {"users", "roster_items", "subscription_requests", "offline_messages", "vcards"}
        assert expected <= tables_of(db)
    finally:
        db.conn.close()


def test_file_database_records_version_and_uses_wal(tmp_path):
    path = tmp_path / "mcc.sqlite"
    db = open_database(path)
    try:
        assert version_of(db) == len(schema.MIGRATIONS)
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        db.conn.close()


def test_reopening_applies_nothing_and_keeps_data(tmp_path, monkeypatch):
    # A step that would leave one more row each time it ran.
    counted = "CREATE TABLE IF NOT EXISTS runs (x INTEGER); INSERT INTO runs VALUES (1);"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + [counted])
    path = tmp_path / "mcc.sqlite"
    first = Store.open(path)
    first.users.add("alice", "pw", now=1)
    first.close()

    again = Store.open(path)
    try:
        assert version_of(again.db) == len(schema.MIGRATIONS)
        assert again.db.conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        assert again.users.get("alice").username == "alice"
    finally:
        again.close()


def test_new_step_is_applied_to_an_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "mcc.sqlite"
    Store.open(path).close()
    monkeypatch.setattr(
        schema, "MIGRATIONS", schema.MIGRATIONS + ["CREATE TABLE later (x INTEGER);"]
    )
    db = open_database(path)
    try:
        assert version_of(db) == len(schema.MIGRATIONS)
        assert "later" in tables_of(db)
    finally:
        db.conn.close()


def test_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "mcc.sqlite"
    db = open_database(path)
    db.conn.execute("UPDATE schema_version SET version = ?", (len(schema.MIGRATIONS) + 1,))
    db.conn.close()
    with pytest.raises(RuntimeError, match="newer than this mcc"):
        open_database(path)
    check = sqlite3.connect(path)
    try:
        assert check.execute("SELECT version FROM schema_version").fetchone()[0] == len(
            schema.MIGRATIONS
        ) + 1
    finally:
        check.close()


def test_failing_step_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "mcc.sqlite"
    store = Store.open(path)
    store.users.add("alice", "pw", now=1)
    store.close()
    broken = "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + [broken])

    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        open_database(path)

    monkeypatch.undo()
    db = open_database(path)
    try:
        assert version_of(db) == len(schema.MIGRATIONS)
        assert "half_done" not in tables_of(db)
        assert Store(db).users.get("alice").username == "alice"
    finally:
        db.conn.close()


def test_failing_first_step_creates_no_table(monkeypatch):
    monkeypatch.setattr(
        schema, "MIGRATIONS", ["CREATE TABLE a (x INTEGER); CREATE TABLE a (x INTEGER);"]
    )
    db = sqlite_utils.Database(sqlite3.connect(":memory:", isolation_level=None))
    try:
        with pytest.raises(sqlite3.OperationalError, match="already exists"):
            schema.migrate(db)
        assert not db.conn.in_transaction
        assert tables_of(db) == {"schema_version"}
        assert version_of(db) == 0
    finally:
        db.conn.close()


class RivalMigratesMeanwhile:
    """
    A connection to a file that another process migrates after this one
    has read the schema version and before its next transaction begins.
    """

    def __init__(self, conn, rival):
        self._conn = conn
        self._rival = rival
        self._version_read = False
        self.rival_ran = False

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def __enter__(self):
        return self._conn.__enter__()

    def __exit__(self, *exc_info):
        return self._conn.__exit__(*exc_info)

    def execute(self, sql, *parameters):
        self._before(sql)
        return self._conn.execute(sql, *parameters)

    def executescript(self, script):
        self._before(script)
        return self._conn.executescript(script)

    def _before(self, sql):
        sql = sql.lstrip().upper()
        if sql.startswith("SELECT") and "SCHEMA_VERSION" in sql:
            self._version_read = True
        elif sql.startswith("BEGIN") and self._version_read and not self.rival_ran:
            self.rival_ran = True
            self._rival()


def test_a_step_another_process_applied_meanwhile_is_not_applied_again(tmp_path):
    # The mcc command and the server starting on one fresh data dir.
    path = tmp_path / "mcc.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        meanwhile = RivalMigratesMeanwhile(conn, lambda: open_database(path).conn.close())
        assert schema.migrate(SimpleNamespace(conn=meanwhile)) == len(schema.MIGRATIONS)
        assert meanwhile.rival_ran
        assert version_of(SimpleNamespace(conn=conn)) == len(schema.MIGRATIONS)
    finally:
        conn.close()


# Checkpoints


def write_pages(store, count):
    """
    Commit C{count} transactions of about one page each.
    """
    store.db.conn.execute("CREATE TABLE IF NOT EXISTS scratch (data BLOB)")
    for _ in range(count):
        store.db.conn.execute("INSERT INTO scratch VALUES (?)", (b"x" * 3000,))


def in_thread(function, *args):
    """
    Run C{function(*args)} in another thread and return its result, with
    the thread's identity.
    """
    outcome = {}

    def run():
        outcome["thread"] = threading.get_ident()
        outcome["result"] = function(*args)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return outcome["thread"], outcome["result"]


def test_by_default_sqlite_checkpoints_inside_commits(tmp_path):
    store = Store.open(tmp_path / "mcc.sqlite")
    try:
        assert store.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    finally:
        store.close()


def test_background_checkpoints_leave_the_wal_to_another_thread(tmp_path):
    path = tmp_path / "mcc.sqlite"
    store = Store.open(path, background_checkpoints=True)
    try:
        assert store.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        write_pages(store, 1200)
        checkpointer = WALCheckpointer(path)
        thread, (pages, copied) = in_thread(checkpointer)
        # No commit copied the WAL back, past SQLite's 1,000 pages: the
        # thread's checkpoint did it all.
        assert thread != threading.get_ident()
        assert pages == copied > 1200
        # The same connection checkpoints again, from another thread too.
        write_pages(store, 10)
        _, (pages, copied) = in_thread(checkpointer)
        assert pages == copied > 0
        checkpointer.close()
        assert store.db.execute("SELECT count(*) FROM scratch").fetchone()[0] == 1210
    finally:
        store.close()
    again = Store.open(path)
    try:
        assert again.db.execute("SELECT count(*) FROM scratch").fetchone()[0] == 1210
    finally:
        again.close()


class ScriptedCheckpoints:
    """
    A connection whose C{wal_checkpoint} pragmas answer from C{answers}, a
    dict of lists of rows by mode, recording the modes asked in C{modes}.
    """

    def __init__(self, answers, page_size=4096):
        self.answers = answers
        self.page_size = page_size
        self.modes = []

    def __call__(self, path, **options):
        self.options = options
        return self

    def execute(self, sql):
        if sql == "PRAGMA page_size":
            return SimpleNamespace(fetchone=lambda: (self.page_size,))
        mode = sql.removeprefix("PRAGMA wal_checkpoint(").removesuffix(")")
        self.modes.append(mode)
        row = self.answers[mode].pop(0)
        return SimpleNamespace(fetchone=lambda: row)


def test_a_small_wal_gets_one_passive_checkpoint():
    connection = ScriptedCheckpoints({"PASSIVE": [(0, 100, 100)]})
    checkpointer = WALCheckpointer("db", restart_bytes=200 * 4096, connect=connection)
    assert checkpointer() == (100, 100)
    assert connection.modes == ["PASSIVE"]
    assert checkpointer.restarts == 0
    # It waits for locks only as long as a RESTART may make a commit wait.
    assert connection.options["timeout"] == RESTART_WAIT


def test_a_large_wal_is_caught_up_then_restarted():
    # Each pass copies what was written during the one before: 300, then
    # 80, then 10 pages, few enough to take the write lock for.
    connection = ScriptedCheckpoints({
        "PASSIVE": [(0, 5000, 4900), (0, 5300, 5200), (0, 5300, 5280), (0, 5310, 5290)],
        "RESTART": [(0, 5310, 5310)],
    })
    checkpointer = WALCheckpointer("db", restart_bytes=4000 * 4096, connect=connection)
    assert checkpointer() == (5310, 5310)
    assert connection.modes == ["PASSIVE"] * 4 + ["RESTART"]
    assert checkpointer.restarts == 1


def test_catching_up_stops_after_its_passes_and_a_blocked_restart_is_tried_again():
    connection = ScriptedCheckpoints({
        "PASSIVE": [(0, 5000 + 1000 * n, 4000 + 1000 * n) for n in range(CATCH_UP_PASSES + 1)]
        + [(0, 9000, 8000)] * (CATCH_UP_PASSES + 1),
        "RESTART": [(1, 9000, 8500), (0, 9000, 9000)],
    })
    checkpointer = WALCheckpointer("db", restart_bytes=4000 * 4096, connect=connection)
    checkpointer()
    assert connection.modes == ["PASSIVE"] * (CATCH_UP_PASSES + 1) + ["RESTART"]
    # Readers or the service's transaction held it past RESTART_WAIT.
    assert checkpointer.restarts == 0
    checkpointer()
    assert connection.modes.count("RESTART") == 2
    assert checkpointer.restarts == 1


def test_a_restarted_wal_is_cut_back_at_the_next_commit(tmp_path):
    path = tmp_path / "mcc.sqlite"
    store = Store.open(path, background_checkpoints=True)
    limit = store.db.conn.execute("PRAGMA journal_size_limit").fetchone()[0]
    assert limit == WAL_RESTART_BYTES
    store.db.conn.execute(f"PRAGMA journal_size_limit = {100 * 4096}")
    checkpointer = WALCheckpointer(path, restart_bytes=100 * 4096)
    try:
        write_pages(store, 400)
        wal = path.with_name(path.name + "-wal")
        grown = wal.stat().st_size
        assert grown > 400 * 4096
        pages, copied = checkpointer()
        assert pages == copied and checkpointer.restarts == 1
        write_pages(store, 1)
        assert wal.stat().st_size <= 100 * 4096 < grown
        assert store.db.execute("SELECT count(*) FROM scratch").fetchone()[0] == 401
    finally:
        checkpointer.close()
        store.close()


def test_checkpoints_run_through_the_runner_only_after_writes(tmp_path):
    path = tmp_path / "mcc.sqlite"
    store = Store.open(path, background_checkpoints=True)
    clock, calls = Clock(), []

    def runner(function, *args):
        calls.append((function, args))
        return succeed(function(*args))

    checkpoints = Checkpoints(path, store.changes, runner, clock, interval=1.0)
    checkpointer = checkpoints.checkpointer
    try:
        checkpoints.startService()
        assert calls == [(checkpointer, ())]  # What start-up wrote.
        clock.advance(1)
        assert len(calls) == 1
        write_pages(store, 3)
        clock.advance(1)
        assert calls == [(checkpointer, ())] * 2
        clock.advance(1)
        assert len(calls) == 2
        # One connection serves every checkpoint, closed with the service.
        assert checkpointer._conn is not None
        checkpoints.stopService()
        assert checkpointer._conn is None
    finally:
        store.close()


def test_a_failed_checkpoint_is_logged_and_the_next_one_runs(tmp_path):
    path = tmp_path / "mcc.sqlite"
    store = Store.open(path, background_checkpoints=True)
    clock, calls = Clock(), []

    def runner(function, *args):
        calls.append(function)
        return fail(sqlite3.OperationalError("disk I/O error"))

    checkpoints = Checkpoints(path, store.changes, runner, clock, interval=1.0)
    try:
        checkpoints.startService()
        write_pages(store, 1)
        clock.advance(1)
        assert calls == [checkpoints.checkpointer] * 2
        assert checkpoints.running
        checkpoints.stopService()
    finally:
        store.close()


# Users


def test_add_and_get(store):
    user = store.users.add(
        "alice", "wonderland", now=5, is_admin=True, display_name="Alice", email="a@example.org"
    )
    assert user == store.users.get("alice")
    assert (user.username, user.display_name, user.email) == ("alice", "Alice", "a@example.org")
    assert user.is_admin is True
    assert user.disabled is False
    assert user.credentials.verify("wonderland")
    assert not user.credentials.verify("Wonderland")


def test_passwords_are_not_stored(store):
    store.users.add("alice", "very-secret-words", now=0)
    dump = "\n".join(store.db.conn.iterdump())
    assert "very-secret-words" not in dump


def test_names_are_normalized(store):
    user = store.users.add("Alice", "pw", now=0)
    assert user.username == "alice"
    assert store.users.get("ALICE").username == "alice"
    assert store.users.find("aLiCe").username == "alice"
    assert [u.username for u in store.users.all()] == ["alice"]


def test_normalize_username():
    assert normalize_username("Ærøskøbing") == "ærøskøbing"
    for bad in ("", "a b", "a@b", "a/b", "a:b", "a<b", "x" * 1024):
        with pytest.raises(UsernameError):
            normalize_username(bad)


def test_a_name_is_prepared_once_then_remembered_and_a_bad_one_never():
    from mcc.store import users

    users._nodeprep.cache_clear()
    for _ in range(3):
        assert normalize_username("Zoë") == "zoë"
        with pytest.raises(UsernameError):
            normalize_username("a b")
    info = users._nodeprep.cache_info()
    assert (info.hits, info.misses, info.currsize) == (2, 4, 1)
    assert info.maxsize == users.PREPARED_CACHE_SIZE


def test_refused_names_are_explained_briefly():
    with pytest.raises(UsernameError) as refused:
        normalize_username("x" * 1100)
    assert str(refused.value) == f"'{'x' * 40}…' cannot be an XMPP username: it is longer than 1023 bytes"
    with pytest.raises(UsernameError, match="it is empty once prepared"):
        normalize_username("\u00ad")


@pytest.mark.parametrize(
    "name", ["", "with space", "at@sign", "quote'", "x" * 1024, "guest.abc", "Guest.x"]
)
def test_invalid_names_are_refused(store, name):
    with pytest.raises(UsernameError):
        store.users.add(name, "pw", now=0)
    assert store.users.count() == 0


def test_password_saslprep_refuses_is_refused(store):
    with pytest.raises(PasswordError, match="control characters"):
        store.users.add("bob", "a\x07b", now=0)
    assert store.users.count() == 0
    store.users.add("bob", "pw", now=0)
    with pytest.raises(PasswordError):
        store.users.set_password("bob", "a\x07b")
    assert store.users.get("bob").credentials.verify("pw")


def test_duplicate_name_is_refused_whatever_its_case(store):
    store.users.add("alice", "first", now=0)
    with pytest.raises(DuplicateUser, match="'alice' exists already"):
        store.users.add("ALICE", "second", now=0)
    assert store.users.count() == 1
    assert store.users.get("alice").credentials.verify("first")


def test_unknown_user(store):
    with pytest.raises(UnknownUser, match="no user named 'nobody'"):
        store.users.get("nobody")
    assert store.users.find("nobody") is None
    assert store.users.find("not a name") is None
    for change in (
        lambda: store.users.set_password("nobody", "pw"),
        lambda: store.users.set_disabled("nobody", True),
        lambda: store.users.remove("nobody"),
    ):
        with pytest.raises(UnknownUser):
            change()


def test_all_and_count(store):
    assert store.users.all() == []
    assert store.users.count() == 0
    for name in ("carol", "alice", "bob"):
        store.users.add(name, "pw", now=0)
    assert [u.username for u in store.users.all()] == ["alice", "bob", "carol"]
    assert store.users.count() == 3


def test_set_password_replaces_the_keys(store):
    before = store.users.add("alice", "old", now=0).credentials
    store.users.set_password("alice", "new")
    after = store.users.get("alice").credentials
    assert after.verify("new") and not after.verify("old")
    assert after.salt != before.salt


def test_set_disabled(store):
    store.users.add("alice", "pw", now=0)
    store.users.set_disabled("alice", True)
    assert store.users.get("alice").disabled is True
    store.users.set_disabled("alice", False)
    assert store.users.get("alice").disabled is False


def test_set_profile(store):
    store.users.add("alice", "pw", now=0, is_admin=True)
    store.users.set_profile("Alice", "Alice A.", "alice@example.org", False)
    user = store.users.get("alice")
    assert (user.display_name, user.email) == ("Alice A.", "alice@example.org")
    assert user.is_admin is False
    assert user.credentials.verify("pw")
    with pytest.raises(UnknownUser):
        store.users.set_profile("nobody", "", "", False)


def test_remove(store):
    store.users.add("alice", "pw", now=0)
    store.users.add("bob", "pw", now=0)
    store.users.remove("alice")
    assert store.users.find("alice") is None
    assert [u.username for u in store.users.all()] == ["bob"]


def test_removing_a_user_removes_what_it_owned(store):
    store.users.add("alice", "pw", now=0)
    store.users.add("bob", "pw", now=0)
    for owner in ("alice", "bob"):
        store.rosters.put(owner, RosterItem("carol@example.org"))
        store.rosters.add_request(owner, "dave@example.org", "<presence/>")
        store.offline.add(owner, "<message/>", now=1)
        store.vcards.put(owner, "<vCard xmlns='vcard-temp'/>")

    store.users.remove("alice")

    def rows(table):
        return store.db.conn.execute(f"SELECT owner FROM {table}").fetchall()

    for table in ("roster_items", "subscription_requests", "offline_messages", "vcards"):
        assert rows(table) == [("bob",)], table


# Rosters


def test_roster_items_are_sorted_by_contact_and_kept_whole(store):
    store.users.add("alice", "pw", now=0)
    store.rosters.put("alice", RosterItem("zed@example.org"))
    item = RosterItem("bob@example.org", "Bob", "both", True, ("Friends", "Work"))
    store.rosters.put("alice", item)
    assert store.rosters.items("alice") == [item, RosterItem("zed@example.org")]
    assert store.rosters.get("alice", "bob@example.org") == item
    assert store.rosters.get("alice", "nobody@example.org") is None
    assert store.rosters.items("nobody") == []


def test_roster_put_updates_the_existing_item(store):
    store.users.add("alice", "pw", now=0)
    store.rosters.put("alice", RosterItem("bob@example.org", "Bob", ask=True))
    store.rosters.put("alice", RosterItem("bob@example.org", "Robert", "to", False, ("A",)))
    assert store.rosters.items("alice") == [
        RosterItem("bob@example.org", "Robert", "to", False, ("A",))
    ]


def test_roster_refuses_an_unknown_subscription_state(store):
    store.users.add("alice", "pw", now=0)
    with pytest.raises(sqlite3.IntegrityError):
        store.rosters.put("alice", RosterItem("bob@example.org", subscription="maybe"))


def test_roster_of_an_unknown_owner_is_refused(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.rosters.put("nobody", RosterItem("bob@example.org"))


def test_roster_remove(store):
    store.users.add("alice", "pw", now=0)
    store.rosters.put("alice", RosterItem("bob@example.org"))
    store.rosters.put("alice", RosterItem("carol@example.org"))
    store.rosters.remove("alice", "bob@example.org")
    store.rosters.remove("alice", "nobody@example.org")
    assert store.rosters.items("alice") == [RosterItem("carol@example.org")]


def test_subscription_requests(store):
    store.users.add("alice", "pw", now=0)
    assert store.rosters.requests("alice") == []
    store.rosters.add_request("alice", "zed@example.org", "<presence from='zed'/>")
    store.rosters.add_request("alice", "bob@example.org", "<presence from='bob'/>")
    store.rosters.add_request("alice", "bob@example.org", "<presence from='bob' again=''/>")
    assert store.rosters.requests("alice") == [
        "<presence from='bob' again=''/>",
        "<presence from='zed'/>",
    ]
    assert store.rosters.has_request("alice", "bob@example.org")
    store.rosters.remove_request("alice", "bob@example.org")
    assert not store.rosters.has_request("alice", "bob@example.org")
    assert store.rosters.requests("alice") == ["<presence from='zed'/>"]


# Offline messages and vCards


def test_offline_take_returns_oldest_first_and_empties(store):
    store.users.add("alice", "pw", now=0)
    store.users.add("bob", "pw", now=0)
    store.offline.add("alice", "<message>1</message>", now=30)
    store.offline.add("bob", "<message>b</message>", now=31)
    store.offline.add("alice", "<message>2</message>", now=20)
    store.offline.add("alice", "<message>3</message>", now=40)
    assert store.offline.count("alice") == 3
    assert store.offline.take("alice") == [
        ("<message>1</message>", 30),
        ("<message>2</message>", 20),
        ("<message>3</message>", 40),
    ]
    assert store.offline.take("alice") == []
    assert store.offline.count("alice") == 0
    assert store.offline.count("bob") == 1


def test_offline_size_counts_bytes_of_what_waits(store):
    store.users.add("alice", "pw", now=0)
    assert store.offline.size("alice") == 0
    store.offline.add("alice", "<message>é</message>", now=1)
    store.offline.add("alice", "<message/>", now=2)
    assert store.offline.size("alice") == len("<message>é</message><message/>".encode())
    store.offline.take("alice")
    assert store.offline.size("alice") == 0


def test_vcards(store):
    store.users.add("alice", "pw", now=0)
    assert store.vcards.get("alice") is None
    store.vcards.put("alice", "<vCard xmlns='vcard-temp'><FN>A</FN></vCard>")
    store.vcards.put("alice", "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>")
    assert store.vcards.get("alice") == "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>"
    assert store.vcards.get("bob") is None


# Transactions


def test_transaction_commits_together(store):
    with store.transaction():
        store.users.add("alice", "pw", now=0)
        store.users.add("bob", "pw", now=0)
    assert store.users.count() == 2


def test_transaction_rolls_back_on_error(store):
    with pytest.raises(DuplicateUser):
        with store.transaction():
            store.users.add("alice", "pw", now=0)
            store.users.add("alice", "pw", now=0)
    assert store.users.count() == 0
    assert not store.db.conn.in_transaction


def _chat(store, token, state):
    return store.chats.create(
        token=token, guest=f"guest-{token}", visitor_name="", visitor_email="", question="",
        ip="", referrer="", user_agent="", protocol="web", state=state, created_at=0,
    )


def test_the_schema_takes_every_chat_state_and_no_other(store):
    states = (ChatState.WAITING, ChatState.ACTIVE, ChatState.CLOSED, ChatState.MISSED)
    for number, state in enumerate(states):
        assert _chat(store, f"t{number}", state).state == state
    with pytest.raises(sqlite3.IntegrityError):
        _chat(store, "other", "paused")
    assert [chat.state for chat in store.chats.unfinished()] == list(ChatState.OPEN)



def test_held_by_and_waiting_read_only_the_open_chats_they_name(store):
    store.users.add("ann", "pw", now=0)
    store.users.add("bob", "pw", now=0)
    first, second, third, fourth = (
        _chat(store, f"t{number}", ChatState.WAITING) for number in range(4)
    )
    assert store.chats.claim(first.id, "ann", "Ann", now=1)
    assert store.chats.claim(second.id, "bob", "Bob", now=1)
    assert store.chats.claim(third.id, "ann", "Ann", now=1)
    store.chats.finish(third.id, ChatState.CLOSED, "visitor", now=2)
    assert [chat.id for chat in store.chats.held_by("ann")] == [first.id]
    assert [chat.id for chat in store.chats.held_by("cyd")] == []
    assert [chat.id for chat in store.chats.waiting()] == [fourth.id]

