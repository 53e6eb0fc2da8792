# -*- test-case-name: bench.tests.test_chat -*-
"""
The chat benchmarks, driven from outside: a private mcc whose store gets
the operators (one queue each) before it starts, then the load generator
(L{bench.chatload}) against it in a process of its own, then mcc stopped.
The round trip's peer is Prosody with BOSH: a visitor there is an account
on HTTP long polling, its operator one on c2s.
"""

import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from bench import chatload, compare, flood, mcc_server, monitor, prosody
from bench.idle_visitors import IdleVisitors
from bench.processes import ProcessFailed, free_port, log_tail, open_files_limit
from bench.roundtrip import RoundTrip
from mcc.config import Config
from mcc.store import Store

ROOT = Path(__file__).resolve().parents[1]
# Nobody answers the idle visitors' chats: they must keep ringing.
IDLE_ANSWER_TIMEOUT = 3600
# Descriptors beside the sockets: listeners, the database, logs.
SPARE_FILES = 100
# Connections from 127.0.0.1 beside the chats' own: an administrator, retries.


@dataclass(frozen=True)
class ChatRun:
    """
    A round trip, and all the CPU its load generator used (setup included).
    """

    trip: RoundTrip
    load_total_cpu_seconds: float


def mcc_options(chats, answer_timeout=None, archive=True):
    """
    mcc's options beside the comparison's: every chat of the run comes
    from 127.0.0.1, so the flood limit on new chats must let them all in.
    Without C{archive}, mcc keeps no message archive (XEP-0313), to price
    its writes.
    """
    options = ["--chat-start-limit", str(chats)]
    if answer_timeout is not None:
        options += ["--answer-timeout", str(answer_timeout)]
    if not archive:
        options.append("--no-message-archive")
    return options


def check_open_files(pid, sockets):
    """
    Fail early, with the remedy, when mcc or the load generator (which
    raises its soft limit to our hard one) could not hold C{sockets}.
    """
    needed = sockets + SPARE_FILES
    _, ours = resource.getrlimit(resource.RLIMIT_NOFILE)
    for who, limit in (("mcc", open_files_limit(pid)), ("the load generator", ours)):
        if limit != resource.RLIM_INFINITY and limit < needed:
            raise ProcessFailed(
                f"{who} may open {limit} files, {needed} are needed: raise the limit (ulimit -n)"
            )


def create_admin(folder, username, password, now=time.time):
    """
    An administrator in the store mcc will start with in C{folder}.
    """
    data_dir = Path(folder) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(Config(data_dir=data_dir).database_path)
    try:
        store.users.add(username, password, now=now(), is_admin=True)
    finally:
        store.close()


def _start_mcc(processes, folder, people, options, accounts=()):
    port, http_port = free_port(), free_port()
    process = mcc_server.start(
        processes,
        folder,
        compare.DOMAIN,
        port,
        http_port,
        [(username, password) for username, password, _ in people] + list(accounts),
        queues=[(queue, [username]) for username, _, queue in people],
        options=options,
    )
    return process, port, http_port


def _run_load(processes, folder, sockets, timeout, kind, people, options, accounts=(),
              **figures):
    """
    Start mcc (its store with C{people} and C{accounts}), run the load
    generator against it and stop both; return the figures it wrote and
    the CPU seconds it used.
    """
    folder = Path(folder)
    process, port, http_port = _start_mcc(processes, folder, people, options, accounts)
    try:
        check_open_files(process.pid, sockets)
        output = folder / f"{kind}.json"
        argv = chatload.command(
            kind, port, http_port, compare.DOMAIN, process.pid, output, **figures
        )
        load = processes.start(argv, folder / f"{kind}.log", cwd=ROOT)
        try:
            status, cpu = processes.wait(load, timeout)
        finally:
            processes.stop(load)
        if process.poll() is not None:
            raise ProcessFailed(f"mcc exited under load:\n{log_tail(process.log_path)}")
        if status != 0 or not output.exists():
            raise ProcessFailed(
                f"the load generator failed (status {status}):\n{log_tail(load.log_path)}"
            )
        return json.loads(output.read_text()), cpu
    finally:
        processes.stop(process)


def measure_round_trip(processes, folder, plan, archive=True, flood_plan=None):
    """
    The round trip of L{bench.roundtrip} with C{plan.chats} chats; without
    C{archive}, against an mcc that keeps no message archive; with
    C{flood_plan} (a L{flood.FloodPlan}), a login flood during it.
    """
    # Setup runs at about a hundred logins and chats a second.
    timeout = 120 + plan.chats / 20 + plan.messages * plan.interval
    name = f"chat-{plan.chats}{'' if archive else '-no-archive'}"
    figures = {}
    accounts = ()
    if flood_plan is not None:
        name += f"-flood-{flood_plan.logins}"
        accounts = flood.accounts(flood_plan.logins)
        figures = dict(
            flood_logins=flood_plan.logins,
            flood_seconds=flood_plan.seconds,
            flood_after=flood_plan.after,
        )
    fields, cpu = _run_load(
        processes,
        Path(folder) / name,
        sockets=3 * plan.chats + len(accounts),
        timeout=timeout,
        kind="round-trip",
        people=chatload.staff(plan.chats),
        options=mcc_options(plan.chats, archive=archive),
        accounts=accounts,
        chats=plan.chats,
        messages=plan.messages,
        interval=plan.interval,
        **figures,
    )
    return ChatRun(RoundTrip.from_dict(fields), cpu)


def measure_bosh_round_trip(processes, folder, plan):
    """
    The same round trip against the peer: Prosody with BOSH, an account
    per visitor and per operator.
    """
    folder = Path(folder) / f"bosh-{plan.chats}"
    port, http_port = free_port(), free_port()
    operators = chatload.staff(plan.chats)
    accounts = [(username, password) for username, password, _ in operators]
    accounts += chatload.bosh_visitors(plan.chats)
    process = prosody.start(
        processes, folder, compare.DOMAIN, port, accounts, http_port=http_port
    )
    try:
        check_open_files(process.pid, 3 * plan.chats)
        output = folder / "bosh-round-trip.json"
        argv = chatload.command(
            "bosh-round-trip", port, http_port, compare.DOMAIN, process.pid, output,
            chats=plan.chats, messages=plan.messages, interval=plan.interval,
        )
        load = processes.start(argv, folder / "bosh-round-trip.log", cwd=ROOT)
        try:
            status, cpu = processes.wait(load, 120 + plan.chats / 20 + plan.messages * plan.interval)
        finally:
            processes.stop(load)
        if process.poll() is not None:
            raise ProcessFailed(f"Prosody exited under load:\n{log_tail(process.log_path)}")
        if status != 0 or not output.exists():
            raise ProcessFailed(
                f"the load generator failed (status {status}):\n{log_tail(load.log_path)}"
            )
        return ChatRun(RoundTrip.from_dict(json.loads(output.read_text())), cpu)
    finally:
        processes.stop(process)


def measure_idle_visitors(processes, folder, visitors):
    """
    mcc's memory with C{visitors} idle long-polling visitors.
    """
    fields, _ = _run_load(
        processes,
        Path(folder) / f"idle-visitors-{visitors}",
        sockets=visitors,
        timeout=120 + visitors / 20,
        kind="idle-visitors",
        people=chatload.staff(1),
        options=mcc_options(visitors, IDLE_ANSWER_TIMEOUT),
        visitors=visitors,
    )
    return IdleVisitors(**fields)


def measure_monitor(processes, folder, chats, rest, samples):
    """
    The live monitor of L{bench.monitor} with C{chats} chats under way.
    """
    folder = Path(folder) / f"monitor-{chats}"
    create_admin(folder, *monitor.ADMIN)
    fields, _ = _run_load(
        processes,
        folder,
        sockets=3 * chats + 10,
        timeout=120 + chats / 20 + 2 * rest + samples * 4 * monitor.CHANGE_TIMEOUT,
        kind="monitor",
        people=chatload.staff(chats) + [monitor.WATCHED],
        options=mcc_options(chats + samples + 10),
        chats=chats,
        rest=rest,
        samples=samples,
    )
    return monitor.MonitorRun.from_dict(fields)
