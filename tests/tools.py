"""
Helpers for tests that drive programs from Debian packages (see C{.ci/run}).

Such a test is skipped on a machine without the program, but on CI
(C{CI=true}) a missing program is a failure: there it would mean the
interoperability tests silently stopped running.
"""

import asyncio
import os
import shutil

import pytest


def requires_tool(*names):
    """
    Decorate a test that runs the programs C{names}.
    """
    missing = [name for name in names if shutil.which(name) is None]

    def decorate(test):
        if not missing:
            return test
        message = f"needs {', '.join(missing)} (Debian packages, see .ci/run)"
        if os.environ.get("CI") != "true":
            return pytest.mark.skip(reason=message)(test)

        # Replaces the test, fixtures included: nothing is started for it.
        def fail():
            pytest.fail(message)

        fail.__name__ = test.__name__
        fail.__qualname__ = test.__qualname__
        fail.__module__ = test.__module__
        return fail

    return decorate


async def run_tool(*argv, env=None, stdin=b"", timeout=30):
    """
    Run a program to its end without blocking the event loop.

    @return: its exit status, standard output and standard error.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")
