# -*- test-case-name: tests.test_admin_activity -*-
"""
The admin site's Activity tab: the calendar page view of past chats (months
with the number of chats per day, a range of dates and queues, a paged list,
each chat's transcript), the CSV file of those call histories, what is kept
of chats (privacy and retention), and the live monitor of current chats.
"""

import csv
import functools
import io
import itertools
import json
from urllib.parse import urlencode

from klein import Klein
from markupsafe import Markup
from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.python import log
from werkzeug.exceptions import NotFound
from zope.interface import implementer

from mcc.admin.shell import form_flag, form_list, form_text
from mcc.routing.errors import ChatError, UnknownQueue
from mcc.routing.history import OUTCOMES, HistoryError, Query, outcome, parse_day
from mcc.routing.monitor import elapsed

ROWS_PER_WRITE = 200
"""
CSV rows written per turn of the reactor when they are read there.
"""
ROWS_PER_CHUNK = 2000
"""
CSV rows read and formatted per call into a thread, when they are read
there: a few hundred kilobytes (more with the transcripts), so that the
hops between the reactor and the thread cost little beside the rows (500
a call streamed a third slower).
"""


def query_from(request, today):
    """
    The L{Query} a request's parameters ask for: C{from} and C{to}
    (either alone stands for both; neither, for today), C{queue} (repeated),
    C{operator}, C{protocol}, C{outcome}, C{tag} and C{q}, the text to find.
    """
    first, last = form_text(request, "from"), form_text(request, "to")
    first = parse_day(first, "from") if first else None
    last = parse_day(last, "to") if last else None
    first = first or last or today
    return Query(
        first=first,
        last=last or first,
        queues=tuple(name for name in form_list(request, "queue") if name.strip()),
        operator=form_text(request, "operator"),
        protocol=form_text(request, "protocol"),
        outcome=form_text(request, "outcome"),
        text=form_text(request, "q"),
        tag=form_text(request, "tag"),
    )


def query_parameters(query, **overrides):
    """
    The query string that asks for C{query} again, with C{overrides}.
    """
    pairs = [("from", query.first.isoformat()), ("to", query.last.isoformat())]
    pairs += [("queue", name) for name in query.queues]
    for name, value in (
        ("operator", query.operator),
        ("protocol", query.protocol),
        ("outcome", query.outcome),
        ("tag", query.tag),
        ("q", query.text),
    ):
        if value:
            pairs.append((name, value))
    pairs = [(name, value) for name, value in pairs if name not in overrides]
    pairs += [(name, value) for name, value in overrides.items() if value not in (None, "")]
    return urlencode(pairs)


def csv_chunk(rows, count):
    """
    The next C{count} rows of C{rows} as CSV, in UTF-8 (empty at the end).
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(itertools.islice(rows, count))
    return buffer.getvalue().encode("utf-8")


@implementer(IPushProducer)
class CSVStream:
    """
    Writes the rows of C{rows} to C{request} a chunk at a time and waits
    while the connection's buffer is full: memory stays flat and other
    requests go on meanwhile.  C{done} fires once the last row is written.

    Without C{run_in_thread}, the rows are read and formatted in the
    reactor, L{ROWS_PER_WRITE} per turn of C{clock}.  With it (C{(function,
    *args) -> Deferred}), L{ROWS_PER_CHUNK} at a time in its threads, one
    call after the other, and the reactor only writes what they made.
    """

    def __init__(self, request, rows, clock, run_in_thread=None):
        self.request = request
        self.rows = rows
        self.clock = clock
        self.run_in_thread = run_in_thread
        self.paused = False
        self.stopped = False
        self._call = None
        self._reading = None
        self.done = defer.Deferred()

    def start(self):
        self.request.registerProducer(self, True)
        self._schedule()
        return self.done

    def _schedule(self):
        if self.paused or self.stopped or self._call is not None or self._reading is not None:
            return
        if self.run_in_thread is None:
            self._call = self.clock.callLater(0, self._write)
            return
        self._reading = self.run_in_thread(csv_chunk, self.rows, ROWS_PER_CHUNK)
        self._reading.addCallbacks(self._read, self._failed)

    def _write(self):
        self._call = None
        try:
            chunk = csv_chunk(self.rows, ROWS_PER_WRITE)
        except Exception:
            self._failed(None)
            return
        self._chunk(chunk)

    def _read(self, chunk):
        self._reading = None
        if self.stopped:
            # Closed only now: the thread was still reading from it.
            self.rows.close()
            return
        self._chunk(chunk)

    def _failed(self, failure):
        # The status and the first rows are sent: closing the connection
        # without the last chunk is how the client learns the file is cut.
        self._reading = None
        log.err(failure, "The CSV file of chats failed half-way")
        if self.stopped:
            return
        self.stopped = True
        self.request.unregisterProducer()
        self.request.loseConnection()

    def _chunk(self, chunk):
        if not chunk:
            self.stopped = True
            self.request.unregisterProducer()
            self.done.callback(b"")
            return
        self.request.write(chunk)
        self._schedule()

    def pauseProducing(self):
        self.paused = True
        self._cancel()

    def resumeProducing(self):
        self.paused = False
        self._schedule()

    def stopProducing(self):
        self.stopped = True
        self._cancel()
        if self._reading is None:
            self.rows.close()

    def _cancel(self):
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None


class LiveSections:
    """
    The live monitor's queues as its last answer rendered them, by what
    each showed: an answer after a change renders again only the queues
    that changed (with a thousand queues, rendering them all took most of
    an answer's time).  The waiting or talking times in a kept queue are
    those of when it was rendered; the page counts them on from the
    chats' start at once.  It keeps the queues of the last answer only.
    """

    def __init__(self):
        self._rendered = {}

    def renderer(self, pages, snapshot, **context):
        """
        C{section(queue, number)} for the monitor's template: the queue's
        HTML, kept from the last answer when it shows the same.
        """
        kept, self._rendered = self._rendered, {}

        def section(queue, number):
            key = (number, queue.name, tuple(queue.operators), tuple(queue.chats),
                   tuple(snapshot.late(chat) for chat in queue.chats))
            html = kept.get(key)
            if html is None:
                html = fresh_section(pages, snapshot, queue, number, **context)
            self._rendered[key] = html
            return html

        return section


def fresh_section(pages, snapshot, queue, number, **context):
    """
    The HTML of one queue of the live monitor, rendered now.
    """
    html = pages.render("activity/_live_queue.html", snapshot=snapshot, queue=queue, number=number, **context)
    return Markup(html.decode("utf-8"))


class ActivityTab:
    """
    The tab for one request of a signed-in administrator (the L{Visit}),
    served by the admin site C{site} under C{/admin/activity}.
    """

    app = Klein()

    def __init__(self, site, visit):
        self.site = site
        self.visit = visit
        self.history = site.history

    def resource(self):
        return self.app.resource()

    @app.handle_errors(NotFound, UnknownQueue)
    def not_found(self, request, failure):
        return self.site.not_found(request)

    def _page(self, request, template, status=200, **context):
        return self.site.page(
            request,
            self.visit,
            template,
            status=status,
            zone=self.history.zone.key,
            **context,
        )

    def _query(self, request):
        return query_from(request, self.history.today())

    # Histories

    @app.route("/", methods=["GET"], strict_slashes=False)
    def histories(self, request):
        try:
            query = self._query(request)
            month = form_text(request, "month")
            shown = parse_day(month + "-01", "month") if month else query.first
            page_number = int(form_text(request, "page") or 1)
        except (HistoryError, ValueError) as problem:
            return self._filter_problem(request, problem)
        results = self.history.search(query, page_number)
        return self._page(
            request,
            "activity/histories.html",
            query=query,
            month=self.history.month(shown, query),
            results=results,
            queue_names=self.history.queue_names(),
            operators=self.history.operators(),
            tag_names=self.history.tag_names(),
            outcome_names=OUTCOMES,
            protocols=("web",),
            link=lambda **overrides: "?" + query_parameters(query, **overrides),
            csv_link=lambda **overrides: "/admin/activity/chats.csv?"
            + query_parameters(query, **overrides),
            local=self.history.local,
            today=self.history.today(),
            outcome=outcome,
        )

    def _filter_problem(self, request, problem):
        return self._page(request, "activity/problem.html", status=400, problem=str(problem))

    @app.route("/chats/<int:chat_id>", methods=["GET"])
    def chat(self, request, chat_id):
        transcript = self.history.transcript(chat_id)
        if transcript is None:
            raise NotFound()
        return self._page(
            request,
            "activity/chat.html",
            transcript=transcript,
            chat=transcript.chat,
            local=self.history.local,
            outcome=outcome(transcript.chat),
            version=self.site.monitor.version if self.site.monitor else 0,
            can_intervene=self.site.operations is not None,
            back="/admin/activity?"
            + urlencode(
                [("from", self.history.local(transcript.chat.created_at).date().isoformat())]
            ),
        )

    @app.route("/chats/<int:chat_id>/live.json", methods=["GET"])
    def chat_news(self, request, chat_id):
        """
        The transcript of an open chat, once anything happened after the
        version C{after}: the page follows it read-only.
        """
        if self.history.transcript(chat_id) is None:
            raise NotFound()
        return self._news(request).addCallback(self._chat_news, request, chat_id)

    def _chat_news(self, version, request, chat_id):
        transcript = self.history.transcript(chat_id)
        html = self.site.pages.render("activity/_transcript.html", transcript=transcript)
        return self._json(request, version, html)

    # The live monitor

    @app.route("/live", methods=["GET"])
    def live(self, request):
        return self._page(request, "activity/live.html", **self._live_context())

    def _live_context(self, kept=False):
        """
        What the monitor's template shows; C{kept}: with the queues that
        did not change since the last answer as it rendered them.
        """
        snapshot = self.site.monitor.snapshot()
        context = {
            "local": self.history.local,
            "elapsed": elapsed,
            "intervene": self.site.operations is not None,
        }
        if kept:
            section = self.site.live_sections.renderer(self.site.pages, snapshot, **context)
        else:
            section = functools.partial(fresh_section, self.site.pages, snapshot, **context)
        return dict(context, snapshot=snapshot, section=section)

    @app.route("/live.json", methods=["GET"])
    def live_news(self, request):
        """
        The monitor, once anything changed after the version C{after}.
        """
        return self._news(request).addCallback(self._live_news, request)

    def _live_news(self, version, request):
        html = self.site.pages.render("activity/_live.html", **self._live_context(kept=True))
        return self._json(request, version, html)

    def _news(self, request):
        try:
            after = int(form_text(request, "after"))
        except ValueError:
            after = None
        return self.site.monitor.wait(after)

    def _json(self, request, version, html):
        self.site.headers(request, b"application/json")
        return json.dumps({"version": version, "html": html.decode("utf-8")}).encode("utf-8")

    # The CSV file

    @app.route("/chats.csv", methods=["GET"])
    def chats_csv(self, request):
        try:
            query = self._query(request)
        except HistoryError as problem:
            self.site.headers(request, b"text/plain; charset=utf-8", status=400)
            return f"{problem}\n".encode()
        self.site.headers(request, b"text/csv; charset=utf-8")
        request.setHeader(
            b"content-disposition",
            f'attachment; filename="chats-{query.first}-{query.last}.csv"'.encode("ascii"),
        )
        threaded = self.history.threaded
        rows = self.history.csv_rows(query, transcript=form_flag(request, "transcript"), in_thread=threaded)
        return CSVStream(
            request, rows, self.site.clock, self.history.run_in_thread if threaded else None
        ).start()

    # Privacy and retention

    def _privacy_page(self, request, status=200, error=None, days=None):
        if days is None:
            days = self.history.transcript_days()
            days = "" if days is None else str(days)
        return self._page(
            request,
            "activity/privacy.html",
            status=status,
            settings=self.history.privacy(),
            days=days,
            error=error,
        )

    @app.route("/privacy", methods=["GET"])
    def privacy(self, request):
        return self._privacy_page(request)

    @app.route("/privacy", methods=["POST"])
    def save_privacy(self, request):
        days = form_text(request, "transcript_days")
        try:
            number = int(days) if days else None
        except ValueError:
            return self._privacy_page(
                request, 400, "Keep transcripts for a whole number of days, or leave it empty.", days
            )
        try:
            self.history.set_transcript_days(number)
            for queue, _, _ in self.history.privacy():
                self.history.set_privacy(
                    queue.id,
                    form_flag(request, f"keep_{queue.id}"),
                    form_text(request, f"ips_{queue.id}") or "keep",
                )
        except HistoryError as problem:
            return self._privacy_page(request, 400, str(problem), days)
        return self.site.done(request, self.visit, "Saved what chats keep.", "/admin/activity/privacy")

    # Deleting and anonymising in bulk

    @app.route("/bulk", methods=["GET"])
    def confirm_bulk(self, request):
        action = form_text(request, "action")
        if action not in ("delete", "anonymise"):
            raise NotFound()
        try:
            query = self._query(request)
        except HistoryError as problem:
            return self._filter_problem(request, problem)
        return self._page(
            request,
            "activity/bulk.html",
            action=action,
            query=query,
            count=self.history.ended_count(query),
            fields=query_parameters(query),
            back="/admin/activity?" + query_parameters(query),
        )

    @app.route("/bulk", methods=["POST"])
    def bulk(self, request):
        action = form_text(request, "action")
        if action not in ("delete", "anonymise"):
            raise NotFound()
        try:
            query = self._query(request)
        except HistoryError as problem:
            return self._filter_problem(request, problem)
        if action == "delete":
            changing, verb = self.history.delete(query), "Deleted"
        else:
            changing, verb = self.history.anonymise(query), "Anonymised"
        return changing.addCallback(
            lambda count: self.site.done(
                request, self.visit, f"{verb} {_chats(count)}.", "/admin/activity?" + query_parameters(query)
            )
        )

    # Intervening in a chat under way

    def _operations(self):
        if self.site.operations is None:
            raise NotFound()
        return self.site.operations

    def _intervene_page(self, request, chat_id, status=200, error=None, note=""):
        operations = self._operations()
        transcript = self.history.transcript(chat_id)
        if transcript is None:
            raise NotFound()
        try:
            targets = operations.transfer_targets(chat_id, self.visit.user.username, by_admin=True)
        except ChatError as refused:
            targets, error = None, error or str(refused)
            status = status if status != 200 else 409
        return self._page(
            request,
            "activity/intervene.html",
            status=status,
            chat=transcript.chat,
            targets=targets,
            error=error,
            note=note,
            local=self.history.local,
        )

    @app.route("/chats/<int:chat_id>/intervene", methods=["GET"])
    def intervene(self, request, chat_id):
        """
        The forms that transfer or end a chat waiting or under way.
        """
        return self._intervene_page(request, chat_id)

    @app.route("/chats/<int:chat_id>/transfer", methods=["POST"])
    def transfer(self, request, chat_id):
        operations = self._operations()
        kind, _, name = form_text(request, "target").partition(":")
        note = form_text(request, "note")
        if kind not in ("queue", "user") or not name:
            return self._intervene_page(request, chat_id, 400, "Choose where the chat goes.", note)
        try:
            operations.transfer(
                chat_id, self.visit.user.username, note=note, by_admin=True, **{kind: name}
            )
        except ChatError as refused:
            return self._intervene_page(request, chat_id, 409, str(refused), note)
        return self.site.done(
            request, self.visit, f"Transferring chat {chat_id} to {name}.", "/admin/activity/live"
        )

    @app.route("/chats/<int:chat_id>/end", methods=["POST"])
    def end(self, request, chat_id):
        operations = self._operations()
        try:
            operations.end(chat_id, self.visit.user.username, by_admin=True)
        except ChatError as refused:
            return self._intervene_page(request, chat_id, 409, str(refused))
        return self.site.done(request, self.visit, f"Ended chat {chat_id}.", "/admin/activity/live")


def _chats(count):
    return "1 chat" if count == 1 else f"{count} chats"


__all__ = ["ActivityTab", "CSVStream", "LiveSections"]
