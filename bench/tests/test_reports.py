"""
The reports benchmark on a small history: it generates, and times every
report both ways, which agree.
"""

from bench import reports
from mcc.routing.reports import REPORTS, Reports
from mcc.store.reports import ThreadReaders


def test_a_small_history_times_every_report(tmp_path, capsys):
    path = tmp_path / "mcc.sqlite"
    reports.generate(path, 500)
    timed = reports.time_reports(path)
    assert [name for name, _ in timed] == list(REPORTS)
    assert all(seconds >= 0 for _, seconds in timed)
    assert [name for name, _ in reports.time_reports(path, chat_by_chat=True)] == list(REPORTS)
    tables, indexes = reports.storage(path)
    assert tables > 0 and indexes > 0
    assert reports.main(["--chats", "50", "--writes", "20"]) == 0
    out = capsys.readouterr().out
    assert "50 chats generated" in out and "chat by chat" in out and "peak RSS" in out
    assert "with the totals' triggers" in out


def test_the_generated_totals_give_what_counting_chat_by_chat_gives(tmp_path):
    path = tmp_path / "mcc.sqlite"
    reports.generate(path, 2000)
    found = {}
    for way, readers in (("totals", ThreadReaders(path)), ("chats", reports._ChatByChat(path))):
        results = []

        def keep(function, *args, results=results):
            results.append(function(*args))

        runner = Reports(readers, keep, reports.ZoneInfo("Europe/Paris"), reports._Clock())
        for params in reports.REQUESTS.values():
            request = runner.request({"from": ["2025-01-01"], "to": ["2025-12-31"], **params})
            for name in REPORTS:
                runner.run(name, request)
        found[way] = [(report.rows, report.grid) for report in results]
    assert found["totals"] == found["chats"]
    assert any(rows for rows, _ in found["totals"])
