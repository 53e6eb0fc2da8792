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

from bench.processes import free_port
from mcc.config import Config
from mcc.store import Store

TWISTD = Path(sys.executable).parent / "twistd"
OPTIONS_NOTE = "mcc runs with --allow-plaintext-on-loopback (SASL PLAIN without TLS) and --no-federation"
# Every client of a run comes from 127.0.0.1: the limits per address on
# connections, on failed logins and on logins in progress would refuse all
# but the first few dozen of a run's sessions.
UNLIMITED = 1_000_000
LOOPBACK_LIMITS = (
    "--max-xmpp-connections-per-address", str(UNLIMITED),
    "--max-http-connections-per-address", str(UNLIMITED),
    "--auth-failures-allowed", str(UNLIMITED),
    "--logins-in-progress-per-address", str(UNLIMITED),
)


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


def command(data_dir, domain, xmpp_port, http_port, profile=None, options=(),
            tls_port=None, component_port=None):
    """
    The twistd command line, with mcc's C{options} added; with C{profile},
    a path, the process runs under cProfile and saves its statistics there
    when it stops.  The direct TLS and component ports are free loopback
    ones unless given: their defaults (5223, 5347) may be taken.
    """
    tls_port = tls_port or free_port()
    component_port = component_port or free_port()
    profiling = [f"--profile={profile}", "--profiler=cprofile", "--savestats"] if profile else []
    return [
        str(TWISTD), "--nodaemon", "--pidfile=", *profiling, "mcc",
        "--data-dir", str(data_dir),
        "--domain", domain,
        "--interface", "127.0.0.1",
        "--xmpp-port", str(xmpp_port),
        "--http-port", str(http_port),
        "--xmpp-tls-port", str(tls_port),
        "--component-listen", f"tcp:{component_port}:interface=127.0.0.1",
        "--allow-plaintext-on-loopback",
        "--no-federation",
        *LOOPBACK_LIMITS,
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
    process = processes.start(
        command(data_dir, domain, port, http_port, profile, options),
        folder / "twistd.log",
        cwd=folder,
    )
    processes.wait_for_port(process, port)
    processes.wait_for_port(process, http_port)
    return process
