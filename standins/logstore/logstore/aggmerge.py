"""Aggregation results in Elasticsearch's shape, merged across the indices searched.

Shapes: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-terms-aggregation.html
and the sibling pages for date_histogram, histogram, range, stats, percentiles, cardinality.
Across indices: counts and sums add up, cardinality is the size of the union of terms;
percentiles are merged in percentiles.py.
"""

from __future__ import annotations

import functools
from typing import Any

from . import datemath, percentiles
from .aggs import Agg
from .schema import DATE, DOUBLE, LONG


def finish(aggs: list[Agg], parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for agg in aggs:
        if agg.kind == "percentiles":  # reads its sibling aggregations too
            p = agg.params
            out[agg.name] = percentiles.finish(agg.name, p["field"], p, agg.typed, parts)
            continue
        mine = [p[agg.name] for p in parts if isinstance(p.get(agg.name), dict)]
        out[agg.name] = _FINISH[agg.kind](agg, mine)
    return out


# `typed_keys`: each result named `<type>#<name>`, the type as ES names its result class.
# https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations.html#return-agg-type
_TYPE_NAMES = {"percentiles": "tdigest_percentiles"}


def with_typed_keys(aggs: list[Agg], result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for agg in aggs:
        value = result[agg.name]
        if agg.subs:
            buckets = value["buckets"]
            if isinstance(buckets, dict):
                value = {**value, "buckets": {k: _typed_bucket(agg, b) for k, b in buckets.items()}}
            else:
                value = {**value, "buckets": [_typed_bucket(agg, b) for b in buckets]}
        out[f"{_type_name(agg, value)}#{agg.name}"] = value
    return out


def _typed_bucket(agg: Agg, bucket: dict[str, Any]) -> dict[str, Any]:
    subs = {s.name for s in agg.subs}
    own = {k: v for k, v in bucket.items() if k not in subs}
    return {**own, **with_typed_keys(agg.subs, bucket)}


def _type_name(agg: Agg, value: dict[str, Any]) -> str:
    if agg.kind != "terms":
        return _TYPE_NAMES.get(agg.kind, agg.kind)
    kind = agg.typed.kind if agg.typed is not None else None
    if kind in (LONG, DATE):
        return "lterms"
    if kind == DOUBLE:
        return "dterms"
    keys = [b["key"] for b in value["buckets"]]
    if kind is None and keys and all(isinstance(k, int) for k in keys):
        return "lterms"  # a dynamic field holding numbers: ES maps it long (or float)
    if kind is None and keys and all(isinstance(k, int | float) for k in keys):
        return "dterms"
    return "sterms"


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
            text = (
                str(int(key))
                if agg.params.get("format") == "epoch_millis"
                else datemath.format_ms(int(key))
            )
            bucket = {"key_as_string": text, **bucket}
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
}
