# -*- test-case-name: bench.tests.test_compare -*-
"""
One server under tsung's load: start it, run the scenario, read the
figures, stop it.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

from bench import mcc_server, prosody, tsung
from bench.processes import HostCpu, ProcessFailed, cpu_seconds, free_port, log_tail, memory_kib

DOMAIN = "bench.test"


def start_prosody(processes, folder, port, accounts):
    return prosody.start(processes, folder, DOMAIN, port, accounts)


def start_mcc(processes, folder, port, accounts, profile=None):
    return mcc_server.start(processes, folder, DOMAIN, port, free_port(), accounts, profile)


# In the order they run; the first is the reference of the ratios.
SERVERS = {"Prosody": start_prosody, "mcc": start_mcc}


@dataclass(frozen=True)
class ServerRun:
    """
    What one server did under one load.  Times are in milliseconds.
    """

    server: str
    load: tsung.Load
    logged_in: int
    sent: int
    delivered: int
    connect_ms: float
    login_ms: float
    latency_ms: float
    latency_max_ms: float
    errors: int
    server_cpu_seconds: float
    server_peak_rss_kib: int
    tsung_cpu_seconds: float
    host_busy_cores: float

    @property
    def delivered_per_second(self):
        return self.delivered / self.load.chat_seconds

    @classmethod
    def from_stats(cls, server, load, stats, **measured):
        latency = stats.sample("xmpp_msg_latency")
        return cls(
            server=server,
            load=load,
            logged_in=stats.counter("match"),
            sent=stats.sample("tr_chat").count,
            delivered=latency.count,
            connect_ms=stats.sample("connect").mean,
            login_ms=stats.sample("tr_login").mean,
            latency_ms=latency.mean,
            latency_max_ms=latency.max,
            errors=stats.errors,
            **measured,
        )


def measure(processes, folder, server, load, start=None):
    """
    Start C{server} (a name of L{SERVERS}) with the load's accounts, run
    tsung against it and stop it.

    @param start: how to start it, when not as L{SERVERS} says.
    """
    folder = Path(folder)
    port = free_port()
    start = start or SERVERS[server]
    process = start(processes, folder / server.lower(), port, tsung.accounts(load.users))
    try:
        cpu_before = cpu_seconds(process.pid)
        host_before = HostCpu.now()
        stats, tsung_cpu = tsung.run(
            processes, folder / f"tsung-{server.lower()}", load, DOMAIN, port, free_port()
        )
        host_after = HostCpu.now()
        if process.poll() is not None:
            raise ProcessFailed(f"{server} exited under load:\n{log_tail(process.log_path)}")
        return ServerRun.from_stats(
            server,
            load,
            stats,
            server_cpu_seconds=cpu_seconds(process.pid) - cpu_before,
            server_peak_rss_kib=memory_kib(process.pid, "VmHWM"),
            tsung_cpu_seconds=tsung_cpu,
            host_busy_cores=host_after.busy_cores_since(host_before),
        )
    finally:
        processes.stop(process)


def profile_mcc(processes, folder, load):
    """
    Run the load once more against mcc under cProfile; return the path of
    the saved statistics.
    """
    path = Path(folder) / "mcc.prof"
    measure(processes, folder, "mcc-profiled", load, functools.partial(start_mcc, profile=path))
    return path
