# -*- test-case-name: bench.tests.test_report -*-
"""
The plain-text report: each server's figures side by side, and mcc's as a
ratio of Prosody's measured in the same run; then the chat path, which is
mcc's alone.
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

# label, figure of a chat.ChatRun, format
CHAT_ROWS = (
    ("chats answered", lambda r: r.trip.answered, "{:.0f}"),
    ("messages sent by visitors", lambda r: r.trip.sent, "{:.0f}"),
    ("visitor -> operator p50 (ms)", lambda r: r.trip.to_operator.p50_ms, "{:.2f}"),
    ("visitor -> operator p95 (ms)", lambda r: r.trip.to_operator.p95_ms, "{:.2f}"),
    ("visitor -> operator p99 (ms)", lambda r: r.trip.to_operator.p99_ms, "{:.2f}"),
    ("visitor -> operator max (ms)", lambda r: r.trip.to_operator.max_ms, "{:.1f}"),
    ("operator -> visitor p50 (ms)", lambda r: r.trip.to_visitor.p50_ms, "{:.2f}"),
    ("operator -> visitor p95 (ms)", lambda r: r.trip.to_visitor.p95_ms, "{:.2f}"),
    ("operator -> visitor p99 (ms)", lambda r: r.trip.to_visitor.p99_ms, "{:.2f}"),
    ("operator -> visitor max (ms)", lambda r: r.trip.to_visitor.max_ms, "{:.1f}"),
    ("delivered per second (both ways)", lambda r: r.trip.delivered_per_second, "{:.1f}"),
    ("messages lost", lambda r: r.trip.lost, "{:.0f}"),
    ("errors", lambda r: r.trip.errors, "{:.0f}"),
    ("mcc CPU (s)", lambda r: r.trip.mcc_cpu_seconds, "{:.2f}"),
    ("mcc busy (% of a core)", lambda r: 100 * r.trip.mcc_cpu_seconds / r.trip.seconds, "{:.0f}"),
    ("mcc peak RSS (MiB)", lambda r: r.trip.mcc_peak_rss_kib / MIB, "{:.1f}"),
    ("load generator CPU (s)", lambda r: r.trip.load_cpu_seconds, "{:.2f}"),
    (
        "load generator busy (% of a core)",
        lambda r: 100 * r.trip.load_cpu_seconds / r.trip.seconds,
        "{:.0f}",
    ),
    ("load generator CPU, whole run (s)", lambda r: r.load_total_cpu_seconds, "{:.2f}"),
    ("host busy (cores)", lambda r: r.trip.host_busy_cores, "{:.2f}"),
)

IDLE_VISITOR_ROWS = (
    ("chats started", lambda r: r.started, "{:.0f}"),
    ("polls waiting", lambda r: r.polling, "{:.0f}"),
    ("errors", lambda r: r.errors, "{:.0f}"),
    ("time to start them (s)", lambda r: r.start_seconds, "{:.1f}"),
    ("mcc RSS before (MiB)", lambda r: r.rss_before_kib / MIB, "{:.1f}"),
    ("mcc RSS with the visitors (MiB)", lambda r: r.rss_after_kib / MIB, "{:.1f}"),
    ("per visitor (KiB)", lambda r: r.per_visitor_kib, "{:.1f}"),
)

CHAT_NOTES = (
    "There is no Prosody equivalent of the chat path (a visitor on mcc's HTTP API, an operator",
    "  on XMPP answering a guest JID): the chat figures are mcc's alone, and the XMPP sections'",
    "  ratios above are the comparison with a peer.",
    "Chats: one queue per operator, so every chat has its own operator, who takes it by",
    "  greeting the visitor and then answers each message at once. The load generator",
    "  (bench/chatload.py) is an asyncio process of its own: per visitor one keep-alive",
    "  HTTP/1.1 connection for its long polls and one for its posts, per operator one XMPP",
    "  connection (PLAIN on loopback). Every chat comes from 127.0.0.1, so mcc runs with",
    "  --chat-start-limit raised to the number of chats (benchmark only; default 10 a minute).",
    "visitor -> operator: from the POST written until the operator's client has parsed the",
    "  message; operator -> visitor: from the reply written until the visitor's long poll",
    "  returned it. Nearest-rank percentiles over every message. CPU, busy shares and",
    "  messages per second cover the message phase (from the first message due to the last",
    "  reply read); peak RSS is mcc's VmHWM. The load generator freezes its setup's objects",
    "  out of its garbage collector (gc.freeze) so that its own pauses stay out of the timings.",
    "Idle visitors: every chat rings the one operator of its queue, who stays silent; mcc runs",
    "  with --answer-timeout 3600 so that the chats keep ringing. Each visitor holds one",
    "  connection with a poll waiting (polls return after 25 s and are sent again).",
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


def chat_title(plan):
    return (
        f"Chat round trip: each visitor (HTTP long polling) sends {plan.messages} messages, one "
        f"every {plan.interval:g} s, to its operator (XMPP), who answers each at once"
    )


def chat_table(runs):
    """
    Lines of the round-trip figures, a column per number of chats.
    """
    width = max(len(label) for label, *_ in CHAT_ROWS) + 2
    sizes = "".join(f"{f'{run.trip.plan.chats} chats':>14}" for run in runs)
    offered = "".join(f"{f'{run.trip.plan.offered_rate:g}/s':>14}" for run in runs)
    lines = [
        chat_title(runs[0].trip.plan),
        f"{'':{width}}{sizes}",
        f"{'visitor messages offered':{width}}{offered}",
    ]
    for label, figure, form in CHAT_ROWS:
        values = "".join(f"{form.format(figure(run)):>14}" for run in runs)
        lines.append(f"{label:{width}}{values}")
    return lines


def idle_visitors_table(run):
    width = max(len(label) for label, *_ in IDLE_VISITOR_ROWS) + 2
    lines = [
        f"Idle cost: {run.visitors} idle long-polling visitors "
        "(chat started, a poll waiting; mcc only)"
    ]
    lines += [
        f"{label:{width}}{form.format(figure(run)):>12}"
        for label, figure, form in IDLE_VISITOR_ROWS
    ]
    return lines


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


def render(command, throughput, idle, idle_sessions, profile=(), chats=(), idle_visitors=None):
    """
    The whole report.

    @param throughput: pairs of L{compare.ServerRun} (Prosody's, mcc's),
        one per load.
    @param idle: a pair of L{idle.IdleRun}, or C{None} when not measured.
    @param profile: the lines of L{hottest}, if mcc was profiled.
    @param chats: the L{chat.ChatRun}s, one per number of chats.
    @param idle_visitors: an L{idle_visitors.IdleVisitors}, if measured.
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
    if chats:
        lines += [*chat_table(chats), ""]
    if idle_visitors is not None:
        lines += [*idle_visitors_table(idle_visitors), ""]
    if profile:
        lines += [*profile, ""]
    lines += NOTES
    if chats or idle_visitors is not None:
        lines += CHAT_NOTES
    return "\n".join(lines) + "\n"


def command_line():
    return " ".join([os.path.basename(sys.executable), "-m", "bench"] + sys.argv[1:])
