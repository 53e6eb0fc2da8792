# -*- test-case-name: bench.tests.test_reports -*-
"""
How long each report of the Reports tab takes for a year over all queues,
on a generated history: C{python -m bench.reports --chats 1000000}.

The history is written straight into a fresh database in a temporary
directory (queues, protocols, outcomes and times drawn from a seeded
random generator, about three events per chat); each report then runs as
the admin site runs it, through a thread's own read-only connection.
"""

import argparse
import datetime
import random
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from mcc.routing.reports import REPORTS, Reports
from mcc.store import Store
from mcc.store.schema import backfill_summaries
from mcc.store.reports import ThreadReaders

QUEUES = ("Support", "Sales", "Reference", "Billing", "Returns")
OPERATORS = tuple(f"operator{n}" for n in range(20))
PROTOCOLS = ("web", "web", "web", "direct", "sms", "xmpp")
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
    chat_rows, event_rows = [], []
    for number in range(1, chats + 1):
        start = YEAR + rng.random() * 365 * 86400
        outcome = rng.random()
        queue = rng.choice(QUEUES)
        if outcome < 0.8:
            wait = rng.expovariate(1 / 30)
            picked = start + wait
            closed = picked + rng.expovariate(1 / 400)
            row = (queue, rng.choice(PROTOCOLS), "closed", rng.choice(OPERATORS), start, picked, closed)
            event_rows.append((number, 1, "picked_up", "{}", picked))
            event_rows.append((number, 2, "message", '{"from": "operator"}', picked + 5))
            event_rows.append((number, 3, "ended", "{}", closed))
        else:
            state = "missed" if outcome < 0.9 else "closed"
            row = (queue, rng.choice(PROTOCOLS), state, None, start, None, start + 60)
            event_rows.append((number, 1, "missed" if state == "missed" else "ended", "{}", start + 60))
        chat_rows.append((number, f"t{number}", f"g{number}") + row)
        if len(chat_rows) >= 50_000:
            _flush(conn, chat_rows, event_rows)
    _flush(conn, chat_rows, event_rows)
    # What the chat service keeps on each chat as it writes its events.
    backfill_summaries(conn)
    conn.execute("COMMIT")
    store.close()


def _flush(conn, chat_rows, event_rows):
    conn.executemany(
        "INSERT INTO chats (id, token, guest, queue, protocol, state, operator, created_at,"
        " picked_up_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        chat_rows,
    )
    conn.executemany(
        "INSERT INTO chat_events (chat_id, seq, kind, data, at) VALUES (?, ?, ?, ?, ?)", event_rows
    )
    chat_rows.clear()
    event_rows.clear()


def time_reports(path):
    """
    C{[(report, seconds)]} for 2025, every queue, in UTC.
    """
    results = []
    reports = Reports(ThreadReaders(path), _now, ZoneInfo("UTC"), _Clock())
    request = reports.request({"from": ["2025-01-01"], "to": ["2025-12-31"]})
    for name in REPORTS:
        began = time.perf_counter()
        reports.run(name, request)
        results.append((name, time.perf_counter() - began))
    return results


def _now(function, *args):
    """
    Run at once and in this thread: the figures are the report's own time.
    """
    function(*args)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1_000_000)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "mcc.sqlite"
        began = time.perf_counter()
        generate(path, arguments.chats)
        print(f"{arguments.chats:,} chats generated in {time.perf_counter() - began:.1f} s,"
              f" database {path.stat().st_size / 2**20:.0f} MiB")
        for name, seconds in time_reports(path):
            print(f"{name:22} {seconds * 1000:8.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
