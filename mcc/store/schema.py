# -*- test-case-name: tests.test_store -*-
"""
The database schema as numbered, forward-only steps.

Each step runs once, in order, inside a transaction, and the number of the
last one applied is kept in C{schema_version}; start-up applies what is new.
"""

import sqlite3
from contextlib import contextmanager

from mcc.store import report_totals

SUMMARY_BACKFILL = """
    UPDATE chats SET messages_visitor = m.visitor, messages_operator = m.operator,
        first_response_at = m.first_response
        FROM (SELECT chat_id, count(CASE WHEN speaker = 'visitor' THEN 1 END) AS visitor,
                count(CASE WHEN speaker = 'operator' THEN 1 END) AS operator,
                min(CASE WHEN speaker = 'operator' THEN at END) AS first_response
            FROM (SELECT chat_id, json_extract(data, '$.from') AS speaker, at
                FROM chat_events WHERE kind = 'message')
            GROUP BY chat_id) AS m
        WHERE chats.id = m.chat_id;
    UPDATE chats SET transfers = t.n, transferred_to = t.target
        FROM (SELECT chat_id, count(*) AS n, max(seq),
                coalesce(nullif(json_extract(data, '$.to_queue'), ''),
                    nullif(json_extract(data, '$.to_operator'), ''), '') AS target
            FROM chat_events WHERE kind = 'transferred' GROUP BY chat_id) AS t
        WHERE chats.id = t.chat_id;
"""
"""
The summary columns of step 15 (what L{mcc.store.chats.Chats.add_event}
keeps up to date) computed from the chats' events: that step backfills
with it, and so do the benchmarks that write events straight into a file.
"""


def backfill_summaries(conn):
    for statement in _statements(SUMMARY_BACKFILL):
        conn.execute(statement)


MIGRATIONS = [
    # 1: accounts, rosters, offline messages, vCards.
    """
    CREATE TABLE users (
        username TEXT PRIMARY KEY,
        display_name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        is_admin INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        salt BLOB NOT NULL,
        iterations INTEGER NOT NULL,
        stored_key_sha1 BLOB NOT NULL,
        server_key_sha1 BLOB NOT NULL,
        stored_key_sha256 BLOB NOT NULL,
        server_key_sha256 BLOB NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE roster_items (
        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        contact TEXT NOT NULL,
        name TEXT,
        subscription TEXT NOT NULL DEFAULT 'none'
            CHECK (subscription IN ('none', 'to', 'from', 'both')),
        ask INTEGER NOT NULL DEFAULT 0,
        groups TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (owner, contact)
    );
    CREATE TABLE subscription_requests (
        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        requester TEXT NOT NULL,
        stanza TEXT NOT NULL,
        PRIMARY KEY (owner, requester)
    );
    CREATE TABLE offline_messages (
        id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        stanza TEXT NOT NULL,
        stored_at REAL NOT NULL
    );
    CREATE INDEX offline_messages_by_owner ON offline_messages(owner, id);
    CREATE TABLE vcards (
        owner TEXT PRIMARY KEY REFERENCES users(username) ON DELETE CASCADE,
        vcard TEXT NOT NULL
    );
    """,
    # 2: chats and their events.  Operators and queues are kept by name, so
    # that history outlives renamed or deleted accounts and queues.
    """
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY,
        token TEXT NOT NULL UNIQUE,
        guest TEXT NOT NULL UNIQUE,
        queue TEXT,
        target_user TEXT,
        visitor_name TEXT NOT NULL DEFAULT '',
        visitor_email TEXT NOT NULL DEFAULT '',
        question TEXT NOT NULL DEFAULT '',
        ip TEXT NOT NULL DEFAULT '',
        referrer TEXT NOT NULL DEFAULT '',
        user_agent TEXT NOT NULL DEFAULT '',
        protocol TEXT NOT NULL DEFAULT 'web',
        state TEXT NOT NULL CHECK (state IN ('waiting', 'active', 'closed', 'missed')),
        operator TEXT,
        operator_name TEXT,
        created_at REAL NOT NULL,
        picked_up_at REAL,
        closed_at REAL,
        closed_by TEXT
    );
    CREATE INDEX chats_unfinished ON chats(state) WHERE state IN ('waiting', 'active');
    CREATE TABLE chat_events (
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        internal INTEGER NOT NULL DEFAULT 0,
        at REAL NOT NULL,
        PRIMARY KEY (chat_id, seq)
    );
    """,
    # 3: queues and the operators assigned to them.  Membership goes with
    # its queue or user; chats name both by value, so history stays.
    """
    CREATE TABLE queues (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        description TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE TABLE queue_operators (
        queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
        username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        PRIMARY KEY (queue_id, username)
    );
    CREATE INDEX queue_operators_by_user ON queue_operators(username);
    """,
    # 4: widgets.  A skin is how a widget looks and speaks (its settings are
    # JSON that mcc.routing.widgets checks); a snippet is the code pasted into
    # a website, found by its public key; its service levels, in order, pick
    # a queue or a user and the skin shown for it.  A skin in use cannot go.
    """
    CREATE TABLE skins (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        settings TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE snippets (
        id INTEGER PRIMARY KEY,
        public_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        widget_type TEXT NOT NULL
            CHECK (widget_type IN ('embedded', 'floating', 'popup', 'direct')),
        no_javascript_html TEXT NOT NULL DEFAULT '',
        offline_html TEXT NOT NULL DEFAULT '',
        online_html TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE TABLE service_levels (
        snippet_id INTEGER NOT NULL REFERENCES snippets(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        queue_id INTEGER REFERENCES queues(id) ON DELETE CASCADE,
        username TEXT REFERENCES users(username) ON DELETE CASCADE,
        skin_id INTEGER NOT NULL REFERENCES skins(id) ON DELETE RESTRICT,
        CHECK ((queue_id IS NULL) != (username IS NULL)),
        PRIMARY KEY (snippet_id, position)
    );
    CREATE INDEX service_levels_by_skin ON service_levels(skin_id);
    """,
    # 5: the name a sender gave its message, so that a retried message is
    # stored once.  Events stored before have none.
    """
    ALTER TABLE chat_events ADD COLUMN message_id TEXT;
    CREATE UNIQUE INDEX chat_events_by_message_id ON chat_events(chat_id, message_id)
        WHERE message_id IS NOT NULL;
    """,
    # 6: chat operations.  The page the visitor chatted from moves to a
    # column of its own (what step 2 called the referrer was that page),
    # leaving C{referrer} for the page that led there.  Tag names are shared
    # and matched case-folded (C{folded}), shown as first written; canned
    # messages belong to one queue or to one operator.
    """
    ALTER TABLE chats ADD COLUMN page TEXT NOT NULL DEFAULT '';
    UPDATE chats SET page = referrer, referrer = '';
    CREATE INDEX chats_by_email ON chats(visitor_email) WHERE visitor_email != '';
    CREATE INDEX chats_by_ip ON chats(ip, created_at);
    CREATE TABLE tags (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        folded TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    );
    CREATE TABLE chat_tags (
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        added_by TEXT NOT NULL,
        added_at REAL NOT NULL,
        PRIMARY KEY (chat_id, tag_id)
    );
    CREATE INDEX chat_tags_by_tag ON chat_tags(tag_id);
    CREATE TABLE canned_messages (
        id INTEGER PRIMARY KEY,
        queue_id INTEGER REFERENCES queues(id) ON DELETE CASCADE,
        owner TEXT REFERENCES users(username) ON DELETE CASCADE,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at REAL NOT NULL,
        CHECK ((queue_id IS NULL) != (owner IS NULL))
    );
    CREATE UNIQUE INDEX canned_by_queue ON canned_messages(queue_id, name)
        WHERE queue_id IS NOT NULL;
    CREATE UNIQUE INDEX canned_by_owner ON canned_messages(owner, name)
        WHERE owner IS NOT NULL;
    """,
    # 7: files sent in chats (kept on disk under their random id, which is
    # also how they are asked for) and the e-mails of transcripts waiting to
    # be sent or sent, so that a restart does not lose a queued one.
    """
    CREATE TABLE chat_files (
        id TEXT PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        sender TEXT NOT NULL CHECK (sender IN ('visitor', 'operator')),
        sent_by TEXT NOT NULL DEFAULT '',
        stored_at REAL NOT NULL
    );
    CREATE INDEX chat_files_by_chat ON chat_files(chat_id);
    CREATE TABLE mail_outbox (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER REFERENCES chats(id) ON DELETE SET NULL,
        recipient TEXT NOT NULL,
        message BLOB NOT NULL,
        requested_by TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
        tries INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX mail_outbox_queued ON mail_outbox(status) WHERE status = 'queued';
    """,
    # 8: reports read chats by when they began (all queues, or some), and
    # find the transfers among a chat's events without reading them all.
    """
    CREATE INDEX chats_by_created_at ON chats(created_at);
    CREATE INDEX chats_by_queue ON chats(queue, created_at);
    CREATE INDEX chat_events_transfers ON chat_events(chat_id) WHERE kind = 'transferred';
    """,
    # 9: chat histories.  Chats are found by when they started (in a queue:
    # the indexes of step 8) and purged by when they ended; what a queue keeps of its chats (the
    # transcript, the visitor's address, a subnet of it, or nothing of it),
    # and after how many days transcripts go.  A chat whose transcript was
    # removed keeps its row and says when.
    """
    CREATE INDEX chats_by_end ON chats(closed_at) WHERE closed_at IS NOT NULL;
    ALTER TABLE chats ADD COLUMN transcript_removed_at REAL;
    CREATE TABLE queue_privacy (
        queue_id INTEGER PRIMARY KEY REFERENCES queues(id) ON DELETE CASCADE,
        keep_transcripts INTEGER NOT NULL DEFAULT 1,
        visitor_ips TEXT NOT NULL DEFAULT 'keep'
            CHECK (visitor_ips IN ('keep', 'subnet', 'none'))
    );
    CREATE TABLE retention (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        transcript_days INTEGER CHECK (transcript_days > 0)
    );
    """,
    # 10: SMS gateways: a phone number at a provider (its credentials kept
    # here, shown again only by their last characters) that rings a queue
    # or a user; the provider ids of the texts taken in, so that a retried
    # webhook is stored once; each texter's state (their chat, STOP, the
    # last offline reply); and the texts waiting to go out, which survive
    # a restart.
    """
    CREATE TABLE sms_gateways (
        id INTEGER PRIMARY KEY,
        provider TEXT NOT NULL CHECK (provider IN ('twilio', 'telnyx')),
        number TEXT NOT NULL UNIQUE,
        account TEXT NOT NULL DEFAULT '',
        secret TEXT NOT NULL,
        public_key TEXT NOT NULL DEFAULT '',
        queue TEXT,
        target_user TEXT,
        offline_reply TEXT NOT NULL DEFAULT '',
        concatenate INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        failing INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        last_error_at REAL,
        last_inbound_at REAL,
        last_outbound_at REAL,
        created_at REAL NOT NULL,
        CHECK ((queue IS NULL) != (target_user IS NULL))
    );
    CREATE TABLE sms_inbound (
        gateway_id INTEGER NOT NULL REFERENCES sms_gateways(id) ON DELETE CASCADE,
        provider_id TEXT NOT NULL,
        number TEXT NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (gateway_id, provider_id)
    );
    CREATE TABLE sms_contacts (
        gateway_id INTEGER NOT NULL REFERENCES sms_gateways(id) ON DELETE CASCADE,
        number TEXT NOT NULL,
        chat_id INTEGER REFERENCES chats(id) ON DELETE SET NULL,
        stopped INTEGER NOT NULL DEFAULT 0,
        offline_reply_at REAL,
        last_text_at REAL,
        PRIMARY KEY (gateway_id, number)
    );
    CREATE INDEX sms_contacts_by_chat ON sms_contacts(chat_id);
    CREATE TABLE sms_outbox (
        id INTEGER PRIMARY KEY,
        gateway_id INTEGER NOT NULL REFERENCES sms_gateways(id) ON DELETE CASCADE,
        chat_id INTEGER REFERENCES chats(id) ON DELETE SET NULL,
        number TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
        tries INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX sms_outbox_queued ON sms_outbox(gateway_id, number, id) WHERE status = 'queued';
    """,
    # 11: what XMPP clients keep on the server for an account: its message
    # archive (XEP-0313), private XML (XEP-0049), personal eventing nodes
    # and their items (XEP-0163), its blocklist (XEP-0191) and when it last
    # signed out (XEP-0012).  Contacts are bare JIDs.
    """
    CREATE TABLE message_archive (
        id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        stanza_id TEXT NOT NULL UNIQUE,
        contact TEXT NOT NULL,
        stanza TEXT NOT NULL,
        archived_at REAL NOT NULL
    );
    CREATE INDEX message_archive_by_owner ON message_archive(owner, id);
    CREATE INDEX message_archive_by_contact ON message_archive(owner, contact, id);
    CREATE INDEX message_archive_by_time ON message_archive(archived_at);
    CREATE TABLE private_xml (
        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        xml TEXT NOT NULL,
        PRIMARY KEY (owner, namespace, name)
    );
    CREATE TABLE pep_nodes (
        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        node TEXT NOT NULL,
        config TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (owner, node)
    );
    CREATE TABLE pep_items (
        id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL,
        node TEXT NOT NULL,
        item_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        published_at REAL NOT NULL,
        UNIQUE (owner, node, item_id),
        FOREIGN KEY (owner, node) REFERENCES pep_nodes(owner, node) ON DELETE CASCADE
    );
    CREATE TABLE blocklist (
        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        blocked TEXT NOT NULL,
        PRIMARY KEY (owner, blocked)
    );
    CREATE TABLE last_logout (
        owner TEXT PRIMARY KEY REFERENCES users(username) ON DELETE CASCADE,
        at REAL NOT NULL,
        status TEXT NOT NULL DEFAULT ''
    );
    """,
    # 12: HTTP upload slots (XEP-0363), and the push services (XEP-0357)
    # accounts enabled.  A slot is what an account may put
    # once; stored_at is set when its bytes are on disk.  The owner is not
    # a foreign key: what an account uploaded stays reachable by its link
    # after the account goes, like the messages that carry it.
    """
    CREATE TABLE upload_slots (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size > 0),
        content_type TEXT NOT NULL,
        requested_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        stored_at REAL
    );
    CREATE INDEX upload_slots_by_owner ON upload_slots(owner);
    CREATE TABLE push_registrations (
        owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        app_server TEXT NOT NULL,
        node TEXT NOT NULL,
        enabled_at REAL NOT NULL,
        PRIMARY KEY (owner, app_server, node)
    );
    """,
    # 13: a text is marked "sending", with the number of its attempt,
    # before mcc asks the provider for it, so that a restart knows which
    # texts it may or may not have sent ("uncertain") instead of sending
    # them twice.  SQLite cannot change a CHECK: the table is rebuilt.
    """
    CREATE TABLE sms_outbox_next (
        id INTEGER PRIMARY KEY,
        gateway_id INTEGER NOT NULL REFERENCES sms_gateways(id) ON DELETE CASCADE,
        chat_id INTEGER REFERENCES chats(id) ON DELETE SET NULL,
        number TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'uncertain')),
        tries INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO sms_outbox_next
        (id, gateway_id, chat_id, number, body, status, tries, reason, created_at, updated_at)
        SELECT id, gateway_id, chat_id, number, body, status, tries, reason, created_at, updated_at
        FROM sms_outbox;
    DROP TABLE sms_outbox;
    ALTER TABLE sms_outbox_next RENAME TO sms_outbox;
    CREATE INDEX sms_outbox_queued ON sms_outbox(gateway_id, number, id) WHERE status = 'queued';
    CREATE INDEX sms_outbox_sending ON sms_outbox(id) WHERE status = 'sending';
    """,
    # 14: XMPP components (XEP-0114) that bridges attach as, each with its
    # own domain and shared secret; the XMPP address of a queue (on the
    # service's domain or a component's); and each remote JID's state with
    # an address: its chat and whether it subscribed to its presence.
    """
    CREATE TABLE xmpp_components (
        id INTEGER PRIMARY KEY,
        domain TEXT NOT NULL UNIQUE,
        secret TEXT NOT NULL,
        protocol TEXT NOT NULL DEFAULT 'xmpp',
        disabled INTEGER NOT NULL DEFAULT 0,
        last_connected_at REAL,
        created_at REAL NOT NULL
    );
    CREATE TABLE queue_identities (
        queue_id INTEGER PRIMARY KEY REFERENCES queues(id) ON DELETE CASCADE,
        address TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    );
    CREATE TABLE xmpp_contacts (
        address TEXT NOT NULL,
        remote TEXT NOT NULL,
        chat_id INTEGER REFERENCES chats(id) ON DELETE SET NULL,
        subscribed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (address, remote)
    );
    CREATE INDEX xmpp_contacts_by_chat ON xmpp_contacts(chat_id);
    """,
    # 15: what the Activity CSV and the reports read of each chat's events,
    # kept on the chat itself as events are written (L{Chats.add_event}) so
    # that a year of chats is read without its events: the messages of the
    # visitor and of operators (kind "message", by their "from", internal
    # or not), when an operator first wrote, how many times the chat was
    # transferred and where its last transfer sent it (the "to_queue", or
    # else the "to_operator").  Chats stored before get them from their
    # events here.  The reports read every column they need of a span of
    # chats from one index, in the order the chats began, without visiting
    # the chats' rows; it begins as step 8's index by start did, which goes.
    """
    ALTER TABLE chats ADD COLUMN messages_visitor INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE chats ADD COLUMN messages_operator INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE chats ADD COLUMN first_response_at REAL;
    ALTER TABLE chats ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE chats ADD COLUMN transferred_to TEXT NOT NULL DEFAULT '';
    CREATE INDEX chats_for_reports ON chats(created_at, queue, operator, protocol, state,
        picked_up_at, closed_at, first_response_at, transfers);
    DROP INDEX chats_by_created_at;
    """
    + SUMMARY_BACKFILL,
    # 16: running totals of the chats for the Reports tab, per UTC hour or
    # day and the columns the reports group and filter on, kept by triggers
    # as chats and their tags and transfers change (one row per key, not
    # per chat), and the waits, first responses and durations indexed in
    # order within each queue and operator for the medians: see
    # mcc/store/report_totals.py.  Filled here from the chats stored before.
    report_totals.schema_step(),
    # 17: the operators who ever took a chat, for the Activity tab's
    # filter, found by skipping from one name to the next in this index
    # (L{History.operators}) instead of reading every chat.
    """
    CREATE INDEX chats_by_operator ON chats(operator) WHERE operator IS NOT NULL;
    """,
]


def migrate(db):
    """
    Apply the steps C{db} has not seen yet; return the resulting version.

    Another process (the C{mcc} command, the server) may be migrating the
    same file at once, so the version is read inside each step's write
    transaction: the later one waits and finds the step done.
    """
    conn = db.conn
    with write_transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        if conn.execute("SELECT version FROM schema_version").fetchone() is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
    while _apply_next_step(conn):
        pass
    return len(MIGRATIONS)


def _apply_next_step(conn):
    """
    Apply the first step not applied yet and record it, as one transaction:
    a failed step leaves the database as it was before it.  Return whether
    there was a step to apply.
    """
    with write_transaction(conn):
        (current,) = conn.execute("SELECT version FROM schema_version").fetchone()
        if current > len(MIGRATIONS):
            raise RuntimeError(
                f"the database is at schema version {current}, newer than this mcc "
                f"({len(MIGRATIONS)}); upgrade mcc instead"
            )
        if current == len(MIGRATIONS):
            return False
        for statement in _statements(MIGRATIONS[current]):
            conn.execute(statement)
        conn.execute("UPDATE schema_version SET version = ?", (current + 1,))
        return True


def _statements(script):
    """
    The statements of C{script} one by one, for C{execute}: C{executescript}
    would first commit the transaction they must run in.
    """
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.rstrip(";").strip():
                yield statement
            statement = ""


@contextmanager
def write_transaction(conn):
    """
    A transaction holding the database's write lock from its start, so
    what it reads stays true until it commits.
    """
    if conn.in_transaction:
        # Inside the transaction of a turn's writes (GroupCommit), which
        # holds the write lock: its other writes are not undone with these.
        conn.execute("SAVEPOINT write_transaction")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO write_transaction")
            conn.execute("RELEASE write_transaction")
            raise
        conn.execute("RELEASE write_transaction")
        return
    conn.execute("BEGIN IMMEDIATE")
    with conn:  # Commits, or rolls back on an exception.
        yield
