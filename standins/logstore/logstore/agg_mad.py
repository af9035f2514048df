"""The `median_absolute_deviation` aggregation: the median of the distances to the median.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-metrics-median-absolute-deviation-aggregation.html
ES takes both medians from TDigest sketches; logstore reads the exact values as percentiles.py
does (a `terms` pass on the field) and takes both medians with the same rule as its
percentiles (100, 200, 300 give 100, as ES's rest-api-spec test 270 expects). Past
percentiles.EXACT_DISTINCT distinct values in an index it is refused by name rather than
estimated another way.
"""

from __future__ import annotations

from typing import Any

from . import percentiles
from .agg_params import is_number
from .errors import bad_request, parsing, unsupported

KIND = "median_absolute_deviation"
_PARAMS = {"field", "compression", "missing"}


def check(name: str, params: dict[str, Any]) -> None:
    for key in params:
        if key in ("script", "format", "value_type", "execution_hint"):
            raise unsupported(f"{KIND} {key} (aggregation [{name}])")
        if key not in _PARAMS:
            raise parsing(f"[{KIND}] unknown field [{key}]")
    compression = params.get("compression", 1000.0)
    if not is_number(compression):
        raise parsing(f"[compression] of [{name}] must be a number")
    if compression <= 0:
        raise bad_request(
            f"[compression] must be greater than 0. Found [{float(compression)}] in [{name}]"
        )
    if "missing" in params and not is_number(params["missing"]):
        raise parsing(f"[missing] of [{name}] must be a number, got {params['missing']!r}")


def specs(name: str, fname: str, params: dict[str, Any], *, multi: bool) -> dict[str, Any]:
    kept = {"missing": params["missing"]} if "missing" in params else {}
    return percentiles.tantivy_specs(name, fname, kept, exact=True, multi=multi, ranks=True)


def finish(agg: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[float, int] = {}
    for part in parts:
        counts = percentiles.exact_counts(
            agg.params["field"], agg.params, part.get(agg.name + percentiles.VALUES)
        )
        if counts is None:
            raise unsupported(
                f"{KIND} over more than {percentiles.EXACT_DISTINCT} distinct values "
                f"(aggregation [{agg.name}])"
            )
        for value, n in counts:
            merged[value] = merged.get(value, 0) + n
    (median,) = percentiles.quantiles(sorted(merged.items()), [50.0])
    if median is None:
        return {"value": None}
    distances: dict[float, int] = {}
    for value, n in merged.items():
        distance = abs(value - median)
        distances[distance] = distances.get(distance, 0) + n
    (deviation,) = percentiles.quantiles(sorted(distances.items()), [50.0])
    return {"value": deviation}
