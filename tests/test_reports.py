"""
Tests for the Reports tab (L{mcc.admin.reports}, L{mcc.routing.reports},
L{mcc.store.reports}) over a generated history with known counts.
"""

import csv
import datetime
import io
import re
import sqlite3
import threading
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from mcc.admin import charts
from mcc.admin.reports import reports_tab
from mcc.admin.shell import call
from mcc.routing.reports import Reports
from mcc.routing.zones import system_zone
from mcc.store import Store
from mcc.store.reports import ChatFilter, ReportQueries, ThreadReaders
from tests.test_admin import World

UTC = datetime.UTC


def at(text):
    """
    Seconds since the epoch of C{YYYY-MM-DD HH:MM} in UTC.
    """
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()


class History:
    """
    Chats written straight into a store, as the router would leave them.
    """

    def __init__(self, store):
        self.store = store
        self.count = 0

    def chat(self, start, queue="Support", protocol="web", outcome="answered", operator="olive",
             wait=10, duration=60, first_response=None, user=None):
        self.count += 1
        begun = at(start)
        chat = self.store.chats.create(
            token=f"t{self.count}", guest=f"g{self.count}", queue=queue, target_user=user,
            protocol=protocol, state="waiting", created_at=begun,
        )
        if outcome == "answered":
            self.store.chats.claim(chat.id, operator, operator.title(), begun + wait)
            if first_response is not None:
                self.store.chats.add_event(
                    chat.id, "message", {"from": "operator", "name": operator, "text": "hi"},
                    begun + first_response,
                )
            self.store.chats.finish(chat.id, "closed", "operator", begun + wait + duration)
        elif outcome == "missed":
            self.store.chats.finish(chat.id, "missed", "timeout", begun + 120)
        elif outcome == "abandoned":
            self.store.chats.finish(chat.id, "closed", "visitor", begun + 30)
        return chat


def known_history(store):
    """
    Seven chats in January and February 2025 (UTC): see the expectations below.
    """
    history = History(store)
    history.chat("2025-01-06 09:10", wait=10, duration=300, first_response=15)  # Monday
    history.chat("2025-01-06 09:40", wait=30, duration=600, first_response=40)
    transferred = history.chat(
        "2025-01-07 14:00", operator="bob", wait=20, duration=100, first_response=25
    )  # Tuesday
    history.chat("2025-01-07 14:30", outcome="missed")
    history.chat("2025-02-03 23:30", outcome="abandoned")  # Monday; Tuesday 00:30 in Paris
    history.chat("2025-02-10 10:00", queue="Sales", protocol="sms", operator="bob", wait=50)
    history.chat("2025-02-11 12:00", queue=None, user="olive", wait=5, duration=30)
    store.chats.add_event(
        transferred.id, "transferred",
        {"from_queue": "Support", "to_queue": "Sales", "from_operator": "bob", "to_operator": "olive"},
        at("2025-01-07 14:01"),
    )
    return history


@pytest.fixture
def world():
    world = World()
    world.clock.advance(at("2025-03-01 12:00"))
    world.reports = Reports(
        lambda: ReportQueries(world.store.db.conn), call, ZoneInfo("UTC"), world.clock
    )
    world.site.sections["reports"] = reports_tab(world.reports)
    yield world
    world.store.close()


@pytest.fixture
def admin(world):
    known_history(world.store)
    return world.admin()


def report(world, name, **params):
    args = {key: value if isinstance(value, list) else [value] for key, value in params.items()}
    results = []
    world.reports.run(name, world.reports.request(args)).addBoth(results.append)
    return results[0]


def rows_of(world, name, **params):
    return report(world, name, **params).rows


def csv_rows(page):
    return list(csv.reader(io.StringIO(page.text)))


YEAR = {"from": "2025-01-01", "to": "2025-12-31"}


# The figures


def test_chats_per_hour_and_the_weekday_heatmap_in_utc(world):
    known_history(world.store)
    found = report(world, "chats-per-hour", **YEAR)
    assert found.columns[:3] == ("hour", "chats", "monday")
    assert {row[0]: row[1] for row in found.rows if row[1]} == {9: 2, 10: 1, 12: 1, 14: 2, 23: 1}
    assert len(found.rows) == 24
    cells = {(day, hour): n for day, row in enumerate(found.grid) for hour, n in enumerate(row) if n}
    assert cells == {(0, 9): 2, (0, 10): 1, (0, 23): 1, (1, 12): 1, (1, 14): 2}


def test_a_chat_at_half_past_eleven_utc_falls_on_the_next_day_in_utc_plus_one(world):
    known_history(world.store)
    utc = rows_of(world, "chats-per-month", **{"from": "2025-02-04", "to": "2025-02-04"})
    assert utc == [("2025-02", 0)]
    for zone in ("Europe/Paris", "Etc/GMT-1"):
        day = {"from": "2025-02-04", "to": "2025-02-04", "tz": zone}
        assert rows_of(world, "chats-per-month", **day) == [("2025-02", 1)]
        grid = report(world, "chats-per-hour", **day).grid
        assert grid[1][0] == 1  # Tuesday, 00:00-01:00
        assert sum(map(sum, grid)) == 1
    assert rows_of(world, "chats-per-month", **{"from": "2025-02-03", "to": "2025-02-03"}) == [
        ("2025-02", 1)
    ]


def test_hours_and_months_follow_the_clock_change_in_paris(world):
    history = History(world.store)
    history.chat("2025-03-29 23:30")  # 00:30 on the 30th, winter time (+1)
    history.chat("2025-03-30 00:30")  # 01:30, still +1
    history.chat("2025-03-30 01:30")  # 03:30, summer time (+2): 02:xx never happens
    history.chat("2025-03-31 22:30")  # 00:30 on 1 April
    paris = {"from": "2025-03-30", "to": "2025-04-30", "tz": "Europe/Paris"}
    hours = {row[0]: row[1] for row in rows_of(world, "chats-per-hour", **paris) if row[1]}
    assert hours == {0: 2, 1: 1, 3: 1}
    assert rows_of(world, "chats-per-month", **paris) == [("2025-03", 3), ("2025-04", 1)]
    grid = report(world, "chats-per-hour", **paris).grid
    assert grid[6][0] == 1 and grid[6][1] == 1 and grid[6][3] == 1  # Sunday 30 March
    assert grid[1][0] == 1  # Tuesday 1 April
    utc = {"from": "2025-03-30", "to": "2025-04-30", "tz": "UTC"}
    assert rows_of(world, "chats-per-month", **utc) == [("2025-03", 3), ("2025-04", 0)]


def test_chats_per_month_lists_every_month_of_the_range(world):
    known_history(world.store)
    assert rows_of(world, "chats-per-month", **{"from": "2024-12-15", "to": "2025-03-10"}) == [
        ("2024-12", 0), ("2025-01", 4), ("2025-02", 3), ("2025-03", 0),
    ]


def test_chats_per_protocol(world):
    known_history(world.store)
    assert rows_of(world, "chats-per-protocol", **YEAR) == [("web", 6), ("sms", 1)]


def test_chats_per_queue_count_each_chat_once_with_waits_durations_and_transfers(world):
    known_history(world.store)
    found = report(world, "chats-per-queue", **YEAR)
    assert found.columns == (
        "queue", "chats", "answered", "missed", "abandoned", "wait_median", "wait_mean",
        "wait_p90", "duration_median", "duration_mean", "transfers_in", "transfers_out",
    )
    assert found.rows == [
        ("Sales", 1, 1, 0, 0, 50, 50, 50, 60, 60, 1, 0),
        ("Support", 5, 3, 1, 1, 20, 20, 30, 300, 333.3, 0, 1),
        (None, 1, 1, 0, 0, 5, 5, 5, 30, 30, 0, 0),
    ]


def test_chats_per_operator_as_libraryh3lp_writes_it_and_more(world):
    known_history(world.store)
    found = report(world, "chats-per-operator", **YEAR)
    assert found.columns[:6] == ("operator", "n", "mean", "median", "min", "max")
    assert found.rows == [
        ("bob", 2, 35, 35, 20, 50, 25, 25, 80, 80, 1, 0, ""),
        ("olive", 3, 15, 10, 5, 30, 27.5, 27.5, 310, 300, 0, 1, ""),
    ]


def test_tags_used_are_the_tags_of_the_operators_chats(world):
    known_history(world.store)
    for chat_id, tag in [(1, "Fines"), (2, "Fines"), (2, "renewals")]:
        world.store.tags.add_to_chat(chat_id, tag, tag.casefold(), "olive", 0)
    rows = {row[0]: row[-1] for row in rows_of(world, "chats-per-operator", **YEAR)}
    assert rows == {"bob": "", "olive": "Fines (2); renewals (1)"}


@pytest.mark.parametrize(
    "params, chats",
    [
        ({"status": "answered"}, 5),
        ({"status": "missed"}, 1),
        ({"status": "abandoned"}, 1),
        ({"min_duration": "200"}, 2),
        ({"queue": "Support"}, 5),
        ({"queue": ["Support", "Sales"]}, 6),
        ({"queue": "Sales", "status": "missed"}, 0),
    ],
)
def test_filters(world, params, chats):
    known_history(world.store)
    assert sum(row[1] for row in rows_of(world, "chats-per-month", **YEAR, **params)) == chats
    assert sum(row[1] for row in rows_of(world, "chats-per-hour", **YEAR, **params)) == chats
    assert sum(row[1] for row in rows_of(world, "chats-per-protocol", **YEAR, **params)) == chats
    assert sum(row[1] for row in rows_of(world, "chats-per-queue", **YEAR, **params)) == chats


def test_an_empty_range_has_zeros_and_no_rows(world):
    known_history(world.store)
    empty = {"from": "2024-01-01", "to": "2024-01-31"}
    assert [row[1] for row in rows_of(world, "chats-per-hour", **empty)] == [0] * 24
    assert rows_of(world, "chats-per-month", **empty) == [("2024-01", 0)]
    for name in ("chats-per-protocol", "chats-per-queue", "chats-per-operator"):
        assert rows_of(world, name, **empty) == []


def test_without_dates_reports_cover_the_last_thirty_days_in_the_service_zone(world):
    request = world.reports.request({})
    assert (request.first, request.last) == (datetime.date(2025, 1, 31), datetime.date(2025, 3, 1))
    assert request.zone.key == "UTC"


def test_the_system_zone_comes_from_tz_or_etc_localtime(tmp_path):
    assert system_zone({"TZ": "Europe/Paris"}).key == "Europe/Paris"
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/America/New_York")
    assert system_zone({}, link).key == "America/New_York"
    assert system_zone({"TZ": "Nowhere/Special"}, tmp_path / "none").key == "UTC"


# The page


def test_the_page_shows_every_report_as_a_chart_and_a_table(admin):
    page = admin.get("/admin/reports?from=2025-01-01&to=2025-12-31")
    assert page.code == 200
    for chart in ("hour", "heatmap", "month", "protocol", "queue", "operator"):
        assert f'id="chart-{chart}"' in page.text
    assert page.text.count("<table>") == 5
    assert "in the queue where it was answered" in page.text
    assert "a minimum duration, and the hourly and monthly reports in a time zone" in page.text
    assert "<th scope=\"row\">Web widget</th><td>6</td>" in page.text
    assert "<th scope=\"row\">(sent to one operator)</th>" in page.text
    assert "5 min 00 s" in page.text  # Support's median duration


def test_bars_and_cells_link_to_the_activity_list_of_their_chats(admin):
    page = admin.get("/admin/reports?from=2025-01-01&to=2025-12-31&queue=Support&tz=Europe/Paris")
    links = [
        parse_qs(urlsplit(href.replace("&amp;", "&")).query)
        for href in re.findall(r'<a href="(/admin/activity/\?[^"]+)"', page.text)
    ]
    base = {"from": ["2025-01-01"], "to": ["2025-12-31"], "queue": ["Support"], "tz": ["Europe/Paris"]}
    assert dict(base, hour=["9"]) in links
    assert dict(base, weekday=["0"], hour=["10"]) in links
    assert dict(base, **{"from": ["2025-02-01"], "to": ["2025-02-28"]}) in links
    assert dict(base, protocol=["web"]) in links
    assert dict(base, operator=["olive"]) in links
    assert dict(base) in links  # the Support bar of the queue report


def test_a_queue_deleted_since_keeps_its_chats_and_its_name(world):
    known_history(world.store)
    sales = world.queues.create("Sales")
    world.queues.create("Support")
    world.queues.remove(sales.id)
    page = world.admin().get("/admin/reports?from=2025-01-01&to=2025-12-31&queue=Sales")
    assert page.code == 200
    assert re.search(r'value="Sales" checked> Sales <span class="hint">\(deleted\)</span>', page.text)
    assert '<th scope="row">Sales</th><td>1</td>' in page.text


def test_an_empty_range_says_so(admin):
    page = admin.get("/admin/reports?from=2024-01-01&to=2024-01-31")
    assert page.code == 200
    assert page.text.count("No chats in this range.") == 3


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2025-13-01", "&#39;from&#39; is a date written YYYY-MM-DD, not &#39;2025-13-01&#39;"),
        ("to=yesterday", "&#39;to&#39; is a date written YYYY-MM-DD"),
        ("from=2025-03-01&to=2025-01-01", "is after"),
        ("tz=Mars/Olympus", "Unknown time zone &#39;Mars/Olympus&#39;"),
        ("tz=../../etc/passwd", "Unknown time zone"),
        ("status=lost", "&#39;status&#39; is one of answered, missed, abandoned"),
        ("min_duration=-3", "whole number of seconds"),
        ("from=1900-01-01", "from 1970 to 9998"),
    ],
)
def test_bad_parameters_get_400_and_say_why(admin, query, message):
    page = admin.get(f"/admin/reports?{query}")
    assert page.code == 400
    assert 'role="alert"' in page.text and message in page.text
    csv_page = admin.get(f"/admin/reports/chats-per-hour.csv?{query}")
    assert csv_page.code == 400
    assert csv_page.header("content-type") == "text/plain; charset=utf-8"


def test_an_unknown_report_gets_400(admin):
    page = admin.get("/admin/reports/chats-per-weekday.csv")
    assert page.code == 400
    assert page.text.startswith("no report is called 'chats-per-weekday'; the reports are chats-per-hour")
    assert admin.get("/admin/reports/chats-per-hour.txt").code == 404


# CSV


def test_each_report_downloads_as_csv_with_a_header_row(admin):
    query = "from=2025-01-01&to=2025-12-31"
    expected = {
        "chats-per-hour": ["hour", "chats", "monday", "tuesday", "wednesday", "thursday",
                           "friday", "saturday", "sunday"],
        "chats-per-month": ["month", "chats"],
        "chats-per-protocol": ["protocol", "chats"],
        "chats-per-queue": ["queue", "chats", "answered", "missed", "abandoned", "wait_median",
                            "wait_mean", "wait_p90", "duration_median", "duration_mean",
                            "transfers_in", "transfers_out"],
        "chats-per-operator": ["operator", "n", "mean", "median", "min", "max",
                               "first_response_mean", "first_response_median", "duration_mean",
                               "duration_median", "transfers_given", "transfers_received", "tags"],
    }
    for name, header in expected.items():
        page = admin.get(f"/admin/reports/{name}.csv?{query}")
        assert page.code == 200
        assert page.header("content-type") == "text/csv; charset=utf-8"
        assert page.header("content-disposition") == (
            f'attachment; filename="{name}_2025-01-01_2025-12-31.csv"'
        )
        assert csv_rows(page)[0] == header
    protocol = admin.get(f"/admin/reports/chats-per-protocol.csv?{query}")
    assert csv_rows(protocol)[1:] == [["web", "6"], ["sms", "1"]]
    operators = admin.get(f"/admin/reports/chats-per-operator.csv?{query}")
    assert csv_rows(operators)[2][:6] == ["olive", "3", "15.0", "10.0", "5.0", "30.0"]
    queues = admin.get(f"/admin/reports/chats-per-queue.csv?{query}")
    assert csv_rows(queues)[3][:2] == ["", "1"]  # sent to one operator


def test_csv_cells_never_run_as_formulas(world):
    History(world.store).chat("2025-01-06 09:10", queue="=HYPERLINK(1)", operator="@bad")
    browser = world.admin()
    page = browser.get("/admin/reports/chats-per-queue.csv?from=2025-01-01&to=2025-01-31")
    assert csv_rows(page)[1][0] == "'=HYPERLINK(1)"
    page = browser.get("/admin/reports/chats-per-operator.csv?from=2025-01-01&to=2025-01-31")
    assert csv_rows(page)[1][0] == "'@bad"


def test_reports_need_a_signed_in_admin(world):
    page = world.browser().get("/admin/reports/chats-per-hour.csv")
    assert page.code == 303 and page.location == "/admin/sign-in"


# Charts


def test_every_shade_of_the_heatmap_has_readable_text():
    for value in range(0, 101):
        fill = charts.shade(value, 100)
        assert charts.contrast(fill, charts.text_on(fill)) >= 4.5


def test_chart_colours_meet_wcag_aa():
    assert charts.contrast(charts.BAR, "#ffffff") >= 3
    assert charts.contrast(charts.MUTED, "#ffffff") >= 4.5
    assert charts.contrast(charts.INK, "#ffffff") >= 4.5


def test_a_bar_chart_has_titles_axis_labels_and_named_links():
    svg = charts.bar_chart(
        "c", "Chats per month", [("2025-01", 4, "/a?x=1&y=2", "2025-01, 4 chats")],
        "Month", "Chats", "A year.",
    )
    assert '<title id="c-title">Chats per month</title>' in svg
    assert '<a href="/a?x=1&amp;y=2" aria-label="2025-01, 4 chats" class="bar">' in svg
    assert ">Month</text>" in svg and ">Chats</text>" in svg and ">2025-01</text>" in svg
    assert 'data-value="4"' in svg


# Threads


def test_each_thread_reads_through_its_own_read_only_connection(tmp_path):
    path = tmp_path / "mcc.sqlite"
    store = Store.open(path)
    try:
        known_history(store)
        readers = ThreadReaders(path)
        mine = readers()
        assert readers() is mine
        seen = {}

        def read():
            queries = readers()
            seen["other"] = queries is not mine
            seen["protocols"] = queries.by_protocol(
                ChatFilter(at("2025-01-01 00:00"), at("2026-01-01 00:00"))
            )
            try:
                queries._conn.execute("DELETE FROM chats")
            except sqlite3.OperationalError as error:
                seen["write"] = str(error)

        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
        assert seen == {
            "other": True,
            "protocols": {"web": 6, "sms": 1},
            "write": "attempt to write a readonly database",
        }
    finally:
        store.close()


def test_tabs_answer_at_their_address_with_a_trailing_slash(admin):
    """
    The links to Activity, and the tab's own address, end in a slash.
    """
    page = admin.get("/admin/reports/?from=2025-01-01&to=2025-12-31")
    assert page.code == 200 and 'id="chart-hour"' in page.text
    assert admin.get("/admin/activity/?from=2025-01-01&hour=9").code == 200
    assert admin.get("/admin/queues/").code == 200
