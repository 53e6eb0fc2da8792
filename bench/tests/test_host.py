"""
The host line and its calibration.
"""

import itertools

from bench import host


def test_the_cpu_model_comes_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
    )
    here = host.Host.here(cpuinfo)
    assert here.cpu == "AMD EPYC 7B13"
    line = here.line()
    assert line.startswith("Host: AMD EPYC 7B13, ")
    assert f"{here.cores} cores, Linux " in line and "Python 3." in line


def test_without_a_model_name_the_host_is_still_named(tmp_path):
    assert host.cpu_model(tmp_path / "absent")
    (tmp_path / "arm").write_text("processor\t: 0\nModel\t: Raspberry Pi 4\n")
    assert host.cpu_model(tmp_path / "arm") == "Raspberry Pi 4"


def test_the_calibration_times_both_loops_with_the_load():
    ticks = itertools.count(step=0.125)
    done = []
    calibration = host.Calibration.now(
        clock=lambda: next(ticks),
        load_average=lambda: (1.5, 0.75, 0.25),
        python=lambda: done.append("python"),
        hashing=lambda: done.append("hash"),
    )
    assert done == ["python", "hash"]
    assert calibration == host.Calibration(125.0, 125.0, (1.5, 0.75, 0.25))
    assert calibration.line() == (
        "host now: calibration 125 ms Python loop, 125 ms SHA-256 of 64 MiB; "
        "load average 1.50 0.75 0.25"
    )


def test_the_loops_are_fixed_work():
    assert host.python_loop(1000) == host.python_loop(1000) != host.python_loop(999)
    assert host.hash_loop(2) == host.hash_loop(2) != host.hash_loop(1)
