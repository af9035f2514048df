"""`auto_date_histogram`: a date histogram whose interval is chosen to give at most `buckets`.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-autodatehistogram-aggregation.html
As ES: the roundings are seconds (1, 5, 10, 30), minutes (1, 5, 10, 30), hours (1, 3, 12),
days (1, 7), months (1, 3) and years (1, 5, 10, 20, 50, 100); the unit is the finest whose
buckets between the first and the last matching date number at most `buckets` times its
largest multiple, then the smallest multiple that brings them to `buckets` or fewer, groups
of consecutive units starting at the first (`"interval": "7d"`). Each index answers at the
unit its own dates need (one pass for their span, one for the buckets: filterpass.py runs
them); merging re-buckets the finer answers to the coarsest unit, as ES's reduce does.
Only at the top level; `time_zone` and `missing` are refused by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import tantivy

from . import agg_format, datemath
from .aggfilter import FILTERING
from .errors import bad_request, parsing, unsupported

KIND = "auto_date_histogram"
# (unit, rough length in ms, multiples); months and years are calendar ranges
_UNITS = [
    ("s", 1000, (1, 5, 10, 30)),
    ("m", 60_000, (1, 5, 10, 30)),
    ("h", 3_600_000, (1, 3, 12)),
    ("d", 86_400_000, (1, 7)),
    ("M", 30 * 86_400_000, (1, 3)),
    ("y", 365 * 86_400_000, (1, 5, 10, 20, 50, 100)),
]
_MINIMUM = {"second": 0, "minute": 1, "hour": 2, "day": 3, "month": 4, "year": 5}
_PARAMS = {"field", "buckets", "format", "minimum_interval"}
UNIT = "logstore[unit]"  # where an index's answer says its unit

Aggregate = Callable[[tantivy.Query, dict[str, Any]], dict[str, Any]]
Bucket = Callable[[Any, Any, list[dict[str, Any]]], dict[str, Any]]


def check(agg: Any, parent: str | None) -> None:
    for key in agg.params:
        if key in ("time_zone", "missing", "script"):
            raise unsupported(f"{KIND} {key} (aggregation [{agg.name}])")
        if key not in _PARAMS:
            raise parsing(f"[{KIND}] unknown field [{key}] (aggregation [{agg.name}])")
    if parent is not None:
        raise unsupported(f"{KIND} under another aggregation ([{agg.name}])")
    if _has_filters(agg.subs):  # its buckets come from a pass of their own
        raise unsupported(f"filter aggregations under {KIND} ([{agg.name}])")
    target = agg.params.get("buckets", 10)
    if not isinstance(target, int) or isinstance(target, bool) or target <= 0:
        raise bad_request(f"[buckets] must be greater than 0 in [{agg.name}]")
    if agg.params.get("minimum_interval", "second") not in _MINIMUM:
        raise bad_request(
            f"minimum_interval must be one of {sorted(_MINIMUM)} (aggregation [{agg.name}])"
        )
    agg_format.check_date(agg.params.get("format"))


def _has_filters(aggs: list[Any]) -> bool:
    return any(a.entries or a.kind in FILTERING or _has_filters(a.subs) for a in aggs)


def _count(lo: int, hi: int, unit: str) -> int:
    """Units from the one holding lo to the one holding hi, both included."""
    start, end = datemath.floor_unit(lo, unit), datemath.floor_unit(hi, unit)
    if unit in ("M", "y"):
        return _months(start, end) // (12 if unit == "y" else 1) + 1
    return (end - start) // next(ms for u, ms, _ in _UNITS if u == unit) + 1


def _months(start: int, end: int) -> int:
    a = datetime.fromtimestamp(start / 1000, tz=UTC)
    b = datetime.fromtimestamp(end / 1000, tz=UTC)
    return (b.year - a.year) * 12 + b.month - a.month


def _unit_for(agg: Any, lo: int, hi: int, first: int = 0) -> int:
    target = int(agg.params.get("buckets", 10))
    first = max(first, _MINIMUM[agg.params.get("minimum_interval", "second")])
    for i in range(first, len(_UNITS) - 1):
        unit, _, multiples = _UNITS[i]
        if _count(lo, hi, unit) <= target * max(multiples):
            return i
    return len(_UNITS) - 1


def run(
    part: dict[str, Any],
    agg: Any,
    tr: Any,
    query: tantivy.Query,
    subs: dict[str, Any],
    aggregate: Aggregate,
) -> None:
    """This index's answer: the span of its matching dates, then buckets of the unit it needs."""
    fname = tr.field(agg.params["field"])[0]
    stats = aggregate(query, {"s": {"stats": {"field": fname}}})["s"]
    if not stats.get("count"):
        part[agg.name] = {"buckets": [], UNIT: 0}
        return
    lo, hi = int(stats["min"]), int(stats["max"])
    index = _unit_for(agg, lo, hi)
    unit, length, _ = _UNITS[index]
    if unit in ("M", "y"):
        ranges, start = [], datemath.floor_unit(lo, unit)
        while start <= hi:
            end = datemath.next_unit(start, unit)
            ranges.append({"key": str(start), "from": float(start), "to": float(end)})
            start = end
        spec: dict[str, Any] = {"range": {"field": fname, "ranges": ranges}}
    else:
        spec = {"histogram": {"field": fname, "interval": length, "min_doc_count": 1}}
    if subs:
        spec["aggs"] = subs
    found = aggregate(query, {"h": spec})["h"]
    rows = found.get("buckets", [])
    rows = list(rows.values()) if isinstance(rows, dict) else list(rows)
    buckets = []
    for row in rows:
        key = row.get("from") if unit in ("M", "y") else row.get("key")
        if key is None or not int(row.get("doc_count") or 0):
            continue
        buckets.append({**row, "key": int(key)})
    part[agg.name] = {"buckets": buckets, UNIT: index}


def finish(agg: Any, parts: list[dict[str, Any]], bucket: Bucket) -> dict[str, Any]:
    rows = [(b, p.get(UNIT, 0)) for p in parts for b in p.get("buckets", [])]
    if not rows:
        return {"buckets": [], "interval": f"1{_UNITS[0][0]}"}
    index = max(u for _, u in rows)
    keys = [int(b["key"]) for b, _ in rows]
    index = _unit_for(agg, min(keys), max(keys), index)
    unit, _, multiples = _UNITS[index]
    groups: dict[int, list[dict[str, Any]]] = {}
    for b, _ in rows:
        groups.setdefault(datemath.floor_unit(int(b["key"]), unit), []).append(b)
    first, last = min(groups), max(groups)
    target = int(agg.params.get("buckets", 10))
    total = _count(first, last, unit)
    step = next((k for k in multiples if math.ceil(total / k) <= target), multiples[-1])
    out = []
    start = first
    while start <= last:
        end = start
        for _ in range(step):
            end = datemath.next_unit(end, unit)
        members = [m for key, ms in groups.items() if start <= key < end for m in ms]
        made = bucket(agg, start, members)
        text = agg_format.date_text(start, agg_format.field_format(agg))
        out.append({"key_as_string": text, **made})
        start = end
    return {"buckets": out, "interval": f"{step}{unit}"}
