"""Aggregation results in Elasticsearch's shape, merged across the indices searched.

Each kind's shape and merge rules are in its module (agg_terms.py, agg_histogram.py,
agg_ranges.py, agg_metrics.py, percentiles.py, top_hits.py); this one walks the tree, adds
`meta`, names results for `typed_keys` and counts buckets against `search.max_buckets`.
`filter`, `filters` (and `missing`, `ip_range`) buckets arrive grafted into the tantivy answers
by filterpass.py, `filters`' keyed by their position.
"""

from __future__ import annotations

from typing import Any

from . import (
    agg_auto_date,
    agg_histogram,
    agg_mad,
    agg_metrics,
    agg_pipeline,
    agg_ranges,
    agg_terms,
    agg_weighted,
    percentiles,
    top_hits,
)
from .aggfilter import SINGLE, is_keyed
from .aggs import MISSING, Agg
from .errors import ESError
from .schema import DATE, DOUBLE, LONG

DEFAULT_MAX_BUCKETS = 65_536  # ES 8's search.max_buckets


def finish(aggs: list[Agg], parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for agg in aggs:
        if agg.hidden or agg.kind in agg_pipeline.KINDS:
            continue
        if agg.kind in ("percentiles", "percentile_ranks"):  # read their siblings too
            p = agg.params
            ranks = agg.kind == "percentile_ranks"
            out[agg.name] = percentiles.finish(
                agg.name, p["field"], p, agg.typed, parts, ranks=ranks
            )
        elif agg.kind == "top_hits":
            out[agg.name] = top_hits.finish(agg, parts)
        elif agg.kind == agg_mad.KIND:
            out[agg.name] = agg_mad.finish(agg, parts)
        elif agg.kind == agg_weighted.KIND:
            out[agg.name] = agg_weighted.finish(agg, parts)
        elif agg.kind in ("range", "date_range"):
            found = [agg_ranges.parts_of(agg, p) for p in parts]
            mine = [f for f in found if f is not None]
            extra = [p[agg.name + MISSING] for p in parts if p.get(agg.name + MISSING)]
            out[agg.name] = agg_ranges.finish(agg, mine, _bucket, extra)
        else:
            mine = [p[agg.name] for p in parts if isinstance(p.get(agg.name), dict)]
            out[agg.name] = _FINISH[agg.kind](agg, mine)
            if agg.kind in ("histogram", "date_histogram", "auto_date_histogram"):
                agg_pipeline.parents(agg, out[agg.name])
    agg_pipeline.siblings(aggs, out)
    for agg in aggs:
        if agg.meta is not None and agg.name in out:
            out[agg.name]["meta"] = agg.meta
    return out


def _bucket(agg: Agg, key: Any, members: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "doc_count": sum(int(m["doc_count"]) for m in members)}
    out.update(finish(agg.subs, members))
    return out


def count_buckets(aggs: list[Agg], result: dict[str, Any]) -> int:
    """Buckets in the answer, as ES counts them against search.max_buckets: every bucket of
    a multi-bucket aggregation, at every level."""
    total = 0
    for agg in aggs:
        value = result.get(agg.name)
        if not isinstance(value, dict) or (not agg.subs and "buckets" not in value):
            continue
        if agg.kind in SINGLE:
            total += count_buckets(agg.subs, value)
            continue
        buckets = value.get("buckets", [])
        found = list(buckets.values()) if isinstance(buckets, dict) else list(buckets)
        total += len(found)
        for bucket in found:
            total += count_buckets(agg.subs, bucket)
    return total


def check_max_buckets(aggs: list[Agg], result: dict[str, Any], limit: int) -> None:
    count = count_buckets(aggs, result)
    if count > limit:
        raise ESError(
            400,
            "too_many_buckets_exception",
            f"Trying to create too many buckets. Must be less than or equal to: [{limit}] but "
            f"was [{count}]. This limit can be set by changing the [search.max_buckets] "
            "cluster level setting.",
            max_buckets=limit,
        )


# `typed_keys`: each result named `<type>#<name>`, the type as ES names its result class.
# https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations.html#return-agg-type
_TYPE_NAMES = {
    "percentiles": "tdigest_percentiles",
    "percentile_ranks": "tdigest_percentile_ranks",
    **agg_pipeline.TYPE_NAMES,
}


def with_typed_keys(aggs: list[Agg], result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for agg in aggs:
        if agg.hidden or agg.name not in result:  # a derivative's first bucket has none
            continue
        value = result[agg.name]
        if agg.subs and agg.kind in SINGLE:  # a single bucket: the sub-results sit in it
            value = _typed_bucket(agg, value)
        elif agg.subs:
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
    if agg.kind == "rare_terms":
        return _terms_type(agg, value)[0] + "rareterms"
    if agg.kind != "terms":
        return _TYPE_NAMES.get(agg.kind, agg.kind)
    return _terms_type(agg, value)


def _terms_type(agg: Agg, value: dict[str, Any]) -> str:
    kind = agg.typed.kind if agg.typed is not None else None
    if kind in (LONG, DATE, "boolean"):
        return "lterms"
    if kind == DOUBLE:
        return "dterms"
    keys = [b["key"] for b in value["buckets"]]
    if kind is None and keys and all(isinstance(k, int) for k in keys):
        return "lterms"  # a dynamic field holding numbers: ES maps it long (or float)
    if kind is None and keys and all(isinstance(k, int | float) for k in keys):
        return "dterms"
    return "sterms"


def _terms(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return agg_terms.finish(agg, parts, _bucket)


def _histogram(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return agg_histogram.finish(agg, parts, _bucket)


def _ip_range(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return agg_ranges.ip_finish(agg, parts, _bucket)


def _filter(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"doc_count": sum(int(p.get("doc_count", 0)) for p in parts)}
    out.update(finish(agg.subs, parts))
    return out


def _filters(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    buckets = []
    for pos in range(len(agg.entries)):
        members = [p["buckets"][str(pos)] for p in parts if str(pos) in p.get("buckets", {})]
        buckets.append(_filter(agg, members))
    if is_keyed(agg.params):
        keys = [entry.key for entry in agg.entries]
        return {"buckets": dict(zip(keys, buckets, strict=True))}
    return {"buckets": buckets}


def _auto_date(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return agg_auto_date.finish(agg, parts, _bucket)


def _adjacency(agg: Agg, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """ES lists the non-empty buckets by key."""
    buckets = []
    for pos, entry in enumerate(agg.entries):
        members = [p["buckets"][str(pos)] for p in parts if str(pos) in p.get("buckets", {})]
        bucket = _filter(agg, members)
        if bucket["doc_count"]:
            buckets.append({"key": entry.key, **bucket})
    return {"buckets": sorted(buckets, key=lambda b: str(b["key"]))}


_FINISH: dict[str, Any] = {
    "filter": _filter,
    "missing": _filter,
    "filters": _filters,
    "adjacency_matrix": _adjacency,
    "auto_date_histogram": _auto_date,
    "ip_range": _ip_range,
    "terms": _terms,
    "rare_terms": _terms,
    "date_histogram": _histogram,
    "histogram": _histogram,
    "avg": agg_metrics.metric,
    "min": agg_metrics.metric,
    "max": agg_metrics.metric,
    "sum": agg_metrics.metric,
    "stats": agg_metrics.metric,
    "extended_stats": agg_metrics.extended_stats,
    "value_count": agg_metrics.value_count,
    "cardinality": agg_metrics.cardinality,
}
