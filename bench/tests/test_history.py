"""
Tests for L{bench.history}: the generated history is what the figures are
about, and a small run prints every figure (the timings are not checked).
"""

import io
import sqlite3

from bench import history


def test_the_generated_history_has_twenty_events_per_chat(tmp_path):
    path = tmp_path / "mcc.sqlite"
    history.generate(path, 30)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM chats").fetchone() == (30,)
        assert conn.execute("SELECT count(*) FROM chat_events").fetchone() == (600,)
    finally:
        conn.close()


def test_a_small_run_reports_each_figure():
    out = io.StringIO()
    assert history.main(["--chats", "200"], out) == 0
    text = out.getvalue()
    assert "200 chats, 4,000 events" in text
    for what in ("calendar month view", "a page of a day's list", "CSV of a year"):
        assert what in text
    assert "200 rows in" in text and "rows/s" in text and "peak" in text
