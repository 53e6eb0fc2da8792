"""
Tests for L{bench.history}: the generated history is what the figures are
about, and a small run prints every figure (the timings are not checked).
"""

import io
import sqlite3

from bench import history
from mcc.store.schema import backfill_summaries

SUMMARIES = "SELECT id, messages_visitor, messages_operator, first_response_at, transfers, transferred_to FROM chats"


def test_the_generated_history_has_twenty_events_per_chat(tmp_path):
    path = tmp_path / "mcc.sqlite"
    history.generate(path, 30)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM chats").fetchone() == (30,)
        assert conn.execute("SELECT count(*) FROM chat_events").fetchone() == (600,)
    finally:
        conn.close()


def test_the_generated_summaries_are_what_the_events_give(tmp_path):
    path = tmp_path / "mcc.sqlite"
    history.generate(path, 30)
    conn = sqlite3.connect(path)
    try:
        written = conn.execute(SUMMARIES).fetchall()
        assert written[0][1:3] == (9, 9)
        backfill_summaries(conn)
        assert conn.execute(SUMMARIES).fetchall() == written
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_a_small_run_reports_each_figure(tmp_path):
    out = io.StringIO()
    database = tmp_path / "kept.sqlite"
    assert history.main(["--chats", "200", "--database", str(database)], out) == 0
    text = out.getvalue()
    assert "200 chats, 4,000 events" in text
    for what in ("calendar month view", "a page of a day's list", "CSV of a year", "histories page (HTTP)"):
        assert what in text
    assert "200 rows in" in text and "rows/s" in text and "peak" in text
    assert "CSV of a year (HTTP)     200 rows," in text and "other requests meanwhile" in text
    assert "host busy" in text
    # The file kept is measured again, without generating it.
    out = io.StringIO()
    assert history.main(["--database", str(database), "--no-http"], out) == 0
    assert f"200 chats of {database}" in out.getvalue() and "(HTTP)" not in out.getvalue()
