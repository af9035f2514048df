"""Metric aggregations' answers (avg, min, max, sum, stats, extended_stats, value_count,
cardinality), merged across indices: counts and sums add up, cardinality is the size of the
union of the terms.

extended_stats: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-metrics-extendedstats-aggregation.html
Its variance is ES's (sum of squares - sum^2 / count) / count, from the merged sums, so
several indices answer as one would.
"""

from __future__ import annotations

import math
from typing import Any

from .agg_format import date_text, field_format
from .schema import DATE


def _is_date(agg: Any) -> bool:
    return agg.typed is not None and agg.typed.kind == DATE


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


def metric(agg: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    stats = _stats(parts)
    if agg.kind == "stats":
        if _is_date(agg) and stats["count"]:
            for k in ("min", "max", "avg"):
                stats[k + "_as_string"] = date_text(int(stats[k]), field_format(agg))
        return stats
    value = stats["sum"] if agg.kind == "sum" else stats[agg.kind]
    out: dict[str, Any] = {"value": value}
    if value is not None and _is_date(agg) and agg.kind in ("min", "max"):
        out["value_as_string"] = date_text(int(value), field_format(agg))
    return out


def extended_stats(agg: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    out = _stats(parts)
    count, total = out["count"], out["sum"]
    sigma = float(agg.params.get("sigma", 2.0))
    if not count:
        out["sum_of_squares"] = None
        for key in _VARIANCES:
            out[key] = None
        out["std_deviation_bounds"] = {key: None for key in _BOUNDS}
        return out
    squares = sum(float(p.get("sum_of_squares") or 0.0) for p in parts)
    avg = out["avg"]
    population = max((squares - total * total / count) / count, 0.0)
    sampling = max((squares - total * total / count) / (count - 1), 0.0) if count > 1 else math.inf
    out["sum_of_squares"] = squares
    out["variance"] = population
    out["variance_population"] = population
    out["variance_sampling"] = sampling if math.isfinite(sampling) else None
    std, std_sampling = math.sqrt(population), math.sqrt(sampling)
    out["std_deviation"] = std
    out["std_deviation_population"] = std
    out["std_deviation_sampling"] = std_sampling if math.isfinite(std_sampling) else None
    bounds: dict[str, Any] = {
        "upper": avg + sigma * std,
        "lower": avg - sigma * std,
        "upper_population": avg + sigma * std,
        "lower_population": avg - sigma * std,
    }
    if math.isfinite(std_sampling):
        bounds["upper_sampling"] = avg + sigma * std_sampling
        bounds["lower_sampling"] = avg - sigma * std_sampling
    else:
        bounds["upper_sampling"] = bounds["lower_sampling"] = None
    out["std_deviation_bounds"] = bounds
    return out


_VARIANCES = (
    "variance",
    "variance_population",
    "variance_sampling",
    "std_deviation",
    "std_deviation_population",
    "std_deviation_sampling",
)
_BOUNDS = (
    "upper",
    "lower",
    "upper_population",
    "lower_population",
    "upper_sampling",
    "lower_sampling",
)


def value_count(agg: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"value": int(sum(float(p.get("value") or 0) for p in parts))}


def cardinality(agg: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    if len(parts) == 1 and "value" in parts[0]:
        return {"value": int(parts[0]["value"] or 0)}
    keys = {b["key"] for p in parts for b in p.get("buckets", [])}
    return {"value": len(keys)}
