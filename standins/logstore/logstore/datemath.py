"""Dates as Elasticsearch sees them: epoch milliseconds, ISO 8601 strings and date math.

Date math: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/common-options.html#date-math
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime, timedelta

from .errors import ESError

_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "H": 3_600_000, "d": 86_400_000}
_MATH = re.compile(r"([+-]\d+|/)([yMwdhHms])")


def parse_date(value: object, *, field: str = "@timestamp") -> int:
    """A date value (ISO 8601 string or epoch millis) as epoch milliseconds, UTC."""
    if isinstance(value, bool):
        raise _bad(field, value)
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        raise _bad(field, value)
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(field, value) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _bad(field: str, value: object) -> ESError:
    return ESError(
        400,
        "mapper_parsing_exception",
        f"failed to parse field [{field}] of type [date]: [{value}] is not an ISO 8601 date "
        "or epoch_millis",
    )


def format_ms(ms: int) -> str:
    """strict_date_optional_time as ES prints it: 2024-01-01T00:00:00.000Z."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def resolve(value: object, *, round_up: bool = False, now_ms: int | None = None) -> int:
    """Date math (`now-15m`, `now/d`, `2024-01-01||+1M/d`) to epoch millis.

    `round_up` is ES's rounding for `gt` and `lte`: to the last millisecond of the unit.
    """
    if not isinstance(value, str):
        return parse_date(value, field="range")
    text = value.strip()
    if text.startswith("now"):
        base = now_ms if now_ms is not None else int(time.time() * 1000)
        math = text[3:]
    elif "||" in text:
        anchor, math = text.split("||", 1)
        base = parse_date(anchor, field="range")
    else:
        return parse_date(text, field="range")
    pos = 0
    result = base
    for match in _MATH.finditer(math):
        if match.start() != pos:
            break
        pos = match.end()
        op, unit = match.group(1), match.group(2)
        result = _round(result, unit, round_up) if op == "/" else _add(result, int(op), unit)
    if pos != len(math):
        raise ESError(
            400,
            "parse_exception",
            f"failed to parse date field [{value}]: bad date math [{math}]",
        )
    return result


def _add(ms: int, amount: int, unit: str) -> int:
    if unit in _UNITS_MS:
        return ms + amount * _UNITS_MS[unit]
    if unit == "w":
        return ms + amount * 7 * 86_400_000
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    months = dt.month - 1 + amount * (12 if unit == "y" else 1)
    year, month = dt.year + months // 12, months % 12 + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return int(dt.replace(year=year, month=month, day=day).timestamp() * 1000)


def floor_unit(ms: int, unit: str) -> int:
    """Start of the calendar unit (UTC) that contains `ms`."""
    if unit in _UNITS_MS:
        return ms - ms % _UNITS_MS[unit]
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return int(floor_calendar(dt, unit).timestamp() * 1000)


def floor_calendar(day: datetime, unit: str) -> datetime:
    """`day` (a midnight) back to the first day of its week (Monday), month (M), quarter (q)
    or year (y); for another unit, `day` itself."""
    if unit == "w":
        return day - timedelta(days=day.weekday())
    if unit == "M":
        return day.replace(day=1)
    if unit == "q":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    if unit == "y":
        return day.replace(day=1, month=1)
    return day


def next_unit(ms: int, unit: str) -> int:
    if unit == "q":
        return _add(ms, 3, "M")
    return _add(ms, 1, unit)


def _round(ms: int, unit: str, round_up: bool) -> int:
    start = floor_unit(ms, unit)
    return next_unit(start, unit) - 1 if round_up else start


def parse_interval_ms(text: str, *, key: str) -> int:
    """`30s`, `5m`, `1h`, `1d`, `500ms` as milliseconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", text.strip()) if isinstance(text, str) else None
    if not match:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"failed to parse [{key}] with value [{text}]: expected a number and a unit "
            "(ms, s, m, h, d)",
        )
    amount, unit = int(match.group(1)), match.group(2)
    return amount if unit == "ms" else amount * _UNITS_MS[unit]


def parse_time_value(text: object, *, key: str) -> float:
    """A TimeValue setting (`1s`, `500ms`, `-1`) in seconds; -1 means never."""
    if text in (-1, "-1"):
        return -1.0
    return parse_interval_ms(str(text), key=key) / 1000


_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)", re.IGNORECASE)


def parse_size(text: object, *, key: str) -> int:
    """A ByteSizeValue setting (`512mb`, `1gb`) in bytes.

    https://www.elastic.co/guide/en/elasticsearch/reference/8.15/api-conventions.html#byte-units
    """
    found = _SIZE.fullmatch(str(text).strip())
    if found is None:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"failed to parse setting [{key}] with value [{text}] as a size in bytes: unit is "
            "missing or unrecognized (use b, kb, mb, gb, tb or pb)",
        )
    return int(float(found.group(1)) * _SIZE_UNITS[found.group(2).lower()])


# Date math in index names: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/api-conventions.html#api-date-math-index-names
_NAME_TOKENS = re.compile(r"yyyy|uuuu|yy|MM|dd|HH|mm|ss|[A-Za-z]")
_NAME_FORMATS = {"yyyy": "%Y", "uuuu": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H",
                 "mm": "%M", "ss": "%S"}  # fmt: skip


def index_name(text: str, *, now_ms: int | None = None) -> str:
    """`<logs-{now/d}>` as the index name it stands for (`logs-2024.03.01`), in UTC: static
    text, `\\` escapes, and `{<date math>{<format>}}` parts (format `yyyy.MM.dd` by default).
    Any other name is returned as it is."""
    text = text.replace("\x1f", "/")  # http.ENCODED_SLASH: a `/` the path kept encoded
    if not (text.startswith("<") and text.endswith(">")):
        return text
    inner, out, i = text[1:-1], [], 0
    while i < len(inner):
        char = inner[i]
        if char == "\\" and i + 1 < len(inner):
            out.append(inner[i + 1])
            i += 2
        elif char == "{":
            end = inner.find("}", i)
            nested = inner.find("{", i + 1)
            if end < 0:
                raise _bad_name(text, "a `{` is never closed")
            if 0 <= nested < end:  # {math{format}}
                math, close = inner[i + 1 : nested], inner.find("}", nested)
                fmt = inner[nested + 1 : close]
                if close < 0 or inner[close + 1 : close + 2] != "}":
                    raise _bad_name(text, "a `{...{format}}` part is not closed")
                i = close + 2
            else:
                math, fmt, i = inner[i + 1 : end], "yyyy.MM.dd", end + 1
            out.append(_format_name(text, resolve(math, now_ms=now_ms), fmt))
        elif char == "}":
            raise _bad_name(text, "a `}` is never opened")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _format_name(text: str, ms: int, fmt: str) -> str:
    pattern, _, zone = fmt.partition("|")
    if zone not in ("", "UTC", "Z", "+00:00", "Etc/UTC"):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"[date math index name time zone {zone}] is not supported by logstore: names are "
            "resolved in UTC",
        )
    for token in _NAME_TOKENS.findall(pattern):
        if token not in _NAME_FORMATS:
            raise _bad_name(text, f"the format letter [{token}] is not supported by logstore")
    parts = []
    stamp = datetime.fromtimestamp(ms / 1000, UTC)
    for piece in re.split(r"(yyyy|uuuu|yy|MM|dd|HH|mm|ss)", pattern):
        parts.append(stamp.strftime(_NAME_FORMATS[piece]) if piece in _NAME_FORMATS else piece)
    return "".join(parts)


def _bad_name(text: str, why: str) -> ESError:
    reason = f"invalid date math index name [{text}]: {why}"
    return ESError(400, "illegal_argument_exception", reason)
