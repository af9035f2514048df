"""Times as the observed systems write them (RFC 3339 / ISO 8601, `Z` for UTC)."""

from __future__ import annotations

from datetime import datetime


def parse_time(value: object) -> datetime | None:
    """`2026-12-06T10:01:02Z` (or with an offset) as a datetime; None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
