# -*- test-case-name: bench.tests.test_reports -*-
"""
How long each report of the Reports tab takes for a year, on a generated
history: C{python -m bench.reports --chats 1000000}.

The history is written straight into a fresh database in a temporary
directory (queues, protocols, outcomes, times, transfers and tags drawn
from a seeded random generator, about three events per chat), with the
reports' totals filled once it is written as schema step 16 fills them
(L{mcc.store.report_totals.bulk_load}).  Each report then runs as the admin
site runs it, through a thread's own read-only connection, for several
requests (a year of every queue in UTC and in Paris, one queue, answered
chats, a minimum duration, a zone half an hour off UTC), read from the
totals and, for comparison in the same run, chat by chat.
"""

import argparse
import datetime
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from mcc.routing.reports import REPORTS, Reports
from mcc.store import Store, report_totals
from mcc.store.reports import ChatByChatQueries, ThreadReaders
from mcc.store.schema import backfill_summaries

QUEUES = ("Support", "Sales", "Reference", "Billing", "Returns")
OPERATORS = tuple(f"operator{n}" for n in range(20))
PROTOCOLS = ("web", "web", "web", "direct", "sms", "xmpp")
TAGS = tuple(f"tag{n}" for n in range(10))
TRANSFERRED = 0.05
TAGGED = 0.3
"""
Of the answered chats, how many were transferred once, and how many tagged.
"""
YEAR = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC).timestamp()


class _Clock:
    def seconds(self):
        return YEAR + 400 * 86400


def generate(path, chats, seed=1):
    """
    C{chats} chats spread over 2025 into a new database at C{path}.
    """
    store = Store.open(path)
    rng = random.Random(seed)
    conn = store.db.conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO tags (id, name, folded, created_at) VALUES (?, ?, ?, 0)",
        [(number, name, name) for number, name in enumerate(TAGS, 1)],
    )
    with report_totals.bulk_load(conn):
        rows = {"chats": [], "events": [], "tags": []}
        for number in range(1, chats + 1):
            _chat(rng, number, rows)
            if len(rows["chats"]) >= 50_000:
                _flush(conn, rows)
        _flush(conn, rows)
        # What the chat service keeps on each chat as it writes its events.
        backfill_summaries(conn)
    conn.execute("COMMIT")
    store.close()


def _chat(rng, number, rows):
    start = YEAR + rng.random() * 365 * 86400
    outcome = rng.random()
    queue = rng.choice(QUEUES)
    events = rows["events"]
    if outcome < 0.8:
        wait = rng.expovariate(1 / 30)
        picked = start + wait
        closed = picked + rng.expovariate(1 / 400)
        operator = rng.choice(OPERATORS)
        events.append((number, 1, "picked_up", "{}", picked))
        events.append((number, 2, "message", '{"from": "operator"}', picked + 5))
        if rng.random() < TRANSFERRED:
            target, to_queue = rng.choice(OPERATORS), rng.choice(QUEUES)
            events.append((number, 3, "transferred", (
                f'{{"from_queue": "{queue}", "to_queue": "{to_queue}",'
                f' "from_operator": "{operator}", "to_operator": "{target}"}}'
            ), picked + 10))
            queue, operator = to_queue, target
        events.append((number, 4, "ended", "{}", closed))
        if rng.random() < TAGGED:
            for tag in rng.sample(range(1, len(TAGS) + 1), rng.randrange(1, 3)):
                rows["tags"].append((number, tag, operator, closed))
        row = (queue, rng.choice(PROTOCOLS), "closed", operator, start, picked, closed)
    else:
        state = "missed" if outcome < 0.9 else "closed"
        row = (queue, rng.choice(PROTOCOLS), state, None, start, None, start + 60)
        events.append((number, 1, "missed" if state == "missed" else "ended", "{}", start + 60))
    rows["chats"].append((number, f"t{number}", f"g{number}") + row)


def _flush(conn, rows):
    conn.executemany(
        "INSERT INTO chats (id, token, guest, queue, protocol, state, operator, created_at,"
        " picked_up_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows["chats"],
    )
    conn.executemany(
        "INSERT INTO chat_events (chat_id, seq, kind, data, at) VALUES (?, ?, ?, ?, ?)",
        rows["events"],
    )
    conn.executemany(
        "INSERT INTO chat_tags (chat_id, tag_id, added_by, added_at) VALUES (?, ?, ?, ?)",
        rows["tags"],
    )
    for batch in rows.values():
        batch.clear()


REQUESTS = {
    "a year, every queue, UTC": {},
    "a year, every queue, Europe/Paris": {"tz": ["Europe/Paris"]},
    "a year, queue Sales, UTC": {"queue": ["Sales"]},
    "a year, answered, UTC": {"status": ["answered"]},
    "a year, answered, at least 60 s": {"status": ["answered"], "min_duration": ["60"]},
    "a year, every queue, Asia/Kolkata": {"tz": ["Asia/Kolkata"]},
}


def time_reports(path, params=None, chat_by_chat=False):
    """
    C{[(report, seconds)]} for 2025 and C{params} (as the page's query),
    read from the totals or, with C{chat_by_chat}, chat by chat.
    """
    results = []
    readers = ThreadReaders(path)
    if chat_by_chat:
        readers = _ChatByChat(path)
    reports = Reports(readers, _now, ZoneInfo("UTC"), _Clock())
    request = reports.request({"from": ["2025-01-01"], "to": ["2025-12-31"], **(params or {})})
    for name in REPORTS:
        began = time.perf_counter()
        reports.run(name, request)
        results.append((name, time.perf_counter() - began))
    return results


class _ChatByChat:
    def __init__(self, path):
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)

    def __call__(self):
        return ChatByChatQueries(self._conn)


def storage(path):
    """
    C{(totals, indexes)}: the bytes on disk of the totals' tables (with
    their indexes) and of the ordered indexes of step 16.
    """
    conn = sqlite3.connect(path)
    try:
        sizes = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    finally:
        conn.close()
    tables = sum(
        size for name, size in sizes.items()
        if any(name.startswith(totals.table) for totals in report_totals.TABLES)
    )
    indexes = sum(sizes[statement.split()[2]] for statement in report_totals.INDEXES)
    return tables, indexes


def _now(function, *args):
    """
    Run at once and in this thread: the figures are the report's own time.
    """
    function(*args)


def write_cost(directory, chats=2000):
    """
    C{(with, without)}: the milliseconds a chat's life takes through the
    store (written, taken, answered, tagged, transferred, ended), with the
    totals' triggers and without them, on small databases in C{directory}.
    """
    found = []
    for triggers in (True, False):
        store = Store.open(Path(directory) / f"writes-{triggers}.sqlite")
        conn = store.db.conn
        if not triggers:
            for name in report_totals.TRIGGER_NAMES:
                conn.execute(f"DROP TRIGGER {name}")
        rng = random.Random(1)
        began = time.perf_counter()
        for number in range(chats):
            start = YEAR + rng.random() * 365 * 86400
            chat = store.chats.create(
                token=f"t{number}", guest=f"g{number}", queue=rng.choice(QUEUES),
                protocol="web", state="waiting", created_at=start,
            )
            store.chats.claim(chat.id, "olive", "Olive", start + 20)
            store.chats.add_event(chat.id, "message", {"from": "operator", "text": "hi"}, start + 25)
            store.tags.add_to_chat(chat.id, "fines", "fines", "olive", start + 30)
            store.chats.add_event(
                chat.id, "transferred", {"from_operator": "olive", "to_operator": "bob"}, start + 40
            )
            store.chats.hand_over(chat.id, "olive", "bob", "Bob", chat.queue, None)
            store.chats.finish(chat.id, "closed", "operator", start + 300)
            conn.commit()
        found.append((time.perf_counter() - began) * 1000 / chats)
        store.close()
    return tuple(found)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument(
        "--writes", type=int, default=2000, help="chats written through the store, each way"
    )
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "mcc.sqlite"
        began = time.perf_counter()
        generate(path, arguments.chats)
        tables, indexes = storage(path)
        print(f"{arguments.chats:,} chats generated in {time.perf_counter() - began:.1f} s,"
              f" database {path.stat().st_size / 2**20:.0f} MiB: totals {tables / 2**20:.1f} MiB,"
              f" ordered indexes {indexes / 2**20:.1f} MiB")
        for label, params in REQUESTS.items():
            totals = time_reports(path, params)
            chat_by_chat = time_reports(path, params, chat_by_chat=True)
            print(f"{label} (load {os.getloadavg()[0]:.1f}):")
            for (name, seconds), (_, exact) in zip(totals, chat_by_chat):
                print(f"  {name:22} {seconds * 1000:8.0f} ms   chat by chat {exact * 1000:8.0f} ms")
        with_triggers, without = write_cost(directory, arguments.writes)
        print(f"a chat's life through the store: {with_triggers:.2f} ms with the totals' triggers,"
              f" {without:.2f} ms without (load {os.getloadavg()[0]:.1f})")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
