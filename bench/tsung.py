# -*- test-case-name: bench.tests.test_tsung -*-
"""
tsung, the load generator both servers face: the scenario, the run, and the
figures read back from its C{tsung.log}.
"""

import math
import os
import string
from dataclasses import dataclass
from pathlib import Path

from bench.processes import ProcessFailed, log_tail

TSUNG = "tsung"
EPMD = "epmd"
TEMPLATE = Path(__file__).with_name("scenario.xml")
USERNAME_PREFIX = "bench"
PASSWORD_PREFIX = "secret"


@dataclass(frozen=True)
class Load:
    """
    What every server faces: C{users} log in, C{arrival_rate} a second;
    once all are online each sends a chat message every
    C{message_interval} seconds for C{chat_seconds}.
    """

    users: int
    chat_seconds: float
    message_interval: float = 1.0
    arrival_rate: float = 100.0
    message_size: int = 64
    drain_seconds: float = 3.0

    @property
    def arrival_seconds(self):
        """
        The arrival phase: long enough for all users and then some, as tsung
        starts it up to a second late and stops launching when it ends.
        """
        return math.ceil(self.users / self.arrival_rate) + 5

    @property
    def messages_per_user(self):
        return max(1, round(self.chat_seconds / self.message_interval))

    @property
    def offered_rate(self):
        return self.users / self.message_interval

    @property
    def hard_stop_seconds(self):
        """
        When tsung gives up on sessions that hang, in seconds.
        """
        busy = self.arrival_seconds + self.chat_seconds + self.drain_seconds
        return math.ceil(2 * busy + 30)


def accounts(users):
    """
    The username and password of each of tsung's built-in users: it numbers
    them from 1 and appends the number to both prefixes.
    """
    return [(f"{USERNAME_PREFIX}{n}", f"{PASSWORD_PREFIX}{n}") for n in range(1, users + 1)]


def scenario(load, domain, port):
    """
    The tsung XML for C{load} against a server on loopback C{port}.
    """
    return string.Template(TEMPLATE.read_text()).substitute(
        users=load.users,
        # More than will ever run: reaching it makes tsung try another VM.
        max_users=2 * load.users,
        port=port,
        domain=domain,
        username_prefix=USERNAME_PREFIX,
        password_prefix=PASSWORD_PREFIX,
        arrival_seconds=load.arrival_seconds,
        arrival_rate=f"{load.arrival_rate:g}",
        barrier_timeout_ms=10_000,
        messages=load.messages_per_user,
        message_interval=f"{load.message_interval:g}",
        message_size=load.message_size,
        drain_seconds=f"{load.drain_seconds:g}",
        max_seconds=load.hard_stop_seconds,
    )


def environment(folder, epmd_port):
    """
    tsung's environment: Nagle off on its client sockets (tsung 1.7 has no
    option for it, and small stanzas would wait up to 40 ms), Erlang's
    distribution on loopback with a private epmd, and a home of its own for
    C{~/.tsung}.
    """
    env = dict(os.environ)
    env.update(
        HOME=str(folder),
        ERL_EPMD_ADDRESS="127.0.0.1",
        ERL_EPMD_PORT=str(epmd_port),
        ERL_ZFLAGS=(
            "-kernel inet_default_connect_options [{nodelay,true}] "
            "-kernel inet_dist_use_interface {127,0,0,1}"
        ),
    )
    return env


def run(processes, folder, load, domain, port, epmd_port):
    """
    Run the scenario against a server on C{port}, once.

    @return: the parsed L{Stats} and the CPU seconds tsung used.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "scenario.xml"
    config.write_text(scenario(load, domain, port))
    env = environment(folder, epmd_port)
    epmd = processes.start(
        [EPMD, "-address", "127.0.0.1", "-port", str(epmd_port)], folder / "epmd.log", env=env
    )
    try:
        processes.wait_for_port(epmd, epmd_port)
        # -n: no web GUI; -i: an Erlang node name of our own, beside any other tsung.
        command = [TSUNG, "-n", "-i", f"bench{os.getpid()}", "-f", str(config)]
        tsung = processes.start(
            command + ["-l", str(folder / "log"), "start"], folder / "tsung.out", env=env
        )
        try:
            status, cpu = processes.wait(tsung, timeout=load.hard_stop_seconds + 60)
        finally:
            processes.stop(tsung)
    finally:
        processes.stop(epmd)
    logs = sorted((folder / "log").glob("*/tsung.log"))
    if status != 0 or not logs:
        raise ProcessFailed(f"tsung failed (status {status}):\n{log_tail(tsung.log_path)}")
    return Stats.parse(logs[-1].read_text()), cpu


@dataclass(frozen=True)
class Sample:
    """
    A measured duration over the whole run, in milliseconds.
    """

    count: int
    mean: float
    max: float


@dataclass(frozen=True)
class Stats:
    """
    The figures of one C{tsung.log}.

    tsung dumps its statistics every ten seconds.  A sample's line holds
    the count, mean, standard deviation, maximum and minimum of the last
    interval (maximum and minimum so far), then the mean and count of all
    earlier intervals.  A counter's line holds the interval's value and the
    total, a gauge's (C{connected}, C{users}) its change and current value.

    @ivar samples: L{Sample} by name, over the whole run.
    @ivar counters: the largest total or value each counter or gauge showed.
    """

    samples: dict
    counters: dict

    @classmethod
    def parse(cls, text):
        latest = {}
        counters = {}
        for line in text.splitlines():
            if not line.startswith("stats: "):
                continue
            name, *fields = line.split()[1:]
            if len(fields) == 7:
                latest[name] = [float(field) for field in fields]
            elif len(fields) == 2:
                counters[name] = max(counters.get(name, 0), int(float(fields[1])))
        samples = {}
        for name, (count, mean, _, maximum, _, earlier_mean, earlier_count) in latest.items():
            total = count + earlier_count
            average = (mean * count + earlier_mean * earlier_count) / total if total else 0.0
            samples[name] = Sample(int(total), average, maximum)
        return cls(samples, counters)

    def sample(self, name):
        return self.samples.get(name, Sample(0, 0.0, 0.0))

    def counter(self, name):
        return self.counters.get(name, 0)

    @property
    def errors(self):
        """
        Failed requests and aborted sessions: tsung's C{error_*} counters
        and the logins whose bind did not return a JID.
        """
        failures = sum(v for name, v in self.counters.items() if name.startswith("error_"))
        return failures + self.counter("nomatch")

