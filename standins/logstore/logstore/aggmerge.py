"""Aggregation results in Elasticsearch's shape, merged across the indices searched.

Shapes: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-terms-aggregation.html
and the sibling pages for date_histogram, histogram, range, stats, percentiles, cardinality.
Across indices: counts and sums add up, cardinality is the size of the union of terms, and
percentiles come from the mixture of the per-index distributions (approximate, as in ES).
"""

from __future__ import annotations

import bisect
import functools
from typing import Any

from . import datemath
from .aggs import PERCENT_GRID, Agg
from .schema import DATE, LONG


def finish(aggs: list[Agg], parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for agg in aggs:
        mine = [p[agg.name] for p in parts if isinstance(p.get(agg.name), dict)]
        out[agg.name] = _FINISH[agg.kind](agg, mine)
    return out


def _is_date(agg: Agg) -> bool:
    return agg.typed is not None and agg.typed.kind == DATE


def _num_key(agg: Agg, key: Any) -> Any:
    if (
        isinstance(key, float)
        and key.is_integer()
        and (agg.typed is None or agg.typed.kind == LONG)
    ):
        return int(key)
    return key


def _group(
    agg: Agg, parts: list[dict[str, Any]], keyfn: Any = None
) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for part in parts:
        buckets = part.get("buckets", [])
        if isinstance(buckets, dict):
            buckets = [dict(b, key=k) for k, b in buckets.items()]
        for bucket in buckets:
            key = keyfn(bucket["key"]) if keyfn else bucket["key"]
            groups.setdefault(key, []).append(bucket)
    return groups


def _bucket(agg: Agg, key: Any, members: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "doc_count": sum(int(m["doc_count"]) for m in members)}
    out.update(finish(agg.subs, members))
    return out


def _terms(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    size = int(agg.params.get("size", 10))
    groups = _group(agg, parts, lambda k: _num_key(agg, k))
    buckets = [_bucket(agg, key, members) for key, members in groups.items()]
    if agg.typed is not None and agg.typed.kind == DATE:
        for b in buckets:
            b["key_as_string"] = datemath.format_ms(int(b["key"]))
    order = agg.params.get("order", {"_count": "desc"})
    for item in reversed(order if isinstance(order, list) else [order]):
        ((what, direction),) = item.items()
        buckets.sort(key=functools.partial(_sort_value, what=what), reverse=direction == "desc")
    if not agg.params.get("order"):
        buckets.sort(key=lambda b: (-b["doc_count"], _sortable(b["key"])))
    total = sum(int(p.get("sum_other_doc_count", 0)) for p in parts) + sum(
        int(m["doc_count"]) for members in groups.values() for m in members
    )
    kept = buckets[:size]
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": total - sum(b["doc_count"] for b in kept),
        "buckets": kept,
    }


def _sortable(key: Any) -> tuple[int, Any]:
    return (0, key) if isinstance(key, int | float) else (1, str(key))


def _sort_value(bucket: dict[str, Any], *, what: str) -> Any:
    if what in ("_count", "_term", "_key"):
        return bucket["doc_count"] if what == "_count" else _sortable(bucket["key"])
    name, _, metric = what.partition(".")
    sub = bucket.get(name, {})
    value = sub.get(metric or "value") if isinstance(sub, dict) else None
    return value if value is not None else float("-inf")


def _histogram(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    is_date = agg.kind == "date_histogram"
    if is_date and not agg.interval_ms:  # calendar ranges, keyed by their start
        groups = {
            int(k[0]): v
            for k, v in _group_ranges(parts).items()
            if k[0] is not None and k[1] is not None and any(int(b["doc_count"]) for b in v)
        }
    else:
        groups = _group(agg, parts, lambda k: int(k) if is_date else float(k))
    keys = sorted(groups)
    min_count = int(agg.params.get("min_doc_count", 0))
    if min_count == 0:
        keys = _fill(agg, keys)
    buckets = []
    for key in keys:
        bucket = _bucket(agg, key, groups.get(key, []))
        if bucket["doc_count"] < min_count:
            continue
        if is_date:
            bucket = {"key_as_string": datemath.format_ms(int(key)), **bucket}
        buckets.append(bucket)
    return {"buckets": buckets}


def _fill(agg: Agg, keys: list[Any]) -> list[Any]:
    bounds = agg.params.get("extended_bounds") or {}
    is_date = agg.kind == "date_histogram"
    step: Any = agg.interval_ms if is_date else float(agg.params["interval"])
    lo, hi = bounds.get("min"), bounds.get("max")
    if is_date:
        lo = None if lo is None else _floor(agg, datemath.resolve(lo))
        hi = None if hi is None else _floor(agg, datemath.resolve(hi))
    else:
        lo = None if lo is None else (float(lo) // step) * step
        hi = None if hi is None else (float(hi) // step) * step
    first = min([k for k in (lo, keys[0] if keys else None) if k is not None], default=None)
    last = max([k for k in (hi, keys[-1] if keys else None) if k is not None], default=None)
    if first is None or last is None:
        return keys
    out: list[Any] = []
    key = first
    while key <= last and len(out) < 100_000:
        out.append(key)
        key = datemath.next_unit(key, agg.unit) if is_date and not agg.interval_ms else key + step
    return out


def _floor(agg: Agg, ms: int) -> int:
    if agg.interval_ms:
        offset = 4 * 86_400_000 if agg.unit == "w" else 0
        return (ms - offset) // agg.interval_ms * agg.interval_ms + offset
    return datemath.floor_unit(ms, agg.unit)


def _group_ranges(parts: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """tantivy names range buckets itself: match them by their bounds."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for part in parts:
        buckets = part.get("buckets", [])
        for bucket in buckets.values() if isinstance(buckets, dict) else buckets:
            groups.setdefault((bucket.get("from"), bucket.get("to")), []).append(bucket)
    return groups


def _range(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    by_bounds = _group_ranges(parts)
    buckets = []
    keyed = bool(agg.params.get("keyed"))
    for spec in agg.params["ranges"]:
        bounds = tuple(_bound(agg, spec.get(side)) for side in ("from", "to"))
        bucket = _bucket(agg, None, by_bounds.get(bounds, []))
        out: dict[str, Any] = {}
        ends = []
        for side in ("from", "to"):
            if spec.get(side) is None:
                ends.append("*")
                continue
            value = float(datemath.resolve(spec[side]) if _is_date(agg) else spec[side])
            out[side] = value
            text = datemath.format_ms(int(value)) if _is_date(agg) else repr(value)
            if _is_date(agg):
                out[side + "_as_string"] = text
            ends.append(text)
        key = spec.get("key", "-".join(ends))
        bucket.pop("key")
        buckets.append({"key": key, **out, **bucket})
    if keyed:
        return {"buckets": {b.pop("key"): b for b in buckets}}
    return {"buckets": buckets}


def _bound(agg: Agg, value: Any) -> float | None:
    if value is None:
        return None
    return float(datemath.resolve(value) if _is_date(agg) else value)


def _stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    count = sum(int(p.get("count", 0)) for p in parts)
    total = sum(float(p.get("sum") or 0.0) for p in parts)
    mins = [p["min"] for p in parts if p.get("min") is not None]
    maxs = [p["max"] for p in parts if p.get("max") is not None]
    return {
        "count": count,
        "min": min(mins) if count else None,
        "max": max(maxs) if count else None,
        "avg": total / count if count else None,
        "sum": total,
    }


def _metric(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    stats = _stats(parts)
    if agg.kind == "stats":
        if _is_date(agg) and stats["count"]:
            for k in ("min", "max", "avg"):
                stats[k + "_as_string"] = datemath.format_ms(int(stats[k]))
        return stats
    value = stats["sum"] if agg.kind == "sum" else stats[agg.kind]
    out: dict[str, Any] = {"value": value}
    if value is not None and _is_date(agg) and agg.kind in ("min", "max"):
        out["value_as_string"] = datemath.format_ms(int(value))
    return out


def _value_count(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"value": int(sum(float(p.get("value") or 0) for p in parts))}


def _cardinality(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    if len(parts) == 1 and "value" in parts[0]:
        return {"value": int(parts[0]["value"] or 0)}
    keys = {b["key"] for p in parts for b in p.get("buckets", [])}
    return {"value": len(keys)}


def _percentiles(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    wanted = [float(x) for x in agg.params.get("percents", [1, 5, 25, 50, 75, 95, 99])]
    live = [p["values"] for p in parts if p.get("values") and None not in p["values"].values()]
    if not live:
        values: dict[str, Any] = {str(w): None for w in wanted}
    elif len(live) == 1:
        values = {str(w): live[0].get(str(w)) for w in wanted}
    else:
        values = {str(w): _mixture(live, [p.get("_count", 1) for p in parts], w) for w in wanted}
    if agg.params.get("keyed", True):
        return {"values": values}
    return {"values": [{"key": float(k), "value": v} for k, v in values.items()]}


def _mixture(curves: list[dict[str, Any]], weights: list[int], pct: float) -> float:
    """Invert the mixture of per-index quantile curves (sampled on PERCENT_GRID)."""
    pts = [[float(c[str(g)]) for g in PERCENT_GRID] for c in curves]

    def cdf(x: float) -> float:
        total = 0.0
        for curve in pts:
            i = bisect.bisect_right(curve, x)
            total += PERCENT_GRID[min(i, len(curve) - 1)] if i < len(curve) else 100.0
        return total / len(pts)

    lo, hi = min(c[0] for c in pts), max(c[-1] for c in pts)
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < pct else (lo, mid)
    return hi


_FINISH: dict[str, Any] = {
    "terms": _terms,
    "date_histogram": _histogram,
    "histogram": _histogram,
    "range": _range,
    "date_range": _range,
    "avg": _metric,
    "min": _metric,
    "max": _metric,
    "sum": _metric,
    "stats": _metric,
    "value_count": _value_count,
    "cardinality": _cardinality,
    "percentiles": _percentiles,
}
