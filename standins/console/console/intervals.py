"""Time ranges and intervals as Grafana reads and writes them.

`from`/`to` of /api/ds/query are epoch milliseconds (as strings or numbers) or relative times
such as `now-15m`, `now-1h/h`. Intervals are written the way Grafana substitutes `$__interval`:
a whole number of the largest unit that divides the duration (`90s`, `2m`, `1h`, `250ms`).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime

UNIT_MS = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
    "M": 30 * 86_400_000,  # Grafana's date math counts calendar months; close enough for ranges
    "y": 365 * 86_400_000,
}
_RELATIVE = re.compile(r"now(?:([+-])(\d+)(ms|s|m|h|d|w|M|y))?(?:/(s|m|h|d))?")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


class TimeRangeError(ValueError):
    """A `from`, `to` or interval that cannot be read; the message names it."""


@dataclass(frozen=True)
class TimeRange:
    from_ms: int
    to_ms: int

    @property
    def duration_ms(self) -> int:
        return self.to_ms - self.from_ms


def parse_time(value: object, *, key: str, now_ms: int | None = None) -> int:
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    found = _RELATIVE.fullmatch(text)
    if found:
        sign, amount, unit, round_to = found.groups()
        ms = now
        if amount:
            delta = int(amount) * UNIT_MS[unit]
            ms = ms - delta if sign == "-" else ms + delta
        if round_to:
            ms -= ms % UNIT_MS[round_to]
        return ms
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise TimeRangeError(
            f"{key} {value!r} is not a time: give epoch milliseconds, `now`, `now-15m` "
            "or an ISO 8601 date"
        ) from None


def parse_range(body: dict[str, object], *, now_ms: int | None = None) -> TimeRange:
    start = parse_time(body.get("from", "now-6h"), key="from", now_ms=now_ms)
    end = parse_time(body.get("to", "now"), key="to", now_ms=now_ms)
    if end <= start:
        raise TimeRangeError(f"from ({start}) must be before to ({end})")
    return TimeRange(start, end)


def parse_duration_ms(text: str, *, key: str) -> int:
    found = _DURATION.fullmatch(text.strip())
    if not found:
        raise TimeRangeError(f"{key} {text!r} is not a duration such as 15s, 1m or 500ms")
    return math.ceil(float(found.group(1)) * UNIT_MS[found.group(2)])


def format_duration(ms: int) -> str:
    for unit in ("d", "h", "m", "s"):
        if ms >= UNIT_MS[unit] and ms % UNIT_MS[unit] == 0:
            return f"{ms // UNIT_MS[unit]}{unit}"
    return f"{ms}ms"
