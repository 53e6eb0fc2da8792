# -*- test-case-name: bench.tests.test_report -*-
"""
The plain-text report: each server's figures side by side, and mcc's as a
ratio of Prosody's measured in the same run; then the chat path, which is
mcc's alone.
"""

import os
import pstats
import re
import subprocess
import sys
from pathlib import Path

import mcc
from bench.host import CALIBRATION_NOTE, Host

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
    ("peak RSS (MiB)", lambda r: r.peak_kib / MIB, "{:.1f}", True),
)

DETACHED_ROWS = (
    ("sessions resumable", lambda r: r.resumable, "{:.0f}", False),
    ("RSS before (MiB)", lambda r: r.rss_before_kib / MIB, "{:.1f}", True),
    ("RSS attached (MiB)", lambda r: r.rss_attached_kib / MIB, "{:.1f}", True),
    ("RSS detached, resumable (MiB)", lambda r: r.rss_detached_kib / MIB, "{:.1f}", True),
    ("per session attached (KiB)", lambda r: r.attached_per_session_kib, "{:.1f}", True),
    ("per session detached (KiB)", lambda r: r.detached_per_session_kib, "{:.1f}", True),
)


def cpu_per_message_ms(run):
    """
    The server's CPU over the message phase per message delivered, both
    ways counted.
    """
    trip = run.trip
    delivered = trip.to_operator.count + trip.to_visitor.count
    return 1000 * trip.server_cpu_seconds / delivered if delivered else 0.0


def _busy(seconds, run):
    return 100 * seconds / run.trip.seconds if run.trip.seconds else 0.0


# label, figure of a chat.ChatRun, format, whether a ratio means something
PAIR_ROWS = (
    ("chats answered", lambda r: r.trip.answered, "{:.0f}", False),
    ("messages sent by visitors", lambda r: r.trip.sent, "{:.0f}", False),
    ("server CPU per message (ms)", cpu_per_message_ms, "{:.3f}", True),
    ("visitor -> operator p50 (ms)", lambda r: r.trip.to_operator.p50_ms, "{:.2f}", True),
    ("visitor -> operator p95 (ms)", lambda r: r.trip.to_operator.p95_ms, "{:.2f}", True),
    ("visitor -> operator p99 (ms)", lambda r: r.trip.to_operator.p99_ms, "{:.2f}", True),
    ("visitor -> operator max (ms)", lambda r: r.trip.to_operator.max_ms, "{:.1f}", True),
    ("operator -> visitor p50 (ms)", lambda r: r.trip.to_visitor.p50_ms, "{:.2f}", True),
    ("operator -> visitor p95 (ms)", lambda r: r.trip.to_visitor.p95_ms, "{:.2f}", True),
    ("operator -> visitor p99 (ms)", lambda r: r.trip.to_visitor.p99_ms, "{:.2f}", True),
    ("operator -> visitor max (ms)", lambda r: r.trip.to_visitor.max_ms, "{:.1f}", True),
    ("delivered per second (both ways)", lambda r: r.trip.delivered_per_second, "{:.1f}", True),
    ("messages lost", lambda r: r.trip.lost, "{:.0f}", False),
    ("errors", lambda r: r.trip.errors, "{:.0f}", False),
    ("server CPU (s)", lambda r: r.trip.server_cpu_seconds, "{:.2f}", True),
    ("server busy (% of a core)", lambda r: _busy(r.trip.server_cpu_seconds, r), "{:.0f}", True),
    ("server peak RSS (MiB)", lambda r: r.trip.server_peak_rss_kib / MIB, "{:.1f}", True),
    ("load generator CPU (s)", lambda r: r.trip.load_cpu_seconds, "{:.2f}", False),
    ("host busy (cores)", lambda r: r.trip.host_busy_cores, "{:.2f}", False),
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
    ("mcc CPU (s)", lambda r: r.trip.server_cpu_seconds, "{:.2f}"),
    ("mcc busy (% of a core)", lambda r: 100 * r.trip.server_cpu_seconds / r.trip.seconds, "{:.0f}"),
    ("mcc peak RSS (MiB)", lambda r: r.trip.server_peak_rss_kib / MIB, "{:.1f}"),
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

# A round trip with a login flood, its messages: each figure of the whole
# phase (a RoundTrip) and of those sent while the flood lasted (a FloodRun).
FLOOD_ROWS = (
    ("chat messages sent", lambda r: r.sent, "{:.0f}"),
    ("visitor -> operator p50 (ms)", lambda r: r.to_operator.p50_ms, "{:.2f}"),
    ("visitor -> operator p99 (ms)", lambda r: r.to_operator.p99_ms, "{:.2f}"),
    ("visitor -> operator max (ms)", lambda r: r.to_operator.max_ms, "{:.1f}"),
    ("operator -> visitor p50 (ms)", lambda r: r.to_visitor.p50_ms, "{:.2f}"),
    ("operator -> visitor p99 (ms)", lambda r: r.to_visitor.p99_ms, "{:.2f}"),
    ("operator -> visitor max (ms)", lambda r: r.to_visitor.max_ms, "{:.1f}"),
    ("mcc busy (% of a core)",
     lambda r: 100 * r.server_cpu_seconds / r.seconds if r.seconds else 0, "{:.0f}"),
    ("host busy (cores)", lambda r: r.host_busy_cores, "{:.2f}"),
)

FLOOD_NOTES = (
    "Login flood: a process of its own logs the accounts in (SASL PLAIN, resource binding,",
    "  initial presence) at an even rate while the round trip runs, and keeps them until the",
    "  message phase is over. 'during the flood' counts the messages sent from its first",
    "  login's start to its last login's end; login time is from the connection opened to",
    "  the bind result.",
)

DETACHED_NOTES = (
    "Resumable sessions: each session logs in as for the idle cost, enables stream management",
    "  with <enable resume='true'/> and, once every one is enabled, its socket is closed (an",
    "  abort, no </stream:stream>). RSS 2 s after each step; both servers keep a detached",
    "  session far longer than that (mcc 300 s; Prosody's mod_smacks, smacks_hibernation_time",
    "  600 s by default).",
)

ARCHIVE_NOTES = (
    "Archive price: the same round trip twice, one after the other, against a fresh mcc with",
    "  its XEP-0313 archive (the default: every message of an operator's guest chats is",
    "  written to SQLite) and with --no-message-archive (benchmark only). Server CPU per",
    "  message is mcc's CPU over the message phase over the messages delivered both ways.",
)

PEER_NOTES = (
    "Peer: Prosody with mod_bosh (XEP-0124/0206) on a loopback HTTP port, consider_bosh_secure",
    "  = true; each visitor is an account of its own (written into Prosody's data folder) on a",
    "  BOSH session (hold 1, wait 60) over two keep-alive HTTP/1.1 connections, the same shape",
    "  as mcc's visitors (bench/bosh.py); it sends presence, then its messages to its operator's",
    "  bare JID; the operators are on c2s and answer the visitor's bare JID at once. mcc's column",
    "  is its round trip with the same plan. Server CPU per message: utime + stime of the server",
    "  (/proc/PID/stat) over the message phase over the messages delivered both ways.",
)

CHAT_NOTES = (
    "The chat path (a visitor on mcc's HTTP API, an operator on XMPP answering a guest JID) has",
    "  no exact equivalent in Prosody; its peer is Prosody's BOSH, which carries a visitor's",
    "  messages over HTTP long polling to an operator on c2s (the chat path against a peer).",
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
    "  allow_unencrypted_plain_auth = true and authentication = \"internal_hashed\" (its default)",
    "  with default_iteration_count = 4096. Each checks a PLAIN password against the SCRAM keys",
    "  it keeps, one PBKDF2 of 4,096 rounds: mcc's SCRAM-SHA-256 keys, Prosody's SCRAM-SHA-1.",
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


def table(title, rows, reference, other, names=None):
    """
    Lines of one table: a row per figure, the reference's column first;
    the columns are named by C{names} or by each one's C{server}.
    """
    theirs_name, ours_name = names or (reference.server, other.server)
    width = max(len(label) for label, *_ in rows) + 2
    column = max(12, len(theirs_name) + 2, len(ours_name) + 2)
    ratio_name = f"{ours_name}/{theirs_name}"
    ratio_column = max(column + 4, len(ratio_name) + 2)
    lines = [
        title,
        f"{'':{width}}{theirs_name:>{column}}{ours_name:>{column}}{ratio_name:>{ratio_column}}",
    ]
    for label, figure, form, has_ratio in rows:
        theirs, ours = figure(reference), figure(other)
        shown = ratio(ours, theirs) if has_ratio else ""
        lines.append(
            f"{label:{width}}{form.format(theirs):>{column}}{form.format(ours):>{column}}"
            f"{shown:>{ratio_column}}"
        )
    return lines


def throughput_title(load):
    return (
        f"XMPP c2s under tsung: {load.users} users, one chat message each every "
        f"{load.message_interval:g} s ({load.offered_rate:g} msg/s offered) "
        f"for {load.chat_seconds:g} s"
    )


def idle_title(sessions):
    return f"Idle cost: {sessions} idle XMPP sessions (logged in, presence sent, silent)"


def detached_title(sessions):
    return (
        f"Resumable sessions: {sessions} XMPP sessions enable stream management with "
        "resumption (XEP-0198), then their sockets are cut without closing the stream"
    )


def archive_title(plan):
    return (
        f"Price of the message archive (XEP-0313) on the chat round trip: {plan.chats} chats, "
        f"{plan.messages} messages each every {plan.interval:g} s, mcc with and without it"
    )


def peer_title(plan):
    return (
        f"Chat path against a peer: {plan.chats} long-polling visitors, each sends "
        f"{plan.messages} messages every {plan.interval:g} s to its operator (XMPP c2s), "
        "who answers each at once"
    )


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


def flood_title(trip):
    flood = trip.flood
    return (
        f"Login flood: {flood.plan.logins} XMPP logins in {flood.plan.seconds:g} s, "
        f"{flood.plan.after:g} s into the chat round trip of {trip.plan.chats} chats "
        f"({trip.plan.messages} messages each every {trip.plan.interval:g} s)"
    )


def flood_table(run):
    """
    Lines of a round trip with a login flood: the logins, then the chat
    figures of the whole message phase beside those during the flood.
    """
    trip, flood = run.trip, run.trip.flood
    logins = (
        ("logins completed", f"{flood.logins}"),
        ("logins failed", f"{flood.failed}"),
        ("flood lasted (s)", f"{flood.seconds:.1f}"),
        ("login time mean (ms)", f"{flood.login_mean_ms:.1f}"),
        ("login time p99 (ms)", f"{flood.login_p99_ms:.1f}"),
        ("login time max (ms)", f"{flood.login_max_ms:.1f}"),
    )
    width = max(len(label) for label, *_ in FLOOD_ROWS + logins) + 2
    lines = [flood_title(trip)]
    lines += [f"{label:{width}}{value:>14}" for label, value in logins]
    lines.append(f"{'':{width}}{'whole phase':>14}{'during flood':>14}")
    for label, figure, form in FLOOD_ROWS:
        lines.append(
            f"{label:{width}}{form.format(figure(trip)):>14}{form.format(figure(flood)):>14}"
        )
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


def machine(host=None, calibration=None):
    """
    Lines naming the machine and the software measured, with the
    calibration at the start of the run.
    """
    host = host or Host.here()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    lines = [
        f"{host.line()}, {memory:.0f} GiB RAM",
        f"Software: mcc {mcc.__version__}, Prosody {package_version('prosody')}, "
        f"tsung {package_version('tsung')}, Erlang {package_version('erlang-base')}",
    ]
    if calibration is not None:
        lines.append(f"At the start, {calibration.line()}")
    return lines


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


def _beside(beside, key, label=""):
    calibration = (beside or {}).get(key)
    if calibration is None:
        return []
    return [f"  {label}{calibration.line()}"]


def render(command, throughput, idle, idle_sessions, profile=(), chats=(), idle_visitors=None,
           detached=None, archive=None, peer=None, host=None, beside=None, flood=()):
    """
    The whole report.

    @param throughput: pairs of L{compare.ServerRun} (Prosody's, mcc's),
        one per load.
    @param idle: a pair of L{idle.IdleRun}, or C{None} when not measured.
    @param profile: the lines of L{hottest}, if mcc was profiled.
    @param chats: the L{chat.ChatRun}s, one per number of chats.
    @param idle_visitors: an L{idle_visitors.IdleVisitors}, if measured.
    @param detached: a pair of L{idle.DetachedRun} (Prosody's, mcc's).
    @param archive: a pair of L{chat.ChatRun}, mcc without its message
        archive and with it.
    @param peer: a pair of L{chat.ChatRun}, Prosody with BOSH and mcc.
    @param flood: the L{chat.ChatRun}s with a login flood, one per number of chats.
    @param host: the L{Host}; by default this one.
    @param beside: L{Calibration}s by section: C{"start"}, C{"tsung-N"},
        C{"idle"}, C{"detached"}, C{"chats-N"}, C{"archive"}, C{"peer"},
        C{"idle-visitors"}, C{"profile"}, C{"flood-N"}.
    """
    beside = beside or {}
    lines = ["mcc benchmark: mcc against Prosody under the same load, in one run", ""]
    lines += machine(host, beside.get("start"))
    lines += [f"Command: {command}", ""]
    for reference, other in throughput:
        lines += table(throughput_title(reference.load), THROUGHPUT_ROWS, reference, other)
        lines += _beside(beside, f"tsung-{reference.load.users}")
        lines.append("")
    if idle is not None:
        lines += table(idle_title(idle_sessions), IDLE_ROWS, *idle)
        lines += [*_beside(beside, "idle"), ""]
    if detached is not None:
        lines += table(detached_title(detached[0].sessions), DETACHED_ROWS, *detached)
        lines += [*_beside(beside, "detached"), ""]
    if chats:
        lines += chat_table(chats)
        for run in chats:
            lines += _beside(beside, f"chats-{run.trip.plan.chats}", f"{run.trip.plan.chats} chats, ")
        lines.append("")
    if archive is not None:
        lines += table(
            archive_title(archive[0].trip.plan), PAIR_ROWS, *archive,
            names=("archive off", "archive on"),
        )
        lines += [*_beside(beside, "archive"), ""]
    if peer is not None:
        lines += table(
            peer_title(peer[0].trip.plan), PAIR_ROWS, *peer, names=("Prosody+BOSH", "mcc")
        )
        lines += [*_beside(beside, "peer"), ""]
    for run in flood:
        lines += [*flood_table(run), *_beside(beside, f"flood-{run.trip.plan.chats}"), ""]
    if idle_visitors is not None:
        lines += [*idle_visitors_table(idle_visitors), *_beside(beside, "idle-visitors"), ""]
    if profile:
        lines += [*profile, *_beside(beside, "profile"), ""]
    lines += NOTES
    if detached is not None:
        lines += DETACHED_NOTES
    if chats or idle_visitors is not None:
        lines += CHAT_NOTES
    if archive is not None:
        lines += ARCHIVE_NOTES
    if peer is not None:
        lines += PEER_NOTES
    if flood:
        lines += FLOOD_NOTES
    lines += CALIBRATION_NOTE
    return "\n".join(lines) + "\n"


def command_line():
    return " ".join([os.path.basename(sys.executable), "-m", "bench"] + sys.argv[1:])
