# -*- test-case-name: bench.tests.test_chatload -*-
"""
The load generator of the chat benchmarks, in a process of its own so that
its CPU is counted apart from mcc's and the driver's, and so that its event
loop competes with nothing else.  It writes what it measured as JSON.

    python -m bench.chatload round-trip --chats 100 --messages 20 --interval 2 ...
    python -m bench.chatload idle-visitors --visitors 10000 ...
    python -m bench.chatload bosh-round-trip --chats 100 ...   # against Prosody+BOSH
    python -m bench.chatload monitor --chats 1000 --rest 30 --samples 10 ...
    python -m bench.chatload round-trip --chats 100 ... --flood-logins 2000 --flood-seconds 10
    python -m bench.chatload login-flood --logins 2000 --seconds 10 ...   # started by that
"""

import argparse
import asyncio
import dataclasses
import json
import random
import resource
import sys
from pathlib import Path

from bench import flood, idle_visitors, monitor, roundtrip

SEED = 1


def staff(count):
    """
    The operators the store gets before mcc starts, one queue each so that
    every chat has an operator of its own: (username, password, queue).
    """
    return [(f"operator{n}", f"secret{n}", f"queue{n}") for n in range(1, count + 1)]


def bosh_visitors(count):
    """
    The peer's visitors, accounts of Prosody on BOSH: (username, password).
    """
    return [(f"visitor{n}", f"visitor-secret{n}") for n in range(1, count + 1)]


def command(kind, xmpp_port, http_port, domain, server_pid, output, **figures):
    """
    The command line that runs one benchmark of C{kind} with C{figures}
    (C{chats}, C{messages}, C{interval}; or C{visitors}).
    """
    argv = [
        sys.executable, "-m", "bench.chatload", kind,
        "--xmpp-port", str(xmpp_port),
        "--http-port", str(http_port),
        "--domain", domain,
        "--server-pid", str(server_pid),
        "--output", str(output),
    ]
    for name, value in figures.items():
        argv += [f"--{name.replace('_', '-')}", f"{value:g}" if isinstance(value, float) else str(value)]
    return argv


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m bench.chatload", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "kind",
        choices=("round-trip", "idle-visitors", "bosh-round-trip", "monitor", "login-flood"),
    )
    parser.add_argument("--xmpp-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument(
        "--server-pid", type=int, required=True, help="for the server's CPU and memory"
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="where the JSON goes; - for standard output"
    )
    parser.add_argument("--chats", type=int, default=10)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--visitors", type=int, default=100)
    parser.add_argument("--rest", type=float, default=30.0)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--logins", type=int, default=100, help="login-flood: how many")
    parser.add_argument("--seconds", type=float, default=10.0, help="login-flood: over how long")
    parser.add_argument(
        "--flood-logins", type=int, default=0, help="round-trip: a login flood of this many"
    )
    parser.add_argument("--flood-seconds", type=float, default=10.0)
    parser.add_argument(
        "--flood-after", type=float, default=5.0, help="seconds into the message phase"
    )
    return parser


def raise_open_files_limit():
    """
    Each visitor holds one or two sockets and each operator one.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def measure(arguments):
    """
    The coroutine of the benchmark the command line asks for.
    """
    ports = (arguments.xmpp_port, arguments.http_port, arguments.domain)
    plan = roundtrip.Plan(arguments.chats, arguments.messages, arguments.interval)
    if arguments.kind == "round-trip":
        flood_plan = None
        if arguments.flood_logins:
            flood_plan = flood.FloodPlan(
                arguments.flood_logins, arguments.flood_seconds, arguments.flood_after
            )
        return roundtrip.run(
            plan, *ports, staff(plan.chats), arguments.server_pid, random.Random(SEED),
            flood=flood_plan,
        )
    if arguments.kind == "login-flood":
        return flood.flood_and_hold(
            arguments.xmpp_port, arguments.domain, arguments.logins, arguments.seconds
        )
    if arguments.kind == "bosh-round-trip":
        return roundtrip.run_bosh(
            plan, *ports, staff(plan.chats), bosh_visitors(plan.chats), arguments.server_pid,
            random.Random(SEED),
        )
    if arguments.kind == "monitor":
        return monitor.run(
            arguments.chats, arguments.rest, arguments.samples, *ports, staff(arguments.chats),
            arguments.server_pid,
        )
    (operator,) = staff(1)
    return idle_visitors.hold(arguments.visitors, *ports, operator, arguments.server_pid)


def main(argv=None):
    arguments = _parser().parse_args(argv)
    raise_open_files_limit()
    result = asyncio.run(measure(arguments))
    if str(arguments.output) != "-":
        arguments.output.write_text(json.dumps(dataclasses.asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
