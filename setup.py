"""
Which files the sdist and the wheel carry; the rest of the package's
description is in setup.cfg.

The one thing setup.cfg cannot say: the repository keeps the templates and
static files in the top-level C{templates/}, and a wheel carries that folder
as package data inside mcc, at C{mcc/templates}, where L{mcc.resources}
finds it.  The packages themselves are found under C{mcc/}, so a new one
needs no entry here; tests/ and bench/ stay out.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["mcc", "mcc.*", "twisted.plugins"])
    + ["mcc.templates"],
    package_dir={"mcc.templates": "templates"},
    package_data={
        "mcc.templates": ["**/*"],
        "twisted.plugins": ["mcc_plugin.py"],
    },
)
