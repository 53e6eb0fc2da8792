# -*- test-case-name: tests.test_wokkel_compat -*-
"""
Names that wokkel 18.0.0 imports and modern Twisted no longer has.

wokkel still imports Python 2 helpers from L{twisted.python.compat} and the
module C{twisted.python.constants}, which became the C{constantly} package.
L{install} puts them back before wokkel is imported, so that the current
Twisted can be used instead of pinning an old one.  Importing L{mcc} calls it.
"""

import sys

import constantly
from twisted.python import compat


def _iteritems(mapping):
    return iter(mapping.items())


def _itervalues(mapping):
    return iter(mapping.values())


MISSING_COMPAT_NAMES = {
    "_PY3": True,
    "unicode": str,
    "StringType": str,
    "iteritems": _iteritems,
    "itervalues": _itervalues,
}


def install():
    """
    Provide the removed names; existing ones are left untouched.
    """
    for name, value in MISSING_COMPAT_NAMES.items():
        if not hasattr(compat, name):
            setattr(compat, name, value)
    sys.modules.setdefault("twisted.python.constants", constantly)
