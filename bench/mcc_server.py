# -*- test-case-name: bench.tests.test_mcc_server -*-
"""
A private mcc for the comparison: C{twistd -n mcc} from the running
virtualenv, with a data dir of ours, on loopback ports.

C{--allow-plaintext-on-loopback} lets tsung log in with SASL PLAIN without
TLS, as it does with Prosody.  The accounts (and the queues of the chat
benchmarks) are created through the store before the server starts.
"""

import sys
import time
from pathlib import Path

from mcc.config import Config
from mcc.store import Store

from bench.processes import free_port

TWISTD = Path(sys.executable).parent / "twistd"
OPTIONS_NOTE = "mcc runs with --allow-plaintext-on-loopback (SASL PLAIN without TLS)"


def create_accounts(data_dir, accounts, now=time.time):
    """
    Add C{accounts}, pairs of username and password, in one transaction.
    """
    store = Store.open(Config(data_dir=Path(data_dir)).database_path)
    try:
        with store.transaction():
            for username, password in accounts:
                store.users.add(username, password, now=now())
    finally:
        store.close()


def create_queues(data_dir, queues, now=time.time):
    """
    Add C{queues}, pairs of a queue name and its operators' usernames.
    """
    store = Store.open(Config(data_dir=Path(data_dir)).database_path)
    try:
        for name, operators in queues:
            queue = store.queues.add(name, "", now=now())
            store.queues.set_operators(queue.id, operators)
    finally:
        store.close()


def command(data_dir, domain, xmpp_port, http_port, profile=None, options=()):
    """
    The twistd command line, with mcc's C{options} added; with C{profile},
    a path, the process runs under cProfile and saves its statistics there
    when it stops.
    """
    profiling = [f"--profile={profile}", "--profiler=cprofile", "--savestats"] if profile else []
    return [
        str(TWISTD), "--nodaemon", "--pidfile=", *profiling, "mcc",
        "--data-dir", str(data_dir),
        "--domain", domain,
        "--interface", "127.0.0.1",
        "--xmpp-port", str(xmpp_port),
        "--http-port", str(http_port),
        "--allow-plaintext-on-loopback",
        *options,
    ]


def start(
    processes, folder, domain, port, http_port, accounts, profile=None, queues=(), options=()
):
    """
    Start mcc in the foreground and wait until it listens.
    """
    folder = Path(folder)
    data_dir = folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    create_accounts(data_dir, accounts)
    create_queues(data_dir, queues)
    # Free ports for the listeners the benchmark does not use, so that it
    # runs beside another mcc on the same host; every simulated client
    # comes from 127.0.0.1, past the per-address caps and the login
    # throttle (which counts a login as failed until it succeeds: a
    # hundred at once from one address are throttled).
    options = [
        "--xmpp-tls-port", str(free_port()),
        "--component-listen", f"tcp:{free_port()}:interface=127.0.0.1",
        "--max-xmpp-connections-per-address", "100000",
        "--max-http-connections-per-address", "100000",
        "--auth-failures-allowed", "1000000",
        *options,
    ]
    process = processes.start(
        command(data_dir, domain, port, http_port, profile, options),
        folder / "twistd.log",
        cwd=folder,
    )
    processes.wait_for_port(process, port)
    processes.wait_for_port(process, http_port)
    return process
