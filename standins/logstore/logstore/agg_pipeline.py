"""Pipeline aggregations: computed from the finished answer, not from documents.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-pipeline.html
Sibling pipelines (`avg_bucket`, `max_bucket`, `min_bucket`, `sum_bucket`, `stats_bucket`)
read one value per bucket of a multi-bucket sibling through `buckets_path`
(`terms>sub>metric`, `sub.metric`, `_count`); parent pipelines (`derivative`,
`cumulative_sum`) sit in a histogram's buckets and read their neighbours. `gap_policy`
`skip` (the default) leaves out buckets without a value, `insert_zeros` counts them as 0.
A path ES would reject is ES's error, with ES's reason.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ESError, parsing, unsupported

SIBLING = ("avg_bucket", "max_bucket", "min_bucket", "sum_bucket", "stats_bucket")
PARENT = ("derivative", "cumulative_sum")
KINDS = SIBLING + PARENT
_HISTOGRAMS = ("histogram", "date_histogram", "auto_date_histogram")
_PARAMS = {"buckets_path", "gap_policy"}
# ES's result classes, named in its path errors
_CLASSES = {
    "date_histogram": "InternalDateHistogram",
    "histogram": "InternalHistogram",
    "range": "InternalRange",
    "date_range": "InternalDateRange",
    "ip_range": "InternalBinaryRange",
    "filters": "InternalFilters",
}
_MULTI_VALUE = ("stats", "extended_stats", "percentiles", "percentile_ranks", "top_hits")
TYPE_NAMES = {
    "avg_bucket": "simple_value",
    "sum_bucket": "simple_value",
    "cumulative_sum": "simple_value",
    "max_bucket": "bucket_metric_value",
    "min_bucket": "bucket_metric_value",
    "stats_bucket": "stats_bucket",
    "derivative": "derivative",
}


def check(agg: Any, parent: str | None) -> None:
    for key in agg.params:
        if key in ("format", "unit"):
            raise unsupported(f"{agg.kind} {key} (aggregation [{agg.name}])")
        if key not in _PARAMS:
            raise parsing(f"[{agg.kind}] unknown field [{key}] (aggregation [{agg.name}])")
    if not isinstance(agg.params.get("buckets_path"), str):
        raise parsing(f"[buckets_path] must be a string in [{agg.name}]")
    if agg.params.get("gap_policy", "skip") not in ("skip", "insert_zeros"):
        raise unsupported(f"{agg.kind} gap_policy [{agg.params['gap_policy']}] ([{agg.name}])")
    if agg.kind in PARENT and parent not in _HISTOGRAMS:
        raise ESError(
            400,
            "action_request_validation_exception",
            f"Validation Failed: 1: {agg.kind} aggregation [{agg.name}] must have a histogram, "
            "date_histogram or auto_date_histogram as parent;",
        )


def _path_error(reason: str) -> ESError:
    return ESError(400, "aggregation_execution_exception", reason)


def _class_of(agg: Any, value: dict[str, Any]) -> str:
    if agg.kind == "terms":
        keys = [b.get("key") for b in value.get("buckets", [])]
        if keys and all(isinstance(k, int) for k in keys):
            return "LongTerms"
        if keys and all(isinstance(k, int | float) for k in keys):
            return "DoubleTerms"
        return "StringTerms"
    return _CLASSES.get(str(agg.kind), str(agg.kind))


def _value(bucket: dict[str, Any], parts: list[str], subs: list[Any]) -> Any:
    """The number `parts` (a buckets_path after its first element) names in one bucket. An
    empty bucket is a gap, as in ES (BucketHelpers), whatever its metric says."""
    head, rest = parts[0], parts[1:]
    if head == "_count":
        return bucket.get("doc_count")
    if bucket.get("doc_count") == 0:
        return None
    if head == "_key":
        return bucket.get("key")
    name, _, metric = head.partition(".")
    if name.endswith("]") and "[" in name:
        name, _, metric = name[:-1].partition("[")
    sub = next((s for s in subs if s.name == name), None)
    result = bucket.get(name)
    if sub is None or not isinstance(result, dict):
        raise _path_error(f"No aggregation found for path [{'>'.join(parts)}]")
    if "buckets" in result:
        what = "Object[]" if rest else _class_of(sub, result)
        raise _path_error(
            "buckets_path must reference either a number value or a single value numeric "
            f"metric aggregation, got: [{what}] at aggregation [{name}]"
        )
    if rest:  # a single-bucket aggregation (filter, missing) on the way
        return _value(result, rest, sub.subs)
    if sub.kind in _MULTI_VALUE and not metric:
        raise _path_error(
            "buckets_path must reference either a number value or a single value numeric "
            f"metric aggregation, but [{name}] contains multiple values. Please specify which "
            "to use."
        )
    if not metric or (metric == "value" and "value" in result):
        return result.get("value", result.get("doc_count"))
    if isinstance(result.get("values"), dict):  # percentiles: `p.99` or `p[99.0]`
        try:
            return result["values"].get(str(float(metric)))
        except ValueError:
            pass
    if metric in result and not isinstance(result[metric], dict):
        return result[metric]
    raise _path_error(f"No metric [{metric}] in aggregation [{name}]")


def _number(value: Any, gap: str) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0.0 if gap == "insert_zeros" else None
    return float(value)


def _bucket_key(bucket: dict[str, Any]) -> str:
    key = bucket.get("key_as_string", bucket.get("key"))
    return str(key)


def siblings(aggs: list[Any], out: dict[str, Any]) -> None:
    """Adds each sibling pipeline of `aggs` to `out`, the finished results of that level."""
    for agg in aggs:
        if agg.kind not in SIBLING:
            continue
        path = str(agg.params["buckets_path"]).split(">")
        if "." in path[0]:  # ES reads `range.v` as the elements `range`, `v`
            head, _, tail = path[0].partition(".")
            path = [head, tail, *path[1:]]
        first = next((a for a in aggs if a.name == path[0]), None)
        holder = out.get(path[0])
        if first is None or not isinstance(holder, dict) or "buckets" not in holder:
            found = first.kind if first is not None else "null"
            raise _path_error(
                f"The first aggregation in buckets_path must be a multi-bucket aggregation for "
                f"aggregation [{agg.name}] found :[{found}] for buckets path: "
                f"{agg.params['buckets_path']}"
            )
        buckets = holder["buckets"]
        rows = list(buckets.values()) if isinstance(buckets, dict) else list(buckets)
        gap = str(agg.params.get("gap_policy", "skip"))
        values: list[tuple[str, float]] = []
        for bucket in rows:
            number = _number(_value(bucket, path[1:] or ["_count"], first.subs), gap)
            if number is not None:
                values.append((_bucket_key(bucket), number))
        out[agg.name] = _summary(agg.kind, values)


def _summary(kind: str, values: list[tuple[str, float]]) -> dict[str, Any]:
    numbers = [v for _, v in values]
    if kind == "sum_bucket":
        return {"value": sum(numbers)}
    if kind == "avg_bucket":
        return {"value": sum(numbers) / len(numbers) if numbers else None}
    if kind == "stats_bucket":
        count = len(numbers)
        return {
            "count": count,
            "min": min(numbers) if count else None,
            "max": max(numbers) if count else None,
            "avg": sum(numbers) / count if count else None,
            "sum": sum(numbers),
        }
    best = (max if kind == "max_bucket" else min)(numbers, default=None)
    keys = [k for k, v in values if v == best] if best is not None else []
    return {"value": best, "keys": keys}


def parents(agg: Any, value: dict[str, Any]) -> None:
    """Adds the parent pipelines under a histogram to its buckets, in key order."""
    pipes = [s for s in agg.subs if s.kind in PARENT]
    if not pipes:
        return
    buckets = value["buckets"]
    rows = list(buckets.values()) if isinstance(buckets, dict) else list(buckets)
    for pipe in pipes:
        path = str(pipe.params["buckets_path"]).split(">")
        gap = str(pipe.params.get("gap_policy", "skip"))
        previous: float | None = None
        running = 0.0
        for bucket in rows:
            number = _number(_value(bucket, path, agg.subs), gap)
            if pipe.kind == "cumulative_sum":
                running += number or 0.0
                bucket[pipe.name] = {"value": running}
                continue
            # As ES: no derivative where this bucket or the one before has no value.
            if number is not None and previous is not None:
                bucket[pipe.name] = {"value": number - previous}
            previous = number
