"""
The reports benchmark on a small history: it generates, and times every report.
"""

from bench import reports
from mcc.routing.reports import REPORTS


def test_a_small_history_times_every_report(tmp_path, capsys):
    path = tmp_path / "mcc.sqlite"
    reports.generate(path, 200)
    timed = reports.time_reports(path)
    assert [name for name, _ in timed] == list(REPORTS)
    assert all(seconds >= 0 for _, seconds in timed)
    assert reports.main(["--chats", "50"]) == 0
    assert "50 chats generated" in capsys.readouterr().out
