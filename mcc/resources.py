# -*- test-case-name: tests.test_wheel -*-
"""
Where mcc's templates and static files are, found from the package's own
place so that a checkout and an installed wheel run the same code.

The repository keeps them in C{templates/} beside the C{mcc} package (what a
checkout on PYTHONPATH and the editable install of C{make run} see); a wheel
carries that folder inside the package, as C{mcc/templates} (see setup.py).
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def find_templates(package=PACKAGE):
    """
    The templates folder of the mcc package at C{package}: its own
    C{templates} once installed, else the repository's beside it.
    """
    candidates = (package / "templates", package.parent / "templates")
    for candidate in candidates:
        if (candidate / "admin").is_dir():
            return candidate
    raise FileNotFoundError(
        "mcc's templates are missing: looked in "
        + " and ".join(str(candidate) for candidate in candidates)
    )


TEMPLATES = find_templates()
