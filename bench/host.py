# -*- test-case-name: bench.tests.test_host -*-
"""
The machine a run measured, so that figures from two machines can be told
apart: its CPU model, cores, kernel and Python, and a short fixed
calibration (a pure-Python loop and a hashlib loop) timed with the load
average, at the top of the results and beside each section.  On a shared
host the calibration's times grow with what else runs.
"""

import hashlib
import os
import platform
import time
from dataclasses import dataclass

PYTHON_ROUNDS = 1_000_000
HASH_ROUNDS = 4_000
HASH_BLOCK = b"\x5a" * 16384


def cpu_model(path="/proc/cpuinfo"):
    """
    The first processor's model name, or what the kernel calls it.
    """
    try:
        with open(path) as cpuinfo:
            for line in cpuinfo:
                name, _, value = line.partition(":")
                if name.strip() in ("model name", "Model", "Processor", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


@dataclass(frozen=True)
class Host:
    cpu: str
    cores: int
    kernel: str
    python: str

    @classmethod
    def here(cls, cpuinfo="/proc/cpuinfo"):
        return cls(
            cpu_model(cpuinfo),
            os.cpu_count() or 0,
            f"{platform.system()} {platform.release()}",
            f"{platform.python_implementation()} {platform.python_version()}",
        )

    def line(self):
        return f"Host: {self.cpu}, {self.cores} cores, {self.kernel}, {self.python}"


def python_loop(rounds=PYTHON_ROUNDS):
    """
    A fixed amount of interpreter work: integer arithmetic in a loop.
    """
    value = 0
    for number in range(rounds):
        value = (value * 31 + number) & 0xFFFFFFFF
    return value


def hash_loop(rounds=HASH_ROUNDS):
    """
    A fixed amount of C work: SHA-256 over 64 MiB, 16 KiB at a time.
    """
    digest = hashlib.sha256()
    for _ in range(rounds):
        digest.update(HASH_BLOCK)
    return digest.hexdigest()


def _timed(work, clock):
    started = clock()
    work()
    return 1000 * (clock() - started)


@dataclass(frozen=True)
class Calibration:
    """
    Wall-clock milliseconds of the two fixed loops, and the load average
    (1, 5, 15 minutes) when they ran.
    """

    python_ms: float
    hash_ms: float
    load: tuple

    @classmethod
    def now(cls, clock=time.perf_counter, load_average=os.getloadavg,
            python=python_loop, hashing=hash_loop):
        return cls(_timed(python, clock), _timed(hashing, clock), tuple(load_average()))

    def line(self):
        one, five, fifteen = self.load
        return (
            f"host now: calibration {self.python_ms:.0f} ms Python loop, "
            f"{self.hash_ms:.0f} ms SHA-256 of 64 MiB; "
            f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
        )


CALIBRATION_NOTE = (
    "Host lines: the calibration times a fixed pure-Python loop (1,000,000 rounds of integer",
    "  arithmetic) and SHA-256 over 64 MiB, in wall-clock time just before each section,",
    "  with the load average then: on a shared or slower host both grow. Compare figures",
    "  from two machines only beside similar calibrations.",
)
