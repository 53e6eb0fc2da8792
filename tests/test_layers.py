"""
The import rule that keeps the layers visible: adapters -> routing -> store.

Every package under C{mcc/} other than the routing layer and the store is an
adapter (the XMPP server, the admin site, the widget, and whatever comes
next), and no adapter module may import the store.  Only C{mcc.routing},
C{mcc.tap} and C{mcc.cli} do.
"""

import ast
from pathlib import Path

import pytest

import mcc

PACKAGE = Path(mcc.__file__).resolve().parent
INNER = {"routing", "store"}


def adapter_packages():
    return sorted(
        path.name
        for path in PACKAGE.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and path.name not in INNER
    )


def imported_modules(path):
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    return imports_of(path.read_text(), package)


def imports_of(source, package):
    """
    Every module that C{source}, a module of the dotted C{package}, names in
    an import, relative imports resolved; for C{from M import N} both C{M}
    and C{M.N}.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            yield module
            for alias in node.names:
                yield f"{module}.{alias.name}"


def touches_store(module):
    return module == "mcc.store" or module.startswith("mcc.store.")


def test_the_adapters_are_found():
    """
    The rule covers the adapters there are today, so a renamed or new one is
    covered too rather than skipped.
    """
    assert {"admin", "widget", "xmpp"} <= set(adapter_packages())


@pytest.mark.parametrize("package", adapter_packages())
def test_adapters_do_not_import_the_store(package):
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for module in imported_modules(path)
        if touches_store(module)
    ]
    assert offenders == []


def test_top_level_modules_other_than_tap_and_cli_do_not_import_the_store():
    offenders = [
        f"{path.name} imports {module}"
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name not in ("tap.py", "cli.py")
        for module in imported_modules(path)
        if touches_store(module)
    ]
    assert offenders == []


def test_the_rule_sees_relative_and_plain_imports():
    """
    A check that cannot fail is no check: C{from ..store import X} inside an
    adapter counts as importing the store, and so does C{import mcc.store.users}.
    """
    source = "from ..store import Store\nimport mcc.store.users\nfrom ..routing import errors\n"
    found = [module for module in imports_of(source, "mcc.xmpp") if touches_store(module)]
    assert found == ["mcc.store", "mcc.store.Store", "mcc.store.users"]
