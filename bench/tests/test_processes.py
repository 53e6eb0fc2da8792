"""
Starting and stopping the benchmark's programs, and reading /proc.
"""

import os
import resource
import shutil
import socket
import sys
import time

import pytest

from bench.processes import (
    HostCpu,
    ProcessFailed,
    Processes,
    cpu_seconds,
    free_port,
    memory_kib,
    open_files_limit,
)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_all_ends_the_process_groups(tmp_path):
    processes = Processes()
    # A shell whose child would outlive it without the group's signal.
    parent = processes.start(["sh", "-c", "sleep 60 & echo $!; wait"], tmp_path / "log")
    deadline = time.monotonic() + 10
    while not (tmp_path / "log").read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int((tmp_path / "log").read_text())
    processes.stop_all()
    assert parent.returncode is not None
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_stop_kills_what_ignores_sigterm(tmp_path):
    processes = Processes()
    process = processes.start(["sh", "-c", "trap '' TERM; sleep 60"], tmp_path / "log")
    time.sleep(0.2)
    processes.stop(process, grace=0.5)
    assert process.returncode == -9


def test_wait_returns_the_status_and_cpu(tmp_path):
    processes = Processes()
    spin = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    argv = [sys.executable, "-c", spin + "\nraise SystemExit(3)"]
    process = processes.start(argv, tmp_path / "log")
    status, cpu = processes.wait(process, timeout=30)
    assert status == 3
    assert 0.3 <= cpu < 3
    processes.stop_all()


def test_wait_gives_up(tmp_path):
    processes = Processes()
    process = processes.start(["sleep", "60"], tmp_path / "log")
    with pytest.raises(ProcessFailed, match="still runs"):
        processes.wait(process, timeout=0.3)
    processes.stop_all()


def test_wait_for_port_sees_the_listener(tmp_path):
    processes = Processes()
    port = free_port()
    serve = f"import socket, time\ns = socket.create_server(('127.0.0.1', {port}))\ntime.sleep(60)"
    process = processes.start([sys.executable, "-c", serve], tmp_path / "log")
    try:
        processes.wait_for_port(process, port, timeout=20)
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        processes.stop_all()


def test_wait_for_port_reports_an_early_exit_with_its_log(tmp_path):
    processes = Processes()
    process = processes.start(["sh", "-c", "echo cannot bind; exit 1"], tmp_path / "log")
    with pytest.raises(ProcessFailed, match="cannot bind"):
        processes.wait_for_port(process, free_port(), timeout=20)
    processes.stop_all()


def test_cpu_seconds_reads_names_with_spaces_and_parentheses(tmp_path):
    odd = tmp_path / "odd) name ("
    os.symlink(shutil.which("sh"), odd)
    processes = Processes()
    spin = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 60"
    process = processes.start([str(odd), "-c", spin], tmp_path / "log")
    try:
        time.sleep(0.5)
        with open(f"/proc/{process.pid}/stat") as stat:
            assert ") name (" in stat.read()
        assert 0 < cpu_seconds(process.pid) < 5
    finally:
        processes.stop_all()


def test_cpu_seconds_of_this_process():
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert cpu_seconds(os.getpid()) == pytest.approx(time.process_time(), abs=0.1)


def test_memory_figures_of_this_process():
    rss = memory_kib(os.getpid(), "VmRSS")
    assert 1000 < rss <= memory_kib(os.getpid(), "VmHWM")
    with pytest.raises(KeyError):
        memory_kib(os.getpid(), "NoSuchField")


def test_open_files_limit_of_a_child(tmp_path):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    processes = Processes()
    process = processes.start(["sh", "-c", "ulimit -n 300; exec sleep 60"], tmp_path / "log")
    try:
        deadline = time.monotonic() + 10
        while open_files_limit(process.pid) != 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert open_files_limit(process.pid) == 300
        assert open_files_limit(os.getpid()) == soft
    finally:
        processes.stop_all()


def test_host_busy_cores_come_from_idle_time():
    earlier = HostCpu(at=10.0, idle_seconds=100.0)
    assert HostCpu(at=12.0, idle_seconds=101.0).busy_cores_since(earlier, cores=2) == 1.5
    assert HostCpu(at=12.0, idle_seconds=104.5).busy_cores_since(earlier, cores=2) == 0.0
    assert HostCpu(at=10.0, idle_seconds=100.0).busy_cores_since(earlier, cores=2) == 0.0


def test_host_cpu_reads_proc_stat(tmp_path):
    stat = tmp_path / "stat"
    idle_ticks = 300 * os.sysconf("SC_CLK_TCK") - 50
    stat.write_text(f"cpu  10 0 20 {idle_ticks} 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n")
    sample = HostCpu.now(clock=lambda: 42.0, path=stat)
    assert sample == HostCpu(at=42.0, idle_seconds=300.0)
