"""`time_zone` on date_histogram: buckets that start at local midnight (or hour, month, ...).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-datehistogram-aggregation.html#datehistogram-aggregation-time-zone
A zone is an offset (`-07:00`) or an IANA name (`America/Phoenix`). Where the zone's offset is
the same over all the field's values, a fixed interval (and calendar minutes to weeks) is a
tantivy histogram shifted by that offset; calendar days to years are local ranges, one each,
computed here across daylight-saving changes. A fixed interval across a change is refused by
name (ES rounds such buckets unevenly). Keys print with the zone's offset
(`2015-12-31T17:00:00.000-07:00`), as ES prints them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .datemath import floor_calendar
from .errors import bad_request

_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")
_UTC_NAMES = ("UTC", "Z", "+00:00", "Etc/UTC", "GMT", "+0000", "utc")
_DAY = 86_400_000


def parse(text: object) -> tzinfo | None:
    """The zone, or None for UTC."""
    if text is None or text in _UTC_NAMES:
        return None
    if not isinstance(text, str):
        raise bad_request(f"time_zone must be a string, got [{text}]")
    found = _OFFSET.fullmatch(text)
    if found:
        sign = -1 if found.group(1) == "-" else 1
        hours, minutes = int(found.group(2)), int(found.group(3) or 0)
        if hours > 18 or minutes > 59:
            raise bad_request(
                f"Zone offset hours not in valid range: value {hours} is not in the range -18 to 18"
            )
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"Unknown time-zone ID: {text}") from None


def offset_ms(tz: tzinfo, ms: int) -> int:
    off = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).utcoffset()
    return int(off.total_seconds() * 1000) if off is not None else 0


def constant_offset(tz: tzinfo, lo: int, hi: int) -> int | None:
    """The zone's offset over [lo, hi], or None when it changes (checked hourly over short
    spans, daily over long ones: a daylight-saving change lasts months)."""
    first = offset_ms(tz, lo)
    step = 3_600_000 if hi - lo <= 31 * _DAY else _DAY
    ms = lo
    while ms < hi:
        ms = min(ms + step, hi)
        if offset_ms(tz, ms) != first:
            return None
    return first


def floor_local(ms: int, unit: str, tz: tzinfo) -> int:
    """Start of the local calendar unit (d, w, M, q, y) holding ms."""
    local = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    return _to_ms(floor_calendar(day, unit), tz)


def next_local(ms: int, unit: str, tz: tzinfo) -> int:
    local = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).replace(tzinfo=None)
    if unit == "d":
        local += timedelta(days=1)
    elif unit == "w":
        local += timedelta(days=7)
    else:
        months = {"M": 1, "q": 3, "y": 12}[unit]
        total = local.month - 1 + months
        local = local.replace(year=local.year + total // 12, month=total % 12 + 1)
    return floor_local(_to_ms(local, tz), unit, tz)


def _to_ms(local: datetime, tz: tzinfo) -> int:
    return int(local.replace(tzinfo=tz).timestamp() * 1000)


def iso_text(ms: int, tz: tzinfo) -> str:
    """strict_date_optional_time in the zone: 2015-12-31T17:00:00.000-07:00 (Z at offset 0)."""
    local = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}"
    off = local.utcoffset() or timedelta(0)
    if not off:
        return text + "Z"
    total = int(off.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    return f"{text}{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
