# -*- test-case-name: bench.tests.test_history -*-
"""
How long the Activity tab's histories take on a generated history of N
chats of 20 events each: the calendar month view, a page of a day's list,
and the CSV file of a year (rows per second and the peak resident memory
while it streams).  C{python -m bench.history --chats 1000000}, or
C{python -m bench --history-chats N} as part of the benchmark.

The history is written straight into a fresh database in a temporary
directory, times drawn from a seeded random generator over 2025.
"""

import argparse
import asyncio
import concurrent.futures
import csv
import datetime
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import mcc_server
from bench.compare import DOMAIN
from bench.monitor import ADMIN, Admin
from bench.processes import HostCpu, Processes, cpu_seconds, free_port, memory_kib
from mcc.config import Config
from mcc.routing.history import ChatHistory, Query
from mcc.store import DuplicateUser, Store, report_totals

QUEUES = ("Support", "Sales", "Reference", "Billing", "Returns")
OPERATORS = tuple(f"operator{n}" for n in range(20))
EVENTS = 20
YEAR = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC).timestamp()
UTC = ZoneInfo("UTC")
BATCH = 20_000


class _Clock:
    def seconds(self):
        return YEAR + 400 * 86400


def generate(path, chats, seed=1):
    """
    C{chats} chats spread over 2025, each with L{EVENTS} events (a pick-up,
    messages both ways, the end), into a new database at C{path}, with the
    summary columns the chat service keeps on each chat as it writes its
    events (what L{backfill_summaries} would find in them).

    The schema (and so its indexes) is the service's own; only while
    writing, the file has no journal and is not synced, foreign keys are
    not checked, and rows go in large batches in one transaction.
    """
    Store.open(path).close()
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        rng = random.Random(seed)
        # The reports' totals are filled once at the end, as schema step 16 does.
        with report_totals.bulk_load(conn):
            for first in range(1, chats + 1, BATCH):
                chat_rows, event_rows = _batch(rng, first, min(first + BATCH, chats + 1))
                conn.executemany(_CHAT_INSERT, chat_rows)
                conn.executemany(_EVENT_INSERT, event_rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


_CHAT_INSERT = (
    "INSERT INTO chats (id, token, guest, queue, protocol, state, operator, created_at,"
    " picked_up_at, closed_at, visitor_name, visitor_email, ip, page, referrer,"
    " messages_visitor, messages_operator, first_response_at)"
    " VALUES (?, ?, ?, ?, ?, 'closed', ?, ?, ?, ?, ?, ?, '203.0.113.7',"
    " 'https://shop.example/', 'https://search.example/', ?, ?, ?)"
)
_EVENT_INSERT = "INSERT INTO chat_events (chat_id, seq, kind, data, internal, at) VALUES (?, ?, ?, ?, 0, ?)"
_SPEAKERS = {seq: "visitor" if seq % 2 else "operator" for seq in range(2, EVENTS)}
_VISITOR_MESSAGES = sum(1 for speaker in _SPEAKERS.values() if speaker == "visitor")
_OPERATOR_MESSAGES = len(_SPEAKERS) - _VISITOR_MESSAGES
_FIRST_RESPONSE = min(seq for seq, speaker in _SPEAKERS.items() if speaker == "operator")


def _batch(rng, first, end):
    """
    The rows of the chats numbered C{first} to C{end} (excluded) and of
    their events.
    """
    chat_rows, event_rows = [], []
    add_event = event_rows.append
    for number in range(first, end):
        start = YEAR + rng.random() * 365 * 86400
        picked = start + rng.expovariate(1 / 30)
        closed = picked + EVENTS * 30
        chat_rows.append((
            number, f"t{number}", f"g{number}", rng.choice(QUEUES), "web",
            rng.choice(OPERATORS), start, picked, closed, f"Visitor {number}",
            f"v{number}@example.org", _VISITOR_MESSAGES, _OPERATOR_MESSAGES,
            picked + _FIRST_RESPONSE * 30,
        ))
        add_event((number, 1, "picked_up", '{"operator": "Operator"}', picked))
        for seq, speaker in _SPEAKERS.items():
            add_event((
                number, seq, "message",
                f'{{"from": "{speaker}", "name": "", "text": "message {seq} of chat {number}"}}',
                picked + seq * 30,
            ))
        add_event((number, EVENTS, "ended", '{"by": "visitor"}', closed))
    return chat_rows, event_rows


def _rss():
    """
    The resident memory of this process now, in bytes.
    """
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Sink:
    def write(self, text):
        return len(text)


def _timed(function):
    began = time.perf_counter()
    result = function()
    return result, time.perf_counter() - began


def measure(path):
    """
    C{[(what, figure)]} for the history in the database at C{path}.
    """
    store = Store.open(path)
    try:
        history = ChatHistory(store, _Clock(), UTC)
        busy = datetime.date(2025, 6, 16)
        month, seconds = _timed(lambda: history.month(busy, Query(busy, busy)))
        figures = [("calendar month view", f"{seconds * 1000:.0f} ms ({month.total:,} chats)")]
        results, seconds = _timed(lambda: history.search(Query(busy, busy), 1))
        figures.append(("a page of a day's list", f"{seconds * 1000:.0f} ms (of {results.total:,})"))
        year = Query(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
        writer = csv.writer(_Sink(), lineterminator="\r\n")
        before = peak = _rss()
        began, cpu = time.perf_counter(), time.process_time()
        rows = 0
        for row in history.csv_rows(year):
            writer.writerow(row)
            rows += 1
            if rows % 10_000 == 0:
                peak = max(peak, _rss())
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        peak = max(peak, _rss())
        figures.append((
            "CSV of a year",
            f"{rows - 1:,} rows in {seconds:.1f} s, {(rows - 1) / seconds:,.0f} rows/s"
            f" ({(rows - 1) / cpu:,.0f} per CPU second),"
            f" RSS {before / 2**20:.0f} MiB before, peak {peak / 2**20:.0f} MiB",
        ))
        return figures
    finally:
        store.close()


BUSY_DAY = "2025-06-16"
PROBE_SECONDS = 0.05


def link_into(path, folder):
    """
    The data dir of an mcc in C{folder} whose database is the file at
    C{path} (a hard link: the same file, however large).
    """
    data_dir = Path(folder) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    os.link(path, Config(data_dir=data_dir).database_path)
    store = Store.open(path)
    try:
        store.users.add(*ADMIN, now=time.time(), is_admin=True)
    except DuplicateUser:
        pass
    finally:
        store.close()
    return data_dir


async def _time(request):
    began = time.perf_counter()
    status, _ = await request()
    return status, time.perf_counter() - began


async def _probe(admin, delays):
    """
    Ask for a small page of the admin site again and again, keeping how
    long each took: what the reactor makes others wait meanwhile.
    """
    while True:
        _, seconds = await _time(lambda: admin._exchange("GET", "/admin/sign-in"))
        delays.append(seconds)
        await asyncio.sleep(PROBE_SECONDS)


async def _sample_rss(pid, samples):
    while True:
        samples.append(memory_kib(pid, "VmRSS"))
        await asyncio.sleep(PROBE_SECONDS)


async def http_figures(http_port, mcc_pid):
    """
    C{[(what, figure)]} of the Activity tab through mcc's admin site: the
    histories page of a busy day (calendar month and the day's first page
    together), and the CSV file of the year as a browser downloads it.
    """
    admin = await Admin.sign_in(http_port, *ADMIN)
    prober = await Admin.sign_in(http_port, *ADMIN)
    tasks = []
    try:
        page = f"/admin/activity?from={BUSY_DAY}&to={BUSY_DAY}"
        times = []
        for _ in range(5):
            status, seconds = await _time(lambda: admin._exchange("GET", page))
            if status != 200:
                raise RuntimeError(f"{page} answered {status}")
            times.append(seconds)
        figures = [(
            "histories page (HTTP)",
            f"{1000 * sorted(times)[2]:.0f} ms median of 5 (first {1000 * times[0]:.0f} ms)",
        )]
        lines, size = 0, 0

        def count(chunk):
            nonlocal lines, size
            lines += chunk.count(b"\n")
            size += len(chunk)

        delays, rss = [], []
        before = memory_kib(mcc_pid, "VmRSS")
        tasks = [asyncio.ensure_future(_probe(prober, delays)), asyncio.ensure_future(_sample_rss(mcc_pid, rss))]
        began, cpu = time.perf_counter(), cpu_seconds(mcc_pid)
        status, _, _ = await admin.connection.exchange(
            "GET", "/admin/activity/chats.csv?from=2025-01-01&to=2025-12-31",
            headers={"Cookie": admin.cookie}, sink=count,
        )
        seconds, cpu = time.perf_counter() - began, cpu_seconds(mcc_pid) - cpu
        if status != 200:
            raise RuntimeError(f"the CSV file answered {status}")
        rows = lines - 1
        delays.sort()
        figures.append((
            "CSV of a year (HTTP)",
            f"{rows:,} rows, {size / 2**20:,.0f} MiB in {seconds:.1f} s, {rows / seconds:,.0f} rows/s"
            f" ({rows / max(cpu, 0.01):,.0f} per second of mcc's CPU);"
            f" mcc RSS {before / 1024:.0f} MiB before, peak {max(rss + [before]) / 1024:.0f} MiB;"
            f" {len(delays)} other requests meanwhile, p50 {1000 * delays[len(delays) // 2]:.0f} ms,"
            f" max {1000 * delays[-1]:.0f} ms",
        ))
        return figures
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        admin.close()
        prober.close()


def measure_http(path, folder):
    """
    Start mcc on the history at C{path}, with its data dir in C{folder};
    the figures of L{http_figures}.
    """
    link_into(path, folder)
    processes = Processes()
    try:
        process = mcc_server.start(
            processes, folder, DOMAIN, free_port(), (http_port := free_port()), accounts=()
        )
        # A loop in a thread of its own: the caller may be running one.
        with concurrent.futures.ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, http_figures(http_port, process.pid)).result()
    finally:
        processes.stop_all()


def report(chats, out=sys.stdout, database=None, http=True):
    """
    Generate C{chats} chats, measure, and return the figures as text.  With
    C{database}, a path, the history is written there and kept, or read
    from there when that file already holds one (generating a million chats
    takes minutes).  With C{http}, also through a running mcc.
    """
    with tempfile.TemporaryDirectory() as directory:
        path = Path(database) if database else Path(directory) / "mcc.sqlite"
        if path.exists():
            chats = _chats_in(path)
            lines = [f"Histories: {chats:,} chats of {path}, database {path.stat().st_size / 2**20:.0f} MiB"]
        else:
            out.write(f"histories: generating {chats:,} chats...\n")
            out.flush()
            began = time.perf_counter()
            generate(path, chats)
            lines = [
                f"Histories: {chats:,} chats, {chats * EVENTS:,} events generated in"
                f" {time.perf_counter() - began:.1f} s, database {path.stat().st_size / 2**20:.0f} MiB"
            ]
        host = HostCpu.now()
        figures = measure(path)
        if http:
            figures += measure_http(path, Path(directory) / "mcc")
        lines += [f"  {what:24} {figure}" for what, figure in figures]
        lines.append(f"  (host busy {HostCpu.now().busy_cores_since(host):.2f} of {os.cpu_count()} cores meanwhile)")
    return "\n".join(lines) + "\n"


def _chats_in(path):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM chats").fetchone()[0]
    finally:
        conn.close()


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument(
        "--database", type=Path,
        help="keep the generated history in this file, or measure the one it holds already",
    )
    parser.add_argument(
        "--no-http", dest="http", action="store_false",
        help="skip the figures through a running mcc's admin site",
    )
    arguments = parser.parse_args(argv)
    out.write(report(arguments.chats, out, arguments.database, arguments.http))
    return 0


if __name__ == "__main__":
    sys.exit(main())
