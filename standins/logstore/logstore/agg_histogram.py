"""`histogram` and `date_histogram`: the request tantivy runs and the ES answer.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-histogram-aggregation.html
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-datehistogram-aggregation.html
Fixed intervals (and calendar minutes to weeks) are tantivy histograms in epoch
milliseconds; months, quarters and years are one tantivy range each. `offset` shifts the
buckets, `extended_bounds` (with `min_doc_count: 0`) adds empty ones, `hard_bounds` keeps
only those whose key lies inside, `order` and `keyed` shape the list, `format` prints
`key_as_string` (a DecimalFormat pattern on numbers, see agg_format.py). Time zones other
than UTC are refused by name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import tantivy

from . import agg_format, agg_timezone, datemath
from .agg_terms import order_items, sort_value
from .errors import ESError, bad_request, unsupported

_CALENDAR = {
    "minute": "m", "1m": "m", "hour": "h", "1h": "h", "day": "d", "1d": "d", "week": "w",
    "1w": "w", "month": "M", "1M": "M", "quarter": "q", "1q": "q", "year": "y", "1y": "y",
}  # fmt: skip
_FIXED_CAL = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
WEEK_OFFSET = 4 * 86_400_000  # 1970-01-01 was a Thursday; ES weeks start on Monday
_KEY_ASC = {"_key": "asc"}
_MOST_RANGES = 10_000  # calendar buckets of one index, each a tantivy range
_MOST_FILLED = 200_000  # empty buckets logstore fills in (search.max_buckets applies after)

Bucket = Callable[[Any, Any, list[dict[str, Any]]], dict[str, Any]]


def check(agg: Any) -> None:
    p = agg.params
    order_items(agg, default=_KEY_ASC)
    if agg.kind == "histogram":
        if "format" in p:
            agg_format.check_decimal(str(p["format"]))
        return
    agg_format.check_date(p.get("format"))
    agg.tz = agg_timezone.parse(p.get("time_zone"))
    agg.offset_ms = _offset_ms(p.get("offset", 0))
    if "calendar_interval" in p or (p.get("interval") in _CALENDAR and "fixed_interval" not in p):
        text = p.get("calendar_interval", p.get("interval"))
        if text not in _CALENDAR:
            raise bad_request(
                f"The supplied interval [{text}] could not be parsed as a calendar interval."
            )
        agg.unit = _CALENDAR[text]
        agg.interval_ms = _FIXED_CAL.get(agg.unit, 0)
    else:
        text = p.get("fixed_interval", p.get("interval"))
        if text is None:
            raise bad_request(
                f"Invalid interval specified, must be non-null and non-empty for [{agg.name}]"
            )
        agg.interval_ms = datemath.parse_interval_ms(str(text), key=f"{agg.name}.fixed_interval")
    if agg.tz is not None and agg.unit in ("d", "w"):  # local days shift with the zone's offset
        agg.interval_ms = 0


def _offset_ms(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    sign = -1 if text.startswith("-") else 1
    return sign * datemath.parse_interval_ms(text.lstrip("+-"), key="offset")


def spec(agg: Any, tr: Any, fname: str) -> dict[str, Any]:
    p = agg.params
    if agg.kind == "histogram":
        hist: dict[str, Any] = {"field": fname, "interval": float(p["interval"])}
        hist["min_doc_count"] = 1
        if "offset" in p:
            hist["offset"] = float(p["offset"])
        return {"histogram": hist}
    if agg.interval_ms:
        offset = (
            (WEEK_OFFSET if agg.unit == "w" else 0) + agg.offset_ms - _zone_offset(agg, tr, fname)
        )
        hist = {"field": fname, "interval": agg.interval_ms, "min_doc_count": 1}
        if offset:
            hist["offset"] = offset % agg.interval_ms
        return {"histogram": hist}
    return {"range": {"field": fname, "ranges": _calendar_ranges(tr, fname, agg)}}


def _span(tr: Any, fname: str) -> tuple[int, int] | None:
    stats = tr.tindex.searcher().aggregate(
        tantivy.Query.all_query(), {"s": {"stats": {"field": fname}}}
    )["s"]
    if not stats.get("count"):
        return None
    return int(stats["min"]), int(stats["max"])


def _zone_offset(agg: Any, tr: Any, fname: str) -> int:
    """The zone's offset over the field's values (0 in UTC): a fixed interval's buckets start
    at local multiples of it."""
    if agg.tz is None:
        return 0
    span = _span(tr, fname) or (0, 0)
    found = agg_timezone.constant_offset(agg.tz, *span)
    if found is None:
        raise unsupported(
            f"date_histogram fixed_interval with time_zone [{agg.params['time_zone']}] across "
            "a daylight-saving change (use calendar_interval)"
        )
    return found


def _calendar_ranges(tr: Any, fname: str, agg: Any) -> list[dict[str, Any]]:
    """Month, quarter and year buckets (and local days and weeks): tantivy has fixed intervals
    only, so one range each."""
    span = _span(tr, fname)
    if span is None:
        return [{"key": "empty", "to": 0.0}]
    start = _unit_floor(agg, span[0] - agg.offset_ms)
    ranges: list[dict[str, Any]] = []
    while start + agg.offset_ms <= span[1]:
        if len(ranges) >= _MOST_RANGES:  # the index spans too many: refuse, never cut short
            raise unsupported(
                f"date_histogram [{agg.name}] over more than {_MOST_RANGES} calendar buckets"
            )
        end = _unit_next(agg, start + agg.offset_ms) - agg.offset_ms
        lo, hi = start + agg.offset_ms, end + agg.offset_ms
        ranges.append({"key": str(lo), "from": float(lo), "to": float(hi)})
        start = end
    return ranges


def finish(agg: Any, parts: list[dict[str, Any]], bucket: Bucket) -> dict[str, Any]:
    is_date = agg.kind == "date_histogram"
    groups: dict[Any, list[dict[str, Any]]] = {}
    for part in parts:
        found = part.get("buckets", [])
        for b in found.values() if isinstance(found, dict) else found:
            if is_date and not agg.interval_ms:  # calendar ranges, keyed by their start
                if b.get("from") is None or b.get("to") is None or not int(b["doc_count"]):
                    continue
                key: Any = int(b["from"])
            else:
                key = int(b["key"]) if is_date else float(b["key"])
            groups.setdefault(key, []).append(b)
    keys = sorted(groups)
    min_count = int(agg.params.get("min_doc_count", 0))
    if min_count == 0:
        keys = _fill(agg, keys)
    lo, hi = _bounds(agg, "hard_bounds")
    fmt = agg_format.field_format(agg) if is_date else agg.params.get("format")
    buckets = []
    for key in keys:
        if (lo is not None and key < lo) or (hi is not None and key > hi):
            continue
        made = bucket(agg, key, groups.get(key, []))
        if made["doc_count"] < min_count:
            continue
        text = _key_text(agg, key, fmt)
        if text is not None:
            made = {"key_as_string": text, **made}
        buckets.append(made)
    if "order" in agg.params:  # else by key, ascending: as they are
        for what, desc in reversed(order_items(agg, default=_KEY_ASC)):
            buckets.sort(key=functools.partial(sort_value, what=what), reverse=desc)
    if agg.params.get("keyed"):
        return {"buckets": {b.get("key_as_string", repr(b["key"])): b for b in buckets}}
    return {"buckets": buckets}


def _key_text(agg: Any, key: Any, fmt: str | None) -> str | None:
    if agg.kind == "date_histogram":
        return agg_format.date_text(int(key), fmt, agg.tz)
    if fmt is not None:
        return agg_format.decimal(fmt, float(key))
    return None


def _bounds(agg: Any, which: str) -> tuple[Any, Any]:
    """A bounds object's min and max, each floored to its bucket's key."""
    bounds = agg.params.get(which) or {}
    if not isinstance(bounds, dict) or set(bounds) - {"min", "max"}:
        raise ESError(400, "x_content_parse_exception", f"[{which}] takes only min and max")
    out: list[Any] = []
    for side in ("min", "max"):
        value = bounds.get(side)
        if value is None:
            out.append(None)
        elif agg.kind == "date_histogram":
            out.append(_floor(agg, agg_format.parse_date(agg, value)))
        elif which == "hard_bounds":
            out.append(float(value))
        else:
            step, offset = float(agg.params["interval"]), float(agg.params.get("offset", 0))
            out.append((float(value) - offset) // step * step + offset)
    return out[0], out[1]


def _fill(agg: Any, keys: list[Any]) -> list[Any]:
    is_date = agg.kind == "date_histogram"
    step: Any = agg.interval_ms if is_date else float(agg.params["interval"])
    lo, hi = _bounds(agg, "extended_bounds")
    hard_lo, hard_hi = _bounds(agg, "hard_bounds")
    if hard_lo is not None:  # extended_bounds do not pass hard_bounds
        lo = hard_lo if lo is None else max(lo, hard_lo)
    if hard_hi is not None:
        hi = hard_hi if hi is None else min(hi, hard_hi)
    first = min([k for k in (lo, keys[0] if keys else None) if k is not None], default=None)
    last = max([k for k in (hi, keys[-1] if keys else None) if k is not None], default=None)
    if first is None or last is None:
        return keys
    if not is_date and hard_lo is not None:
        offset = float(agg.params.get("offset", 0))
        first = (first - offset) // step * step + offset
    out: list[Any] = []
    key = first
    while key <= last:
        if len(out) >= _MOST_FILLED:  # never a silently shortened answer
            raise unsupported(f"more than {_MOST_FILLED} buckets in [{agg.name}]")
        out.append(key)
        key = _unit_next(agg, key) if is_date and not agg.interval_ms else key + step
    return out


def _unit_floor(agg: Any, ms: int) -> int:
    if agg.tz is not None:
        return int(agg_timezone.floor_local(ms, agg.unit, agg.tz))
    return int(datemath.floor_unit(ms, agg.unit))


def _unit_next(agg: Any, ms: int) -> int:
    if agg.tz is not None:
        return int(agg_timezone.next_local(ms - agg.offset_ms, agg.unit, agg.tz) + agg.offset_ms)
    return int(datemath.next_unit(ms, agg.unit))


def _floor(agg: Any, ms: int) -> int:
    if agg.interval_ms:
        offset = (WEEK_OFFSET if agg.unit == "w" else 0) + agg.offset_ms
        if agg.tz is not None:
            offset -= agg_timezone.offset_ms(agg.tz, ms)
        return int((ms - offset) // agg.interval_ms * agg.interval_ms + offset)
    return _unit_floor(agg, ms - agg.offset_ms) + int(agg.offset_ms)
