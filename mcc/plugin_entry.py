"""
What C{twistd mcc} loads: its options and the service built from them.
"""

from mcc.config import Options
from mcc.tap import makeService as _make_service


def makeService(options):
    return _make_service(options.to_config())


__all__ = ["Options", "makeService"]
