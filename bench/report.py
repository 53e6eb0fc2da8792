# -*- test-case-name: bench.tests.test_report -*-
"""
The plain-text report: each server's figures side by side, and mcc's as a
ratio of Prosody's measured in the same run.
"""

import os
import platform
import pstats
import re
import subprocess
import sys
from pathlib import Path

import mcc

MIB = 1024
ROOT = f"{Path(__file__).resolve().parents[1]}/"

# label, figure of a ServerRun, format, whether a ratio means something
THROUGHPUT_ROWS = (
    ("users logged in", lambda r: r.logged_in, "{:.0f}", False),
    ("messages sent", lambda r: r.sent, "{:.0f}", False),
    ("messages delivered", lambda r: r.delivered, "{:.0f}", False),
    ("delivered per second", lambda r: r.delivered_per_second, "{:.1f}", True),
    ("delivery latency mean (ms)", lambda r: r.latency_ms, "{:.2f}", True),
    ("delivery latency max (ms)", lambda r: r.latency_max_ms, "{:.1f}", True),
    ("connect time mean (ms)", lambda r: r.connect_ms, "{:.2f}", True),
    ("login time mean (ms)", lambda r: r.login_ms, "{:.2f}", True),
    ("errors", lambda r: r.errors, "{:.0f}", False),
    ("server CPU (s)", lambda r: r.server_cpu_seconds, "{:.2f}", True),
    ("server peak RSS (MiB)", lambda r: r.server_peak_rss_kib / MIB, "{:.1f}", True),
    ("tsung CPU (s)", lambda r: r.tsung_cpu_seconds, "{:.2f}", False),
    ("host busy (cores)", lambda r: r.host_busy_cores, "{:.2f}", False),
)

IDLE_ROWS = (
    ("sessions logged in", lambda r: r.logged_in, "{:.0f}", False),
    ("RSS before (MiB)", lambda r: r.rss_before_kib / MIB, "{:.1f}", True),
    ("RSS with the sessions (MiB)", lambda r: r.rss_after_kib / MIB, "{:.1f}", True),
    ("per session (KiB)", lambda r: r.per_session_kib, "{:.1f}", True),
)

NOTES = (
    "Both servers accept SASL PLAIN without TLS on loopback for this benchmark only:",
    "  mcc runs with --allow-plaintext-on-loopback; Prosody with c2s_require_encryption = false,",
    "  allow_unencrypted_plain_auth = true and authentication = \"internal_plain\".",
    "  mcc checks a PLAIN password against its SCRAM-SHA-256 keys (PBKDF2, 4096 rounds);",
    "  Prosody's internal_plain compares the stored password: logins cost mcc more CPU.",
    "Both servers keep their network defaults: Nagle's algorithm on their sockets (Prosody's",
    "  nagle = true; Twisted leaves it on), and Prosody writes at the end of each loop turn",
    "  (opportunistic_writes = false). tsung's own sockets run without Nagle.",
    "Delivered messages are counted by tsung when a stamped message arrives, one per TCP read:",
    "  under overload, when messages arrive together, it counts fewer than were delivered.",
    "Server CPU is utime + stime of the server process during the tsung run (/proc/PID/stat);",
    "  peak RSS is its VmHWM; host busy is derived from the idle counter of /proc/stat.",
)


def ratio(mine, reference):
    if not reference:
        return "-"
    return f"{mine / reference:.2f}"


def table(title, rows, reference, other):
    """
    Lines of one table: a row per figure, the reference's column first.
    """
    width = max(len(label) for label, *_ in rows) + 2
    lines = [
        title,
        f"{'':{width}}{reference.server:>12}{other.server:>12}"
        f"{other.server + '/' + reference.server:>16}",
    ]
    for label, figure, form, has_ratio in rows:
        theirs, ours = figure(reference), figure(other)
        shown = ratio(ours, theirs) if has_ratio else ""
        lines.append(f"{label:{width}}{form.format(theirs):>12}{form.format(ours):>12}{shown:>16}")
    return lines


def throughput_title(load):
    return (
        f"XMPP c2s under tsung: {load.users} users, one chat message each every "
        f"{load.message_interval:g} s ({load.offered_rate:g} msg/s offered) "
        f"for {load.chat_seconds:g} s"
    )


def idle_title(sessions):
    return f"Idle cost: {sessions} idle XMPP sessions (logged in, presence sent, silent)"


def package_version(name):
    try:
        return subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", name],
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine():
    """
    Lines naming the machine and the software measured.
    """
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return [
        f"Machine: {model}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        f"Software: mcc {mcc.__version__} on Python {platform.python_version()}, "
        f"Prosody {package_version('prosody')}, tsung {package_version('tsung')}, "
        f"Erlang {package_version('erlang-base')}",
    ]


def short_path(path):
    """
    A module's path from its package root: the project's or the library's.
    """
    if path.startswith(ROOT):
        return path[len(ROOT):]
    return re.sub(r"^.*/(?:site-packages|python3\.\d+)/", "", path)


# Where an idle reactor waits: not work.
WAITING = {
    "<method 'poll' of 'select.epoll' objects>",
    "<method 'poll' of 'select.poll' objects>",
    "<built-in method select.select>",
}


def hottest(profile_path, load, limit=25):
    """
    Lines naming the functions where mcc spent the most time of its own
    under C{load}, from twistd's saved cProfile statistics.
    """
    entries = {
        key: value
        for key, value in pstats.Stats(str(profile_path)).stats.items()
        if key[2] not in WAITING
    }
    total = sum(own for _, _, own, _, _ in entries.values())
    ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:limit]
    lines = [
        f"Where mcc's time goes: cProfile of mcc under the {load.users}-user load, "
        f"{total:.2f} s busy (waiting in epoll left out; the profiler slows it down)",
        f"{'own s':>8}{'own %':>8}{'total s':>9}{'calls':>10}  function",
    ]
    for (path, line, name), (_, calls, own, cumulative, _) in ranked:
        where = name if path == "~" else f"{name} ({short_path(path)}:{line})"
        share = 100 * own / total if total else 0.0
        lines.append(f"{own:8.2f}{share:8.1f}{cumulative:9.2f}{calls:10d}  {where}")
    return lines


def render(command, throughput, idle, idle_sessions, profile=()):
    """
    The whole report.

    @param throughput: pairs of L{compare.ServerRun} (Prosody's, mcc's),
        one per load.
    @param idle: a pair of L{idle.IdleRun}, or C{None} when not measured.
    @param profile: the lines of L{hottest}, if mcc was profiled.
    """
    lines = ["mcc benchmark: mcc against Prosody under the same load, in one run", ""]
    lines += machine()
    lines += [f"Command: {command}", ""]
    for reference, other in throughput:
        lines += table(throughput_title(reference.load), THROUGHPUT_ROWS, reference, other)
        lines.append("")
    if idle is not None:
        lines += table(idle_title(idle_sessions), IDLE_ROWS, *idle)
        lines.append("")
    if profile:
        lines += [*profile, ""]
    lines += [
        "Not measured yet (they need the visitor HTTP long-polling API):",
        "  chat round trip, visitor POST -> operator's XMPP client -> reply -> visitor's poll",
        "  (p50/p95/p99/max, messages per second, peak RSS, load generator CPU);",
        "  idle cost of 10,000 long-polling visitors.",
        "",
    ]
    lines += NOTES
    return "\n".join(lines) + "\n"


def command_line():
    return " ".join([os.path.basename(sys.executable), "-m", "bench"] + sys.argv[1:])
