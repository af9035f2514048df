"""The `weighted_avg` aggregation: sum(value * weight) / sum(weight).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-metrics-weight-avg-aggregation.html
tantivy has no product of two fields, so logstore counts the documents of each distinct
(value, weight) pair with a `terms` aggregation on the value and one on the weight inside it,
and sums the products here: exact, as ES's. Past tantivy's bucket limit (or 10000 distinct
values or weights per index) it is refused by name. A document holding several weights
counts once per weight (ES refuses such a document).
"""

from __future__ import annotations

from typing import Any

from .agg_params import is_number
from .errors import parsing, unsupported

KIND = "weighted_avg"
PAIRS = "[pairs]"  # ES forbids [ and ] in aggregation names: no clash
_MISSING = "logstore[missing]"  # a string key: tantivy keeps it apart from numbers
_SIDES = ("value", "weight")
_SIZE = 10_000


def check(name: str, params: dict[str, Any]) -> None:
    for key in params:
        if key in ("format", "value_type", "script"):
            raise unsupported(f"{KIND} {key} (aggregation [{name}])")
        if key not in _SIDES:
            raise parsing(f"[{KIND}] unknown field [{key}]")
    for side in _SIDES:
        spec = params.get(side)
        if not isinstance(spec, dict) or "field" not in spec:
            raise parsing(f"[{side}] of [{name}] must be an object with a [field]")
        for key in spec:
            if key == "script":
                raise unsupported(f"{KIND} {side} script (aggregation [{name}])")
            if key not in ("field", "missing"):
                raise parsing(f"[{side}] of [{name}] unknown field [{key}]")
        if "missing" in spec and not is_number(spec["missing"]):
            raise parsing(f"[missing] of [{name}.{side}] must be a number")


def specs(name: str, tr: Any, params: dict[str, Any], *, exact: bool) -> dict[str, Any]:
    """Only in the exact pass: when it passes tantivy's bucket limit, finish() refuses."""
    if not exact:
        return {}
    terms = []
    for side in _SIDES:
        body: dict[str, Any] = {"field": tr.field(params[side]["field"])[0], "size": _SIZE}
        if "missing" in params[side]:
            body["missing"] = _MISSING
        terms.append(body)
    return {name + PAIRS: {"terms": terms[0], "aggs": {"w": {"terms": terms[1]}}}}


def finish(agg: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    total = weights = 0.0
    for part in parts:
        pairs = part.get(agg.name + PAIRS)
        if not isinstance(pairs, dict) or int(pairs.get("sum_other_doc_count") or 0):
            raise unsupported(
                f"{KIND} over more distinct values and weights than logstore counts exactly "
                f"(aggregation [{agg.name}])"
            )
        for outer in pairs.get("buckets", []):
            value = _number(agg, "value", outer["key"])
            inner = outer.get("w") or {}
            if int(inner.get("sum_other_doc_count") or 0):
                raise unsupported(f"{KIND} over too many distinct weights ([{agg.name}])")
            for bucket in inner.get("buckets", []):
                weight = _number(agg, "weight", bucket["key"])
                if value is None or weight is None:
                    continue
                total += value * weight * int(bucket["doc_count"])
                weights += weight * int(bucket["doc_count"])
    return {"value": total / weights if weights else None}


def _number(agg: Any, side: str, key: Any) -> float | None:
    if key == _MISSING:
        return float(agg.params[side]["missing"])
    return float(key) if is_number(key) else None
