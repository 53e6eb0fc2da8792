# -*- test-case-name: tests.test_twistd -*-
"""
What C{twistd mcc} loads: its options and the service built from them.
"""

from mcc.config import Options
from mcc.datadir import DataDirInUse
from mcc.tap import makeService as _make_service


def makeService(options):
    """
    The service for C{options}; a data dir in use by another service ends
    twistd with that one line, before anything else is touched.
    """
    try:
        return _make_service(options.to_config())
    except DataDirInUse as problem:
        raise SystemExit(f"mcc: {problem}") from None


__all__ = ["Options", "makeService"]
