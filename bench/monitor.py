# -*- test-case-name: bench.tests.test_monitor -*-
"""
The Activity tab's live monitor with K chats under way: what mcc's CPU
costs at rest while an administrator watches the monitor as its page does,
and how long a change (a chat starting, taken, a new message, a chat
ending) takes to reach that administrator.

    python -m bench.monitor --chats 1000
    python -m bench --monitor-chats 1000     # as part of the benchmark

Setup as for the round trip (L{bench.roundtrip}): operators, one queue
each, take their chat by greeting its visitor, and every visitor keeps a
long poll waiting.  The administrator signs in on the admin site, opens
C{/admin/activity/live} and follows C{live.json} as C{admin.js} does: a
long poll after the version shown, a pause of L{PAUSE} once an answer came,
again.  Then, one after the other:

  - at rest: mcc's CPU share (C{/proc/PID/stat}) over C{rest} seconds
    without the administrator, then as long with the administrator
    watching;
  - C{samples} times, in one more queue whose operator waits to be told:
    a visitor starts a chat, its operator takes it, the visitor writes,
    the visitor ends it; each time from the request until the monitor's
    answer shows it (the chat's row there, its state, its last message,
    the row gone).
"""

import argparse
import asyncio
import gc
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.http_client import Connection
from bench.processes import HostCpu, cpu_seconds, memory_kib
from bench.roundtrip import Latency, Operator, Timings, _gather_counted, _greeted, _stopped, _talker
from bench.visitor import Visitor
from bench.xmpp_client import BODY, MESSAGE, Session, bare

PAUSE = 0.3
"""
Seconds the page waits after an answer before it asks again (admin.js).
"""
ADMIN = ("monitor-admin", "secret-admin")
WATCHED = ("watched", "secret-watched", "watched")
"""
The operator (username, password) and queue of the timed changes.
"""
SETTLE_SECONDS = 2.0
REST_SECONDS = 30.0
SAMPLES = 10
CHANGE_TIMEOUT = 10.0
GAP_SECONDS = 0.6
CHANGES = ("a chat starts", "a chat is taken", "a new message", "a chat ends")
LIVE = "/admin/activity/live"


class SignInFailed(Exception):
    pass


@dataclass(frozen=True)
class Rest:
    """
    mcc's CPU over C{seconds} at rest; C{answers}, the monitor's answers
    to the administrator meanwhile.
    """

    seconds: float
    mcc_cpu_seconds: float
    host_busy_cores: float
    answers: int = 0

    @property
    def share(self):
        """
        The fraction of one core mcc used.
        """
        return self.mcc_cpu_seconds / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class MonitorRun:
    chats: int
    active: int
    unwatched: Rest
    watched: Rest
    changes: dict
    """
    What changed -> L{Latency} until the monitor showed it.
    """
    missed: int
    monitor_bytes: int
    errors: int
    mcc_peak_rss_kib: int

    @classmethod
    def from_dict(cls, fields):
        return cls(**dict(
            fields,
            unwatched=Rest(**fields["unwatched"]),
            watched=Rest(**fields["watched"]),
            changes={what: Latency(**latency) for what, latency in fields["changes"].items()},
        ))


def cookie_of(headers):
    """
    The C{name=value} of a C{Set-Cookie} header, or C{None}.
    """
    value = headers.get("set-cookie")
    return value.split(";", 1)[0].strip() if value else None


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_VERSION = re.compile(r'data-live-version="(\d+)"')


class Admin:
    """
    An administrator's browser on the admin site: one keep-alive
    connection and the session cookie.
    """

    def __init__(self, connection):
        self.connection = connection
        self.cookie = None

    async def _exchange(self, method, path, payload=b"", headers=None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        status, answer_headers, content = await self.connection.exchange(method, path, payload, headers)
        self.cookie = cookie_of(answer_headers) or self.cookie
        return status, content

    @classmethod
    async def sign_in(cls, http_port, username, password):
        admin = cls(await Connection.open(http_port))
        try:
            _, page = await admin._exchange("GET", "/admin/sign-in")
            found = _CSRF.search(page.decode("utf-8"))
            if found is None:
                raise SignInFailed("no CSRF token on the sign-in page")
            form = urlencode({"csrf": found.group(1), "username": username, "password": password})
            status, _ = await admin._exchange(
                "POST", "/admin/sign-in", form.encode(),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
            if status != 303:
                raise SignInFailed(f"signing in answered {status}")
        except BaseException:
            admin.close()
            raise
        return admin

    async def live_version(self):
        """
        The version the monitor's page shows when it opens.
        """
        status, page = await self._exchange("GET", LIVE)
        found = _VERSION.search(page.decode("utf-8"))
        if status != 200 or found is None:
            raise SignInFailed(f"the monitor's page answered {status}")
        return int(found.group(1))

    async def news(self, after):
        """
        The monitor's next answer after version C{after}: (version, html).
        """
        path = f"{LIVE}.json?after={after}"
        status, content = await self._exchange("GET", path, headers={"Accept": "application/json"})
        if status != 200:
            raise SignInFailed(f"{path} answered {status}")
        answer = json.loads(content)
        return answer["version"], answer["html"]

    def close(self):
        self.connection.close()


class Watcher:
    """
    Follows the monitor as its page does, keeping its latest answer and
    when it arrived.
    """

    def __init__(self, admin, version, html, clock=time.monotonic):
        self.admin = admin
        self.version = version
        self.clock = clock
        self.html = html
        self.answers = 0
        self._news = asyncio.Event()

    async def follow(self):
        while True:
            self.version, self.html = await self.admin.news(self.version)
            self.answers += 1
            self.arrived = self.clock()
            self._news.set()
            self._news = asyncio.Event()
            await asyncio.sleep(PAUSE)

    async def until(self, test, timeout=CHANGE_TIMEOUT):
        """
        When the first answer that passes C{test} (a function of its html)
        arrived; C{None} when none did within C{timeout} seconds.
        """
        give_up = self.clock() + timeout
        while True:
            news = self._news
            remaining = give_up - self.clock()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(news.wait(), remaining)
            except TimeoutError:
                return None
            if test(self.html):
                return self.arrived


def row_of(html, visitor):
    """
    C{(chat id, state, last message)} of the monitor's row for the chat
    of C{visitor} (by name), or C{None} when it shows none.
    """
    found = re.search(
        r'<tr class="(\w+)[^"]*" data-chat="(\d+)">\s*<td class="visitor"><a [^>]*>'
        + re.escape(visitor) + r"</a>(.*?)</tr>",
        html,
        re.S,
    )
    if found is None:
        return None
    last = re.search(r'<time datetime="([^"]+)"', found.group(3))
    return int(found.group(2)), found.group(1), last and last.group(1)


class WatchedOperator:
    """
    The operator of the timed changes: hands each chat offered to it over
    to the run, which says when to take it.
    """

    def __init__(self, session):
        self.session = session
        self.offers = asyncio.Queue()
        self._seen = set()

    async def serve(self):
        async for stanza in self.session.stanzas():
            if stanza.tag != MESSAGE or stanza.get("type") == "error" or stanza.findtext(BODY) is None:
                continue
            guest = bare(stanza.get("from", ""))
            if guest not in self._seen:
                self._seen.add(guest)
                self.offers.put_nowait(guest)

    def take(self, guest):
        self.session.send_message(guest, "Hello from the desk.")


async def _rest(mcc_pid, seconds, watcher=None, clock=time.monotonic):
    answers = watcher.answers if watcher else 0
    began, cpu, host = clock(), cpu_seconds(mcc_pid), HostCpu.now()
    await asyncio.sleep(seconds)
    return Rest(
        seconds=clock() - began,
        mcc_cpu_seconds=cpu_seconds(mcc_pid) - cpu,
        host_busy_cores=HostCpu.now().busy_cores_since(host),
        answers=(watcher.answers - answers) if watcher else 0,
    )


async def _one_change(number, http_port, operator, watcher, clock):
    """
    One chat of the watched queue from start to end: the seconds until
    the monitor showed each of L{CHANGES}, C{None} for those it did not.
    """
    name = f"watched-visitor{number}"
    visitor = await Visitor.connect(http_port)
    try:
        delays = []

        async def timed(action, test):
            # Past the page's pause after the previous answer: the change
            # meets a long poll waiting.
            await asyncio.sleep(GAP_SECONDS)
            began = clock()
            await action()
            arrived = await watcher.until(test)
            delays.append(None if arrived is None else max(0.0, arrived - began))

        async def start():
            await visitor.start(WATCHED[2], name)

        await timed(start, lambda html: row_of(html, name) is not None)
        guest = await asyncio.wait_for(operator.offers.get(), CHANGE_TIMEOUT)
        shown = row_of(watcher.html, name)

        async def take():
            operator.take(guest)

        await timed(take, lambda html: (row_of(html, name) or (0, ""))[1] == "active")
        shown = row_of(watcher.html, name)

        async def say():
            await visitor.say(f"message {number}")

        before = shown[2] if shown else None
        await timed(say, lambda html: (row_of(html, name) or (0, "", before))[2] != before)
        await timed(visitor.end, lambda html: row_of(html, name) is None)
        return delays
    finally:
        visitor.close()


async def run(
    chats, rest_seconds, samples, xmpp_port, http_port, domain, staff, mcc_pid,
    clock=time.monotonic,
):
    """
    The run against mcc (process C{mcc_pid}), whose store has C{staff}
    (one (username, password, queue) per chat), L{WATCHED} and L{ADMIN}.
    """
    timings = Timings(clock)
    staff = staff[:chats]
    sessions, failed_logins = await _gather_counted(
        Session.open(xmpp_port, domain, username, password, resource="desk")
        for username, password, _ in staff
    )
    tasks = [asyncio.ensure_future(Operator(session, timings).serve()) for session in sessions]
    talkers, watched_session, admin = [], None, None
    try:
        talkers, failed_starts = await _gather_counted(
            _talker(http_port, queue, f"visitor{number}", timings)
            for number, (_, _, queue) in enumerate(staff, 1)
        )
        tasks += [asyncio.ensure_future(talker.listen()) for talker in talkers]
        answered = await _greeted(talkers)
        watched_session = await Session.open(xmpp_port, domain, WATCHED[0], WATCHED[1], resource="desk")
        operator = WatchedOperator(watched_session)
        tasks.append(asyncio.ensure_future(operator.serve()))
        gc.collect()
        gc.freeze()
        await asyncio.sleep(SETTLE_SECONDS)
        unwatched = await _rest(mcc_pid, rest_seconds, clock=clock)
        admin = await Admin.sign_in(http_port, *ADMIN)
        await admin.live_version()
        # The page shows what it was rendered with; asking after a version
        # that never was gets the same at once.
        watcher = Watcher(admin, *await admin.news(-1), clock=clock)
        monitor_bytes = len(watcher.html.encode("utf-8"))
        tasks.append(asyncio.ensure_future(watcher.follow()))
        await asyncio.sleep(SETTLE_SECONDS)
        watched = await _rest(mcc_pid, rest_seconds, watcher, clock)
        delays = {what: [] for what in CHANGES}
        missed = 0
        for number in range(1, samples + 1):
            for what, delay in zip(CHANGES, await _one_change(number, http_port, operator, watcher, clock)):
                if delay is None:
                    missed += 1
                else:
                    delays[what].append(delay)
        result = MonitorRun(
            chats=chats,
            active=len(answered),
            unwatched=unwatched,
            watched=watched,
            changes={what: Latency.of(seconds) for what, seconds in delays.items()},
            missed=missed,
            monitor_bytes=monitor_bytes,
            errors=failed_logins + failed_starts + timings.errors,
            mcc_peak_rss_kib=memory_kib(mcc_pid, "VmHWM"),
        )
        await _gather_counted(talker.visitor.end() for talker in talkers)
        return result
    finally:
        await _stopped(tasks)
        for talker in talkers:
            talker.visitor.close()
        for session in sessions + ([watched_session] if watched_session else []):
            session.close()
        if admin is not None:
            admin.close()


def render(run):
    """
    The figures of a L{MonitorRun} as text.
    """
    lines = [
        f"Live monitor: {run.active:,} of {run.chats:,} chats under way, monitor answer"
        f" {run.monitor_bytes / 1024:,.0f} KiB, mcc peak RSS {run.mcc_peak_rss_kib / 1024:,.0f} MiB,"
        f" errors {run.errors}",
    ]
    for label, rest in (("at rest, nobody watching", run.unwatched), ("at rest, admin watching", run.watched)):
        lines.append(
            f"  {label:26} mcc {100 * rest.share:.1f} % of a core over {rest.seconds:.0f} s"
            + (f" ({rest.answers} answers)" if rest is run.watched else "")
            + f", host busy {rest.host_busy_cores:.2f} cores"
        )
    for what, latency in run.changes.items():
        lines.append(
            f"  {what:26} until shown: p50 {latency.p50_ms:.0f} ms, max {latency.max_ms:.0f} ms"
            f" ({latency.count} times)"
        )
    if run.missed:
        lines.append(f"  changes never shown within {CHANGE_TIMEOUT:g} s: {run.missed}")
    return "\n".join(lines) + "\n"


def _parser():
    parser = argparse.ArgumentParser(prog="python -m bench.monitor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1000, help="chats under way (default: 1000)")
    parser.add_argument(
        "--rest", type=float, default=REST_SECONDS,
        help=f"seconds each at-rest measure lasts (default: {REST_SECONDS:g})",
    )
    parser.add_argument(
        "--samples", type=int, default=SAMPLES,
        help=f"chats started, taken, written to and ended (default: {SAMPLES})",
    )
    return parser


def main(argv=None, out=sys.stdout):
    from bench import chat, chatload
    from bench.processes import Processes

    arguments = _parser().parse_args(argv)
    chatload.raise_open_files_limit()
    processes = Processes()
    folder = Path(tempfile.mkdtemp(prefix="mcc-bench-monitor-"))
    out.write(f"mcc: live monitor with {arguments.chats} chats...\n")
    out.flush()
    try:
        result = chat.measure_monitor(processes, folder, arguments.chats, arguments.rest, arguments.samples)
    except BaseException:
        out.write(f"bench.monitor: failed; logs kept in {folder}\n")
        raise
    finally:
        processes.stop_all()
    shutil.rmtree(folder)
    out.write(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
