# -*- test-case-name: tests.test_reports -*-
"""
The admin site's Reports tab: chats per hour, month, protocol, queue and
operator over dates, queues and a time zone, each as a chart, a table and
a CSV download; a bar or a cell leads to the Activity list of its chats.
"""

import csv
import functools
import io
from urllib.parse import urlencode

from klein import Klein
from twisted.internet import defer
from werkzeug.exceptions import NotFound

from mcc.admin import charts
from mcc.routing.reports import PROTOCOLS, REPORTS, STATUSES, WEEKDAYS, ReportError

ACTIVITY = "/admin/activity/"
DIRECT = "(sent to one operator)"
"""
How chats sent to a user rather than a queue show in the queue report.
"""
UNSAFE_STARTS = ("=", "+", "-", "@", "\t", "\r")


def activity_link(request, **extra):
    """
    The Activity list of the chats behind a bar or cell: C{request}'s
    filters, narrowed by C{extra} (which replaces a filter of its name).
    """
    params = [(key, value) for key, value in request.query() if key not in extra]
    params += [(key, str(value)) for key, value in extra.items()]
    return ACTIVITY + "?" + urlencode(params)


def csv_cell(value):
    """
    A CSV cell that a spreadsheet shows and never runs as a formula.
    """
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(UNSAFE_STARTS):
        return "'" + text
    return text


def as_csv(report):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(report.columns)
    for row in report.rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue().encode("utf-8")


def _protocol(name):
    return PROTOCOLS.get(name, name)


def _queue(name):
    return DIRECT if name is None else name


def _minutes(value):
    """
    Seconds as the tables show them: C{1 min 05 s}, or a dash for none.
    """
    if value is None:
        return "\u2014"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def hour_label(hour):
    return f"{hour:02d}"


class ReportsTab:
    """
    The tab for one request (the L{Visit}) of the admin site C{site}, with
    the L{mcc.routing.reports.Reports} rules C{reports}; C{None} when the
    site was built without them, as bare test sites are.
    """

    app = Klein()

    def __init__(self, reports, site, visit):
        self.reports = reports
        self.site = site
        self.visit = visit

    def resource(self):
        return self.app.resource()

    @app.handle_errors(NotFound)
    def not_found(self, request, failure):
        return self.site.not_found(request)

    def _args(self, request):
        return {
            key.decode("utf-8", "replace"): [value.decode("utf-8", "replace") for value in values]
            for key, values in request.args.items()
        }

    @app.route("/", methods=["GET"], strict_slashes=False)
    def reports_page(self, request):
        if self.reports is None:
            return self.site.page(
                request, self.visit, "placeholder.html", title="Reports",
                summary="Reports need the chat history, which this site was started without.",
            )
        args = self._args(request)
        try:
            report_request = self.reports.request(args)
        except ReportError as problem:
            report_request = self.reports.request({})
            return self._answer(request, report_request, args, error=problem)
        return self._answer(request, report_request, args)

    @defer.inlineCallbacks
    def _answer(self, request, report_request, args, error=None):
        names = yield self.reports.queue_names()
        found = []
        if error is None:
            for name in REPORTS:
                found.append((yield self.reports.run(name, report_request)))
        current = {queue.name for queue in self.site.queues.all()}
        choices = sorted(current | set(names), key=str.lower)
        return self.site.page(
            request,
            self.visit,
            "reports/index.html",
            status=400 if error else 200,
            error=error,
            values=_form_values(args, report_request),
            queue_choices=[(name, name not in current) for name in choices],
            chosen=set(report_request.queues),
            statuses=STATUSES,
            sections=[self._section(report) for report in found],
            zone=report_request.zone.key,
        )

    def _section(self, report):
        return {
            "name": report.name,
            "title": report.title,
            "charts": list(self._charts(report)),
            "head": _table_head(report),
            "rows": [_table_row(report, row) for row in report.rows],
            "csv": f"/admin/reports/{report.name}.csv?{urlencode(report.request.query())}",
        }

    def _charts(self, report):
        req = report.request
        link = functools.partial(activity_link, req)
        span = f"{req.first.isoformat()} to {req.last.isoformat()} ({req.zone.key})"
        if report.name == "chats-per-hour":
            bars = [
                (hour_label(row[0]), row[1], link(**extra), f"{hour_label(row[0])}:00, {row[1]} chats")
                for row, extra in zip(report.rows, report.links)
            ]
            yield charts.bar_chart(
                "chart-hour", "Chats per hour of the day", bars, "Hour of the day (local time)",
                "Chats", f"Chats that began in each hour of the day, {span}.",
            )
            hrefs = [[link(weekday=day, hour=hour) for hour in range(24)] for day in range(7)]
            yield charts.heatmap(
                "chart-heatmap", "Chats per weekday and hour", WEEKDAYS,
                [hour_label(hour) for hour in range(24)], report.grid, hrefs,
                "Hour of the day (local time)", f"Chats per weekday and hour, {span}.",
            )
            return
        label, x_title = {
            "chats-per-month": (str, "Month"),
            "chats-per-protocol": (_protocol, "Protocol"),
            "chats-per-queue": (_queue, "Queue (where answered)"),
            "chats-per-operator": (str, "Operator"),
        }[report.name]
        bars = [
            (label(row[0]), row[1], link(**extra), f"{label(row[0])}, {row[1]} chats")
            for row, extra in zip(report.rows, report.links)
        ]
        titles = {"chats-per-operator": "Chats taken per operator"}
        yield charts.bar_chart(
            "chart-" + report.name.removeprefix("chats-per-"),
            titles.get(report.name, report.title), bars, x_title, "Chats",
            f"{report.title}, {span}.",
        )

    @app.route("/<file>", methods=["GET"])
    def download(self, request, file):
        if not file.endswith(".csv"):
            raise NotFound()
        name = file.removesuffix(".csv")
        if self.reports is None:
            raise NotFound()
        try:
            if name not in REPORTS:
                raise ReportError(
                    f"no report is called {name!r}; the reports are {', '.join(REPORTS)}"
                )
            report_request = self.reports.request(self._args(request))
        except ReportError as problem:
            self.site.headers(request, b"text/plain; charset=utf-8", status=400)
            return f"{problem}\n".encode()
        return self.reports.run(name, report_request).addCallback(self._csv, request)

    def _csv(self, report, request):
        self.site.headers(request, b"text/csv; charset=utf-8")
        req = report.request
        filename = f"{report.name}_{req.first.isoformat()}_{req.last.isoformat()}.csv"
        request.setHeader(b"content-disposition", f'attachment; filename="{filename}"'.encode("ascii"))
        return as_csv(report)


def reports_tab(reports=None):
    """
    The server of the Reports tab for L{Tab}, with C{reports}, the rules.
    """
    return functools.partial(ReportsTab, reports)


def _form_values(args, report_request):
    def given(name, default):
        values = args.get(name)
        return values[0] if values else default

    return {
        "from": given("from", report_request.first.isoformat()),
        "to": given("to", report_request.last.isoformat()),
        "tz": given("tz", report_request.zone.key),
        "status": given("status", report_request.status),
        "min_duration": given("min_duration", str(report_request.min_duration)),
    }


HEADS = {
    "chats-per-hour": ("Hour",) + ("Chats",) + WEEKDAYS,
    "chats-per-month": ("Month", "Chats"),
    "chats-per-protocol": ("Protocol", "Chats"),
    "chats-per-queue": (
        "Queue", "Chats", "Answered", "Missed", "Abandoned", "Median wait", "Mean wait",
        "90th percentile wait", "Median duration", "Mean duration", "Transfers in", "Transfers out",
    ),
    "chats-per-operator": (
        "Operator", "Chats taken (n)", "Mean wait", "Median wait", "Shortest wait", "Longest wait",
        "Mean first response", "Median first response", "Mean duration", "Median duration",
        "Transfers given", "Transfers received", "Tags used",
    ),
}
TIMES = {
    "chats-per-queue": range(5, 10),
    "chats-per-operator": range(2, 10),
}


def _table_head(report):
    return HEADS[report.name]


def _table_row(report, row):
    cells = list(row)
    if report.name == "chats-per-hour":
        cells[0] = f"{hour_label(row[0])}:00"
    elif report.name == "chats-per-protocol":
        cells[0] = _protocol(row[0])
    elif report.name == "chats-per-queue":
        cells[0] = _queue(row[0])
    for index in TIMES.get(report.name, ()):
        cells[index] = _minutes(row[index])
    return cells
