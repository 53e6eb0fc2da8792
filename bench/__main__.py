# -*- test-case-name: bench.tests.test_main -*-
"""
mcc's benchmark: mcc against a private Prosody under the same tsung load,
then the memory idle XMPP sessions cost each; then mcc's chat round trip
(visitors on HTTP, operators on XMPP) and the memory of idle long-polling
visitors.  Prints plain-text tables and writes them to
bench/results/latest.txt (smoke.txt for --smoke).

    python -m bench                 # 200 and 1,000 users, 100 and 1,000 chats (make bench)
    python -m bench --peer-chats 1000   # the archive's price and Prosody+BOSH at 1,000
    python -m bench --smoke         # 20 users, 10 chats, a few seconds (make bench-smoke)
    python -m bench --history-chats 1000000   # also the Activity tab's histories
    python -m bench --monitor-chats 1000      # also its live monitor

Every process it starts (Prosody, twistd, tsung, epmd) is stopped at the
end, after a failure or a Ctrl-C too.
"""

import argparse
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench import chat, compare, flood, history, idle, monitor, report, roundtrip, tsung
from bench.host import Calibration
from bench.processes import Processes

RESULTS = Path(__file__).with_name("results")
TOOLS = ("tsung", "erl", "epmd", "prosody")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _parser():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--users", default="200,1000",
        help="comma-separated numbers of tsung users; 0 skips (default: 200,1000)"
    )
    parser.add_argument(
        "--chat-seconds", type=float, default=30.0,
        help="seconds tsung's users chat (default: 30)",
    )
    parser.add_argument(
        "--message-interval", type=float, default=1.0,
        help="seconds between two messages of one user (default: 1)",
    )
    parser.add_argument("--arrival-rate", type=float, default=100.0, help="logins per second")
    parser.add_argument(
        "--idle-sessions", type=int, default=5000,
        help="idle XMPP sessions; 0 skips (default: 5000)",
    )
    parser.add_argument(
        "--detached-sessions", type=int, default=1000,
        help="XMPP sessions left detached but resumable (XEP-0198); 0 skips (default: 1000)",
    )
    parser.add_argument(
        "--chats", default="100,1000",
        help="comma-separated numbers of concurrent chats for the round trip; 0 skips "
        "(default: 100,1000)",
    )
    parser.add_argument(
        "--visitor-messages", type=int, default=20,
        help="messages each visitor of the round trip sends (default: 20)",
    )
    parser.add_argument(
        "--visitor-interval", type=float, default=2.0,
        help="seconds between two messages of one visitor (default: 2)",
    )
    parser.add_argument(
        "--peer-chats", type=int,
        help="the number of chats at which the round trip also runs against mcc without its "
        "message archive and against Prosody+BOSH; 0 skips (default: the first of --chats)",
    )
    parser.add_argument(
        "--idle-visitors", type=int, default=10_000,
        help="idle long-polling visitors; 0 skips (default: 10000)",
    )
    parser.add_argument(
        "--history-chats", type=int, default=0,
        help="also time the Activity tab's histories on this many generated chats of "
        "20 events each; 0 skips (default: 0)",
    )
    parser.add_argument(
        "--monitor-chats", type=int, default=0,
        help="also time the Activity tab's live monitor with this many chats under way; "
        "0 skips (default: 0)",
    )
    parser.add_argument(
        "--smoke", action="store_true",
        help="a quick check: 20 users chatting 8 s, 50 idle sessions, "
        "10 chats of 5 messages, 100 idle visitors",
    )
    parser.add_argument(
        "--profile", action="store_true",
        help="then run the first load once more against mcc under cProfile "
        "and report its hottest functions",
    )
    parser.add_argument(
        "--flood-logins", type=int, default=2000,
        help="XMPP logins of the login flood during the round trips of --flood-chats; "
        "0 skips (default: 2000)",
    )
    parser.add_argument(
        "--flood-seconds", type=float, default=10.0,
        help="seconds the login flood lasts (default: 10)",
    )
    parser.add_argument(
        "--flood-chats", default="100,1000",
        help="comma-separated numbers of chats of the round trips that get a login flood "
        "(default: 100,1000)",
    )
    parser.add_argument(
        "--output", type=Path,
        help="default: bench/results/latest.txt, or smoke.txt with --smoke",
    )
    return parser


def _loads(arguments):
    if arguments.smoke:
        return [tsung.Load(users=20, chat_seconds=8, drain_seconds=2)]
    return [
        tsung.Load(
            users=int(size),
            chat_seconds=arguments.chat_seconds,
            message_interval=arguments.message_interval,
            arrival_rate=arguments.arrival_rate,
        )
        for size in arguments.users.split(",")
        if int(size)
    ]


def _chat_plans(arguments, sizes=None):
    """
    A round trip's plan per number of chats in C{sizes} (comma-separated;
    by default --chats), skipping zeros; the smoke run's one plan.
    """
    if arguments.smoke:
        return [roundtrip.Plan(chats=10, messages=5, interval=0.5)]
    return [
        roundtrip.Plan(int(size), arguments.visitor_messages, arguments.visitor_interval)
        for size in (arguments.chats if sizes is None else sizes).split(",")
        if int(size)
    ]


def _peer_plan(arguments, plans):
    """
    The plan of the round trip that also runs without the archive and
    against Prosody+BOSH, or C{None}.
    """
    if arguments.smoke or arguments.peer_chats is None:
        return plans[0] if plans else None
    if not arguments.peer_chats:
        return None
    return roundtrip.Plan(arguments.peer_chats, arguments.visitor_messages,
                          arguments.visitor_interval)


def _flood_plan(arguments):
    """
    The login flood during a round trip, or C{None}; it starts 5 s into
    the message phase (0.5 s for --smoke).
    """
    if arguments.smoke:
        return flood.FloodPlan(logins=100, seconds=1, after=0.5)
    if not arguments.flood_logins:
        return None
    return flood.FloodPlan(arguments.flood_logins, arguments.flood_seconds, after=5)


def _raise_open_files_limit():
    # Each user or visitor is a socket in tsung or the load generator and
    # one in the server, which inherit this.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))



def _stop_on_signals():
    # Unwind through every cleanup, also when started with SIGINT ignored
    # (in the background) or stopped by SIGTERM or SIGHUP.
    def interrupt(signum, frame):
        raise KeyboardInterrupt()

    for signum in STOP_SIGNALS:
        signal.signal(signum, interrupt)


def _stop_all(processes):
    # A second Ctrl-C must not cut the cleanup short.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    processes.stop_all()


STARTED = time.monotonic()


def _say(out, text):
    out.write(f"[{time.monotonic() - STARTED:4.0f} s] {text}\n")
    out.flush()


def run(arguments, folder, processes, out):
    beside = {"start": Calibration.now()}
    loads = _loads(arguments)
    throughput = []
    for load in loads:
        beside[f"tsung-{load.users}"] = Calibration.now()
        runs = []
        for server in compare.SERVERS:
            _say(out, f"{server}: {load.users} users for {load.chat_seconds:g} s...")
            runs.append(compare.measure(processes, folder / f"{load.users}-users", server, load))
        throughput.append(runs)
    idle_sessions = 50 if arguments.smoke else arguments.idle_sessions
    idle_runs = None
    if idle_sessions:
        beside["idle"] = Calibration.now()
        idle_runs = []
        for server in compare.SERVERS:
            _say(out, f"{server}: {idle_sessions} idle sessions...")
            idle_runs.append(idle.measure(processes, folder, server, idle_sessions))
    detached_sessions = 50 if arguments.smoke else arguments.detached_sessions
    detached_runs = None
    if detached_sessions:
        beside["detached"] = Calibration.now()
        detached_runs = []
        for server in compare.SERVERS:
            _say(out, f"{server}: {detached_sessions} resumable sessions, then detached...")
            detached_runs.append(
                idle.measure_detached(processes, folder, server, detached_sessions)
            )
    plans = _chat_plans(arguments)
    peer_plan = _peer_plan(arguments, plans)
    if peer_plan is not None and peer_plan not in plans:
        plans.append(peer_plan)
    chat_runs, archive_runs, peer_runs = [], None, None
    for plan in plans:
        beside[f"chats-{plan.chats}"] = Calibration.now()
        _say(out, f"mcc: {plan.chats} chats, {plan.messages} messages each...")
        chat_runs.append(chat.measure_round_trip(processes, folder, plan))
        if plan != peer_plan:
            continue
        beside["archive"] = Calibration.now()
        _say(out, f"mcc without its message archive: {plan.chats} chats...")
        archive_runs = (
            chat.measure_round_trip(processes, folder, plan, archive=False), chat_runs[-1]
        )
        beside["peer"] = Calibration.now()
        _say(out, f"Prosody+BOSH: {plan.chats} visitors, {plan.messages} messages each...")
        peer_runs = (chat.measure_bosh_round_trip(processes, folder, plan), chat_runs[-1])
    flood_runs = []
    flood_plan = _flood_plan(arguments)
    for plan in _chat_plans(arguments, arguments.flood_chats) if flood_plan is not None else ():
        beside[f"flood-{plan.chats}"] = Calibration.now()
        _say(out, f"mcc: {plan.chats} chats and {flood_plan.logins} logins in "
                  f"{flood_plan.seconds:g} s...")
        flood_runs.append(chat.measure_round_trip(processes, folder, plan, flood_plan=flood_plan))
    idle_visitors = 100 if arguments.smoke else arguments.idle_visitors
    idle_visitor_run = None
    if idle_visitors:
        beside["idle-visitors"] = Calibration.now()
        _say(out, f"mcc: {idle_visitors} idle long-polling visitors...")
        idle_visitor_run = chat.measure_idle_visitors(processes, folder, idle_visitors)
    profile = ()
    if arguments.profile and loads:
        beside["profile"] = Calibration.now()
        _say(out, f"mcc under cProfile: {loads[0].users} users...")
        profile = report.hottest(compare.profile_mcc(processes, folder, loads[0]), loads[0])
    text = report.render(
        report.command_line(), throughput, idle_runs, idle_sessions, profile,
        chat_runs, idle_visitor_run,
        detached=detached_runs, archive=archive_runs, peer=peer_runs, beside=beside,
        flood=flood_runs,
    )
    if arguments.history_chats:
        text += "\n" + history.report(arguments.history_chats, out)
    if arguments.monitor_chats:
        out.write(f"mcc: live monitor with {arguments.monitor_chats} chats...\n")
        out.flush()
        run = chat.measure_monitor(
            processes, folder, arguments.monitor_chats, monitor.REST_SECONDS, monitor.SAMPLES
        )
        text += "\n" + monitor.render(run)
    return text + f"\nThe run took {(time.monotonic() - STARTED) / 60:.1f} min.\n"


def main(argv=None, out=sys.stdout):
    arguments = _parser().parse_args(argv)
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        out.write(f"bench: missing {', '.join(missing)} (apt-get install tsung prosody)\n")
        return 1
    _raise_open_files_limit()
    _stop_on_signals()
    folder = Path(tempfile.mkdtemp(prefix="mcc-bench-"))
    processes = Processes()
    try:
        text = run(arguments, folder, processes, out)
    except KeyboardInterrupt:
        out.write(f"bench: interrupted; logs kept in {folder}\n")
        return 130
    except BaseException:
        out.write(f"bench: failed; logs kept in {folder}\n")
        raise
    finally:
        _stop_all(processes)
    shutil.rmtree(folder)
    out.write("\n" + text)
    output = arguments.output or RESULTS / ("smoke.txt" if arguments.smoke else "latest.txt")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    out.write(f"\n(written to {output})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
