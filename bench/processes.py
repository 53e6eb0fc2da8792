# -*- test-case-name: bench.tests.test_processes -*-
"""
The child processes of one benchmark run, and what /proc says about them.

Every process is started in its own session, so that a Ctrl-C reaches only
the driver, which then stops them all itself: a server killed by the
terminal's signal mid-run would leave nothing to measure and nothing to
clean.
"""

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def free_port():
    """
    A loopback TCP port that nothing listens on right now.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ProcessFailed(Exception):
    """
    A program of the benchmark exited or never became ready.
    """


class Processes:
    """
    Starts programs and stops every one of them, newest first.
    """

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._running = []

    def start(self, argv, log_path, env=None, cwd=None):
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        process.log_path = log_path
        self._running.append(process)
        return process

    def wait(self, process, timeout):
        """
        Wait for C{process} to exit; return its status and the CPU seconds
        it and the descendants it waited for used.
        """
        deadline = self._clock() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                self._running.remove(process)
                return process.returncode, usage.ru_utime + usage.ru_stime
            if self._clock() > deadline:
                raise ProcessFailed(f"{process.args[0]} still runs after {timeout} s")
            self._sleep(0.2)

    def wait_for_port(self, process, port, timeout=30):
        """
        Wait until C{process} accepts connections on loopback C{port}.
        """
        deadline = self._clock() + timeout
        while self._clock() < deadline:
            if process.poll() is not None:
                raise ProcessFailed(f"{process.args[0]} exited:\n{log_tail(process.log_path)}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                self._sleep(0.1)
        raise ProcessFailed(f"{process.args[0]} did not listen on {port} within {timeout} s")

    def stop(self, process, grace=10):
        """
        Terminate C{process} and its process group; kill them if they
        outlive C{grace} seconds.
        """
        if process in self._running:
            self._running.remove(process)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                process.wait(grace)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self):
        for process in reversed(list(self._running)):
            self.stop(process)


def log_tail(path, lines=20):
    try:
        with open(path, errors="replace") as log:
            return "".join(log.readlines()[-lines:])
    except OSError:
        return ""


def cpu_seconds(pid):
    """
    User plus system CPU seconds of a live process, from /proc/PID/stat.
    """
    with open(f"/proc/{pid}/stat") as stat:
        # The command name may hold spaces: fields are counted after it.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def memory_kib(pid, field):
    """
    A memory figure of /proc/PID/status (C{VmHWM}, C{VmRSS}) in KiB.
    """
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0])
    raise KeyError(field)


def open_files_limit(pid):
    """
    How many files a live process may open (its soft limit), from
    /proc/PID/limits.
    """
    with open(f"/proc/{pid}/limits") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                soft = line[len("Max open files"):].split()[0]
                return float("inf") if soft == "unlimited" else int(soft)
    raise KeyError("Max open files")


@dataclass(frozen=True)
class HostCpu:
    """
    The host's idle time so far.  Busy counters under-count on virtual
    machines, so busy time is what the idle counter did not see.
    """

    at: float
    idle_seconds: float

    @classmethod
    def now(cls, clock=time.monotonic, path="/proc/stat"):
        with open(path) as stat:
            fields = stat.readline().split()
        idle_ticks = int(fields[4]) + int(fields[5])
        return cls(clock(), idle_ticks / TICKS_PER_SECOND)

    def busy_cores_since(self, earlier, cores=None):
        """
        Average number of busy cores between C{earlier} and this sample.
        """
        cores = cores or os.cpu_count()
        elapsed = self.at - earlier.at
        if elapsed <= 0:
            return 0.0
        idle = self.idle_seconds - earlier.idle_seconds
        return max(0.0, cores - idle / elapsed)
