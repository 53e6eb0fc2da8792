# -*- test-case-name: tests.test_widget_public -*-
"""
The widget's static scripts, read once at start-up and kept both plain and
gzip-compressed, each with a version (a digest of its bytes) for caching.
"""

import gzip
import hashlib
from dataclasses import dataclass

from mcc.resources import TEMPLATES

STATIC = TEMPLATES / "widget" / "static"
SCRIPTS = ("loader.js", "widget.js")
SCRIPT_TYPE = b"text/javascript; charset=utf-8"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    version: str


def load_assets(directory=STATIC):
    """
    The scripts by file name.
    """
    assets = {}
    for name in SCRIPTS:
        body = (directory / name).read_bytes()
        assets[name] = Asset(
            body,
            gzip.compress(body, compresslevel=9, mtime=0),
            hashlib.sha256(body).hexdigest()[:12],
        )
    return assets


def accepts_gzip(header):
    """
    Whether an C{Accept-Encoding} header value (bytes or C{None}) allows gzip.
    """
    for coding in (header or b"").decode("latin-1").lower().split(","):
        name, _, parameters = coding.partition(";")
        if name.strip() in ("gzip", "*"):
            quality = parameters.strip().removeprefix("q=")
            try:
                return float(quality or 1) > 0
            except ValueError:
                return False
    return False
