# -*- test-case-name: tests.test_routing_history,tests.test_reports -*-
"""
The service's time zone, which the Activity tab and the reports count days
and hours in.
"""

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def system_zone(environ=os.environ, localtime=Path("/etc/localtime")):
    """
    The machine's time zone: C{$TZ}, else what C{/etc/localtime} links to,
    else UTC.
    """
    for name in (environ.get("TZ", "").lstrip(":"), _linked_zone(localtime)):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
    return ZoneInfo("UTC")


def _linked_zone(localtime):
    try:
        target = str(localtime.resolve())
    except OSError:
        return ""
    marker = "/zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else ""
