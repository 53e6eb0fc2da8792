# -*- test-case-name: bench.tests.test_roundtrip -*-
"""
The chat round trip under load.  Each of K chats has a visitor on the HTTP
API and an operator on XMPP, the only one of its queue, who takes the chat
by greeting the visitor.  Then every visitor sends M messages at a fixed
rate and its operator answers each at once.  Two legs are timed for every
message: from the visitor's POST until the operator's client reads it, and
from the operator's reply until the visitor's long poll returns it.
"""

import asyncio
import gc
import json
import math
import time
from dataclasses import dataclass

from bench import flood as login_flood
from bench.bosh import BoshError, BoshSession, chat_message, local_name
from bench.processes import HostCpu, cpu_seconds, memory_kib
from bench.visitor import ChatRefused, Visitor
from bench.xmpp_client import BODY, MESSAGE, Session, bare

GREETING = "Hello, how can I help?"
REPLY = "Re: "
CONCURRENT_SETUP = 50
SETUP_SECONDS = 60.0
LEAD_SECONDS = 0.5
DRAIN_SECONDS = 10.0
CHECK_SECONDS = 0.05


@dataclass(frozen=True)
class Plan:
    """
    C{chats} chats; each visitor sends C{messages}, one every C{interval}
    seconds, starting at a random point of the first interval.
    """

    chats: int
    messages: int
    interval: float

    @property
    def offered_rate(self):
        """
        Visitor messages per second; as many replies come back.
        """
        return self.chats / self.interval


@dataclass(frozen=True)
class Latency:
    """
    One leg's delays in milliseconds: nearest-rank percentiles.
    """

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds):
        ordered = sorted(seconds)
        if not ordered:
            return cls(0, 0.0, 0.0, 0.0, 0.0)

        def rank(percent):
            return 1000 * ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]

        return cls(len(ordered), rank(50), rank(95), rank(99), 1000 * ordered[-1])


@dataclass(frozen=True)
class FloodRun:
    """
    A login flood during the round trip: its logins, and the chat messages
    posted while it lasted (both legs).  CPU and host figures cover the
    flood's window.
    """

    plan: login_flood.FloodPlan
    logins: int
    failed: int
    seconds: float
    login_mean_ms: float
    login_p99_ms: float
    login_max_ms: float
    to_operator: Latency
    to_visitor: Latency
    server_cpu_seconds: float
    host_busy_cores: float

    @property
    def sent(self):
        """
        The chat messages sent while the flood lasted (that reached their
        operator: the leg that times them).
        """
        return self.to_operator.count

    @classmethod
    def from_dict(cls, fields):
        return cls(
            **dict(
                fields,
                plan=login_flood.FloodPlan(**fields["plan"]),
                to_operator=Latency(**fields["to_operator"]),
                to_visitor=Latency(**fields["to_visitor"]),
            )
        )


@dataclass(frozen=True)
class RoundTrip:
    """
    What one run measured.  CPU and host figures cover the message phase,
    which lasts C{seconds}: from the first message due to the last answer
    read (or the end of the wait for it).
    """

    plan: Plan
    operators: int
    answered: int
    sent: int
    to_operator: Latency
    to_visitor: Latency
    seconds: float
    errors: int
    server_cpu_seconds: float
    server_peak_rss_kib: int
    load_cpu_seconds: float
    host_busy_cores: float
    flood: FloodRun | None = None

    @property
    def delivered_per_second(self):
        """
        Messages delivered both ways, per second.
        """
        if not self.seconds:
            return 0.0
        return (self.to_operator.count + self.to_visitor.count) / self.seconds

    @property
    def lost(self):
        return 2 * self.sent - self.to_operator.count - self.to_visitor.count

    @classmethod
    def from_dict(cls, fields):
        """
        Rebuild one from C{dataclasses.asdict}'s output (as JSON carries it).
        """
        return cls(
            **dict(
                fields,
                plan=Plan(**fields["plan"]),
                to_operator=Latency(**fields["to_operator"]),
                to_visitor=Latency(**fields["to_visitor"]),
                flood=fields.get("flood") and FloodRun.from_dict(fields["flood"]),
            )
        )


@dataclass(frozen=True)
class Usage:
    """
    CPU seconds so far of mcc and of this process, and the host's idle time.
    """

    mcc: float
    own: float
    host: HostCpu

    @classmethod
    def now(cls, mcc_pid):
        return cls(cpu_seconds(mcc_pid), time.process_time(), HostCpu.now())


class Timings:
    """
    The messages in flight, by their unique text, and both legs' delays.
    """

    def __init__(self, clock):
        self.clock = clock
        self.posted = {}
        self.replied = {}
        self.to_operator = []
        self.to_visitor = []
        # When each message of those legs was sent, in the same order.
        self.sent_at = {id(self.to_operator): [], id(self.to_visitor): []}
        self.last_delivery = None
        self.sent = 0
        self.errors = 0

    def _delivered(self, pending, text, samples):
        at = pending.pop(text, None)
        if at is None:
            return False
        now = self.clock()
        samples.append(now - at)
        self.sent_at[id(samples)].append(at)
        self.last_delivery = now
        return True

    def sent_between(self, samples, start, end):
        """
        The delays of C{samples}' messages sent from C{start} to C{end}.
        """
        return [
            delay for delay, at in zip(samples, self.sent_at[id(samples)]) if start <= at <= end
        ]

    def posting(self, text):
        self.posted[text] = self.clock()

    def post_failed(self, text):
        self.posted.pop(text, None)
        self.errors += 1

    def operator_read(self, text):
        return self._delivered(self.posted, text, self.to_operator)

    def replying(self, text):
        self.replied[text] = self.clock()

    def visitor_read(self, text):
        return self._delivered(self.replied, text, self.to_visitor)

    @property
    def in_flight(self):
        return len(self.posted) + len(self.replied)


class Operator:
    """
    Takes the chat offered to it, then answers each visitor message at once.
    """

    def __init__(self, session, timings):
        self.session = session
        self.timings = timings
        self.guest = None

    async def serve(self):
        async for stanza in self.session.stanzas():
            body = stanza.findtext(BODY) if stanza.tag == MESSAGE else None
            if body is None or stanza.get("type") == "error":
                continue
            guest = bare(stanza.get("from", ""))
            if self.timings.operator_read(body):
                reply = REPLY + body
                self.timings.replying(reply)
                self.session.send_message(guest, reply)
            elif self.guest is None:
                # The first message of a chat is its offer.
                self.guest = guest
                self.session.send_message(guest, GREETING)


class Talker:
    """
    A visitor of the run: it polls all along and, once greeted, talks.
    """

    def __init__(self, visitor, name, timings):
        self.visitor = visitor
        self.name = name
        self.timings = timings
        self.greeted = asyncio.Event()

    async def listen(self):
        while self.visitor.open:
            try:
                events = await self.visitor.poll()
            except (ChatRefused, ConnectionError):
                self.timings.errors += 1
                return
            for event in events:
                if event["kind"] != "message" or event["from"] != "operator":
                    continue
                if event["text"] == GREETING:
                    self.greeted.set()
                else:
                    self.timings.visitor_read(event["text"])

    async def talk(self, plan, first_at):
        clock = self.timings.clock
        for number in range(plan.messages):
            await asyncio.sleep(max(0.0, first_at + number * plan.interval - clock()))
            text = f"{self.name} says {number}"
            self.timings.posting(text)
            try:
                await self.visitor.say(text)
                self.timings.sent += 1
            except (ChatRefused, ConnectionError, BoshError):
                self.timings.post_failed(text)


class BoshVisitor:
    """
    The visitor side of a BOSH session, as L{Talker} uses a L{Visitor}:
    C{say} sends at once (the server keeps the request until it has
    something to answer).
    """

    def __init__(self, session, operator, timings):
        self.session = session
        self.operator = operator
        self.timings = timings

    def on_stanza(self, stanza):
        if local_name(stanza.tag) != "message" or stanza.get("type") == "error":
            return
        for child in stanza:
            if local_name(child.tag) == "body":
                self.timings.visitor_read(child.text or "")

    async def say(self, text):
        if self.session.failed is not None:
            raise ConnectionError(str(self.session.failed))
        self.session.send(chat_message(self.operator, text))


async def _limited(gate, coroutine):
    async with gate:
        return await coroutine


async def _stopped(tasks):
    """
    Cancel C{tasks} and wait until they are done, once a run is over; the
    objects frozen out of the garbage collector for the run thaw.
    """
    gc.unfreeze()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _gather_counted(coroutines):
    """
    Run C{coroutines}, a few at a time: what they returned, and how many failed.
    """
    gate = asyncio.Semaphore(CONCURRENT_SETUP)
    outcomes = await asyncio.gather(
        *(_limited(gate, coroutine) for coroutine in coroutines), return_exceptions=True
    )
    done = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    return done, len(outcomes) - len(done)


async def _talker(http_port, queue, name, timings):
    visitor = await Visitor.connect(http_port)
    try:
        await visitor.start(queue, name)
    except BaseException:
        visitor.close()
        raise
    return Talker(visitor, name, timings)


async def _greeted(talkers):
    """
    The talkers whose operator took their chat within the setup's time.
    """
    waits = [asyncio.ensure_future(talker.greeted.wait()) for talker in talkers]
    if waits:
        await asyncio.wait(waits, timeout=SETUP_SECONDS)
    for wait in waits:
        wait.cancel()
    return [talker for talker in talkers if talker.greeted.is_set()]


async def _message_phase(plan, talkers, timings, rng):
    """
    Every talker sends its messages; then wait for the last answers.
    Returns when the first message was due.
    """
    clock = timings.clock
    first_at = clock() + LEAD_SECONDS
    await asyncio.gather(
        *(talker.talk(plan, first_at + rng.uniform(0, plan.interval)) for talker in talkers)
    )
    drained_by = clock() + DRAIN_SECONDS
    while timings.in_flight and clock() < drained_by:
        await asyncio.sleep(CHECK_SECONDS)
    return first_at


class _Flood:
    """
    The login flood's process, started C{plan.after} seconds into the
    message phase, and what it reported.
    """

    def __init__(self, plan, xmpp_port, domain, pid):
        self.plan = plan
        self.command = login_flood.command(xmpp_port, domain, plan)
        self.pid = pid
        self.process = None

    async def run(self, start_at, clock):
        await asyncio.sleep(max(0.0, start_at - clock()))
        before = Usage.now(self.pid)
        self.process = await asyncio.create_subprocess_exec(
            *self.command, stdout=asyncio.subprocess.PIPE
        )
        line = await self.process.stdout.readline()
        after = Usage.now(self.pid)
        if not line:
            raise ConnectionError("the login flood ended without a report")
        return login_flood.Logins(**json.loads(line)), before, after

    async def stop(self):
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    def result(self, timings, logins, before, after):
        durations = logins.durations
        login_times = Latency.of(durations)
        return FloodRun(
            plan=self.plan,
            logins=len(durations),
            failed=logins.failed,
            seconds=logins.ended - logins.started,
            login_mean_ms=1000 * sum(durations) / len(durations) if durations else 0.0,
            login_p99_ms=login_times.p99_ms,
            login_max_ms=login_times.max_ms,
            to_operator=Latency.of(
                timings.sent_between(timings.to_operator, logins.started, logins.ended)
            ),
            to_visitor=Latency.of(
                timings.sent_between(timings.to_visitor, logins.started, logins.ended)
            ),
            server_cpu_seconds=after.mcc - before.mcc,
            host_busy_cores=after.host.busy_cores_since(before.host),
        )


async def _measured(plan, pid, timings, talkers, logged_in, failures, rng, flood=None):
    """
    The message phase of C{talkers} against the server of process C{pid},
    with the login flood C{flood} (a L{_Flood}) during it if given.
    """
    clock = timings.clock
    # The setup's objects stay: our own full collections would pause
    # the clocks for tens of milliseconds.
    gc.collect()
    gc.freeze()
    before = Usage.now(pid)
    flooding = None
    if flood is not None:
        flooding = asyncio.ensure_future(flood.run(clock() + LEAD_SECONDS + flood.plan.after, clock))
    try:
        first_at = await _message_phase(plan, talkers, timings, rng)
        after = Usage.now(pid)
        flood_run = None
        if flooding is not None:
            flood_run = flood.result(timings, *await flooding)
    finally:
        if flooding is not None:
            flooding.cancel()
            await flood.stop()
    end = timings.last_delivery or clock()
    return RoundTrip(
        plan=plan,
        operators=logged_in,
        answered=len(talkers),
        sent=timings.sent,
        to_operator=Latency.of(timings.to_operator),
        to_visitor=Latency.of(timings.to_visitor),
        seconds=max(0.0, end - first_at),
        errors=failures + timings.errors,
        server_cpu_seconds=after.mcc - before.mcc,
        server_peak_rss_kib=memory_kib(pid, "VmHWM"),
        load_cpu_seconds=after.own - before.own,
        host_busy_cores=after.host.busy_cores_since(before.host),
        flood=flood_run,
    )


async def run_bosh(plan, xmpp_port, http_port, domain, staff, visitors, server_pid, rng,
                   clock=time.monotonic):
    """
    Run C{plan} against Prosody (process C{server_pid}) with BOSH on
    C{http_port}: operators C{staff}, (username, password, _) each, on
    c2s; visitors C{visitors}, (username, password) each, over BOSH.
    """
    timings = Timings(clock)
    staff, visitors = staff[: plan.chats], visitors[: plan.chats]
    sessions, failed_logins = await _gather_counted(
        Session.open(xmpp_port, domain, username, password, resource="desk")
        for username, password, _ in staff
    )
    tasks = [asyncio.ensure_future(Operator(session, timings).serve()) for session in sessions]

    async def visitor(username, password, operator):
        session = await BoshSession.open(http_port, domain, username, password, resource="web")
        return BoshVisitor(session, f"{operator}@{domain}", timings)

    bosh_visitors = []
    try:
        bosh_visitors, failed_visitors = await _gather_counted(
            visitor(username, password, operator)
            for (username, password), (operator, _, _) in zip(visitors, staff)
        )
        talkers = []
        for number, one in enumerate(bosh_visitors, 1):
            one.session.run(one.on_stanza)
            talkers.append(Talker(one, f"visitor{number}", timings))
        result = await _measured(
            plan, server_pid, timings, talkers, len(sessions), failed_logins + failed_visitors,
            rng,
        )
        for one in bosh_visitors:
            one.session.terminate()
        await asyncio.sleep(CHECK_SECONDS)
        return result
    finally:
        await _stopped(tasks)
        for one in bosh_visitors:
            one.session.close()
        for session in sessions:
            session.close()


async def run(plan, xmpp_port, http_port, domain, staff, mcc_pid, rng, clock=time.monotonic,
              flood=None):
    """
    Run C{plan} against mcc (process C{mcc_pid}), whose store has
    C{staff}: one (username, password, queue) per chat; with C{flood}, a
    L{login_flood.FloodPlan}, its logins (of L{login_flood.accounts},
    which the store has too) during the message phase.
    """
    timings = Timings(clock)
    staff = staff[: plan.chats]
    sessions, failed_logins = await _gather_counted(
        Session.open(xmpp_port, domain, username, password, resource="desk")
        for username, password, _ in staff
    )
    tasks = [asyncio.ensure_future(Operator(session, timings).serve()) for session in sessions]
    talkers = []
    try:
        talkers, failed_starts = await _gather_counted(
            _talker(http_port, queue, f"visitor{number}", timings)
            for number, (_, _, queue) in enumerate(staff, 1)
        )
        tasks += [asyncio.ensure_future(talker.listen()) for talker in talkers]
        answered = await _greeted(talkers)
        result = await _measured(
            plan, mcc_pid, timings, answered, len(sessions), failed_logins + failed_starts, rng,
            flood=flood and _Flood(flood, xmpp_port, domain, mcc_pid),
        )
        # End the chats, as visitors leave, before their operators go.
        await _gather_counted(talker.visitor.end() for talker in talkers)
        return result
    finally:
        await _stopped(tasks)
        for talker in talkers:
            talker.visitor.close()
        for session in sessions:
            session.close()
