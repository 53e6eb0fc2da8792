"""
Tests for L{mcc.wokkel_compat}.
"""

import importlib
import sys

import pytest

import mcc  # noqa: F401  (installs the compat names)

WOKKEL_MODULES = [
    "wokkel.client",
    "wokkel.component",
    "wokkel.data_form",
    "wokkel.delay",
    "wokkel.disco",
    "wokkel.generic",
    "wokkel.iwokkel",
    "wokkel.muc",
    "wokkel.ping",
    "wokkel.pubsub",
    "wokkel.server",
    "wokkel.shim",
    "wokkel.subprotocols",
    "wokkel.xmppim",
]


@pytest.mark.parametrize("name", WOKKEL_MODULES)
def test_wokkel_module_imports(name):
    assert importlib.import_module(name).__name__ == name


def test_constants_module_is_constantly():
    import constantly

    assert sys.modules["twisted.python.constants"] is constantly


def test_iteration_helpers_behave_like_python2_names():
    from twisted.python import compat

    assert sorted(compat.iteritems({"a": 1, "b": 2})) == [("a", 1), ("b", 2)]
    assert sorted(compat.itervalues({"a": 1, "b": 2})) == [1, 2]
    assert compat.unicode is str and compat.StringType is str


def test_install_keeps_existing_names(monkeypatch):
    from twisted.python import compat

    from mcc import wokkel_compat

    sentinel = object()
    monkeypatch.setattr(compat, "unicode", sentinel, raising=False)
    wokkel_compat.install()
    assert compat.unicode is sentinel
