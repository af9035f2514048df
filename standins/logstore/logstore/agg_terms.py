"""The `terms` aggregation: the request tantivy runs, and the ES answer merged across indices.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-terms-aggregation.html
tantivy orders by one key (`_count`, `_key` or a metric sub-aggregation) and filters string
terms by regex or list. Everything else ES offers here (several order keys, an order by a
filter's count or a percentile, include/exclude on numbers and dates, partitions) is done on
all the terms (up to ALL_TERMS per index) in Python, after tantivy counted them.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable
from typing import Any

from . import agg_format
from .agg_params import is_number
from .errors import ESError, bad_request, parsing, unsupported
from .routing import murmur3_32
from .schema import BOOLEAN, DATE, DOUBLE, KEYWORD, LONG

ALL_TERMS = 65_000
MISSING_KEY = "logstore[missing]"  # a string key tantivy keeps apart from numbers
_STATS = ("count", "min", "max", "avg", "sum")
_MULTI_VALUE = ("stats", "extended_stats", "percentiles", "percentile_ranks")
# Lucene's regular expressions have operators Rust's regex reads differently (or as literals).
_LUCENE_ONLY = re.compile(r'(?<!\\)[@&~<>#"]')

Bucket = Callable[[Any, Any, list[dict[str, Any]]], dict[str, Any]]


def order_items(agg: Any, default: Any = None) -> list[tuple[str, bool]]:
    """(key, descending) pairs; `_term` and `_time` are ES's deprecated names of `_key`.
    rare_terms: the rarest first, then by key."""
    if agg.kind == "rare_terms":
        return [("_count", False), ("_key", False)]
    order = agg.params.get("order", default or {"_count": "desc"})
    items = order if isinstance(order, list) else [order]
    out = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise parsing(f"[order] of [{agg.name}] must be an object with one key, got {item!r}")
        ((what, direction),) = item.items()
        if direction not in ("asc", "desc"):
            raise parsing(f"Unknown order direction [{direction}] in [{agg.name}]")
        out.append(("_key" if what in ("_term", "_time") else what, direction == "desc"))
    return out


def _kind(agg: Any) -> str | None:
    """The field's value kind: its mapping's, else the `value_type` hint (unmapped fields)."""
    if agg.typed is not None:
        return str(agg.typed.kind)
    hint = agg.params.get("value_type")
    return (
        {
            "string": KEYWORD,
            "ip": KEYWORD,
            "long": LONG,
            "integer": LONG,
            "double": DOUBLE,
            "float": DOUBLE,
            "number": DOUBLE,
            "date": DATE,
            "boolean": BOOLEAN,
        }.get(hint)
        if hint
        else None
    )


def _is_string(agg: Any) -> bool:
    return _kind(agg) in (KEYWORD, None) and agg.es_type != "ip"


def check(agg: Any) -> None:
    for what, _ in order_items(agg):
        _tantivy_order(agg, what)  # an order path ES refuses is refused here too
    for side in ("include", "exclude"):
        value = agg.params.get(side)
        if value is None:
            continue
        if isinstance(value, str):
            if not _is_string(agg):  # ES's AggregationExecutionException: a 500
                raise ESError(
                    500,
                    "aggregation_execution_exception",
                    f"Aggregation [{agg.name}] cannot support regular expression style "
                    "include/exclude settings as they can only be applied to string fields. "
                    "Use an array of values for include/exclude clauses",
                )
            if _LUCENE_ONLY.search(value):
                raise unsupported(f'terms {side} regex operators @ & ~ < > # " ([{value}])')
        elif isinstance(value, dict):
            if side == "exclude" or set(value) != {"partition", "num_partitions"}:
                raise parsing(f"[{side}] of [{agg.name}] takes partition and num_partitions")
            count, part = value["num_partitions"], value["partition"]
            if not (isinstance(count, int) and isinstance(part, int) and 0 <= part < count):
                raise bad_request(f"invalid partition [{part}] of [{count}] in [{agg.name}]")
        elif not isinstance(value, list):
            raise parsing(f"[{side}] of [{agg.name}] must be a string, an array or an object")


def _python_side(agg: Any) -> bool:
    """Whether the terms are filtered or ordered here rather than by tantivy."""
    if agg.kind == "rare_terms":  # every term, the rare ones kept here
        return True
    p = agg.params
    for side in ("include", "exclude"):
        value = p.get(side)
        if isinstance(value, dict) or (isinstance(value, list) and not _is_string(agg)):
            return True
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return True
    items = order_items(agg)
    if len(items) != 1:
        return True
    return _tantivy_order(agg, items[0][0]) is None


def _tantivy_order(agg: Any, what: str) -> str | None:
    if what in ("_count", "_key"):
        return what
    name, _, metric = what.partition(".")
    sub = next((s for s in agg.subs if s.name == name), None)
    if sub is None:
        raise bad_request(
            f"Invalid aggregation order path [{what}]. The provided aggregation [{name}] "
            f"either does not exist, or is a pipeline aggregation and cannot be used to sort "
            "the buckets."
        )
    if sub.kind in _MULTI_VALUE and not metric:
        raise bad_request(
            f"Invalid aggregation order path [{what}]. When ordering on a multi-value metrics "
            "aggregation a metric name must be specified."
        )
    if sub.kind in ("avg", "min", "max", "sum") and not metric:
        return f"{name}.{sub.kind}"  # tantivy computes these as `stats` (aggs.one_spec)
    if sub.kind in ("value_count", "cardinality") and not metric:
        return what
    if sub.kind in ("stats", "extended_stats") and metric in _STATS:
        return what
    return None


def spec(agg: Any, fname: str, *, multi: bool) -> dict[str, Any]:
    p = agg.params
    size = int(p.get("size", 10))
    body: dict[str, Any] = {"field": fname}
    if _python_side(agg):
        body["size"] = ALL_TERMS
    else:
        body["size"] = max(size * 3 // 2 + 10, size) if multi else size
        ((what, desc),) = order_items(agg)
        if (what, desc) != ("_count", True):
            body["order"] = {_tantivy_order(agg, what): "desc" if desc else "asc"}
    if "min_doc_count" in p:
        body["min_doc_count"] = int(p["min_doc_count"])
    if "missing" in p:
        body["missing"] = _tantivy_missing(agg)
    if _is_string(agg):
        for side in ("include", "exclude"):
            value = p.get(side)
            if isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                body[side] = value
    return {"terms": body}


def missing_value(agg: Any) -> Any:
    """`missing` read as the field's kind reads a value (a date as epoch millis, ...)."""
    value, kind = agg.params["missing"], _kind(agg)
    try:
        if kind == DATE:
            return agg_format.parse_date(agg, value)
        if kind == LONG:
            return int(value)
        if kind == DOUBLE:
            return float(value)
        if kind == BOOLEAN:
            return 1 if value in (True, "true") else 0
    except (TypeError, ValueError):
        raise bad_request(f"[missing] value [{value}] does not fit field kind [{kind}]") from None
    return value if isinstance(value, str) else str(value) if kind == KEYWORD else value


def _tantivy_missing(agg: Any) -> Any:
    value, kind = missing_value(agg), _kind(agg)
    if (kind in (KEYWORD, None) and isinstance(value, str)) or (
        kind in (LONG, DATE, DOUBLE) and agg.typed is not None
    ):
        return value
    return MISSING_KEY  # mapped back in finish()


def _key(agg: Any, key: Any) -> Any:
    if key == MISSING_KEY and "missing" in agg.params:
        return missing_value(agg)
    kind = _kind(agg)
    if isinstance(key, float) and key.is_integer() and kind in (LONG, DATE, BOOLEAN, None):
        return int(key)
    if kind == DOUBLE and is_number(key):
        return float(key)
    return key


def _as_string(agg: Any, key: Any) -> str | None:
    kind = _kind(agg)
    if kind == BOOLEAN:
        return "true" if key else "false"
    if kind == DATE and is_number(key):
        return agg_format.date_text(int(key), agg_format.field_format(agg))
    if "format" in agg.params and is_number(key):
        return agg_format.decimal(agg.params["format"], float(key))
    return None


def finish(agg: Any, parts: list[dict[str, Any]], bucket: Bucket) -> dict[str, Any]:
    size = int(agg.params.get("size", 10))
    groups: dict[Any, list[dict[str, Any]]] = {}
    for part in parts:
        for b in part.get("buckets", []):
            groups.setdefault(_key(agg, b["key"]), []).append(b)
    accept = _acceptor(agg)
    kept_keys = [k for k in groups if accept(k)]
    buckets = []
    for key in kept_keys:
        out = bucket(agg, key, groups[key])
        text = _as_string(agg, key)
        if text is not None:
            rest = {k: v for k, v in out.items() if k != "key"}
            out = {"key": key, "key_as_string": text, **rest}
        if agg.params.get("show_term_doc_count_error"):
            out["doc_count_error_upper_bound"] = 0
        buckets.append(out)
    min_count = int(agg.params.get("min_doc_count", 1))
    buckets = [b for b in buckets if b["doc_count"] >= min_count]
    if agg.kind == "rare_terms":
        most = int(agg.params.get("max_doc_count", 1))
        buckets = [b for b in buckets if b["doc_count"] <= most]
    buckets.sort(key=lambda b: _sortable(b["key"]))  # ties: by key, ascending
    for what, desc in reversed(order_items(agg)):
        buckets.sort(key=functools.partial(sort_value, what=what), reverse=desc)
    # Terms tantivy left out count as "other" only when tantivy did the filtering.
    total = sum(int(p.get("sum_other_doc_count", 0)) for p in parts) if accept is _all else 0
    total += sum(b["doc_count"] for b in buckets)
    if agg.kind == "rare_terms":  # every rare term, in one list
        return {"buckets": buckets}
    kept = buckets[:size]
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": total - sum(b["doc_count"] for b in kept),
        "buckets": kept,
    }


def _all(key: Any) -> bool:
    return True


def _acceptor(agg: Any) -> Callable[[Any], bool]:
    """The include/exclude filter tantivy did not apply (numbers, dates, partitions)."""
    p = agg.params
    if not _python_side(agg) or ("include" not in p and "exclude" not in p):
        return _all
    include, exclude = p.get("include"), p.get("exclude")

    def values(items: list[Any]) -> set[Any]:
        return {_key(agg, _parse(agg, v)) for v in items}

    inc = values(include) if isinstance(include, list) else None
    exc = values(exclude) if isinstance(exclude, list) else set()

    def accept(key: Any) -> bool:
        if key in exc or (inc is not None and key not in inc):
            return False
        if isinstance(include, dict):
            return bool(
                _partition(agg, key, int(include["num_partitions"])) == include["partition"]
            )
        return True

    return accept


def _parse(agg: Any, value: Any) -> Any:
    kind = _kind(agg)
    if kind == DATE:
        return agg_format.parse_date(agg, value)
    if kind in (LONG, DOUBLE) and isinstance(value, str):
        return float(value)
    if kind == BOOLEAN:
        return 1 if value in (True, "true", 1) else 0
    return value


def _partition(agg: Any, key: Any, count: int) -> int:
    """ES's partition of a term: murmur3 (seed 31) of a string's UTF-8 bytes, HPPC's mix64 of
    a number (a double by its sortable long bits)."""
    if isinstance(key, str):
        return murmur3_32(key.encode(), 31) % count
    if (isinstance(key, float) and not key.is_integer()) or _kind(agg) == DOUBLE:
        (bits,) = struct.unpack(">q", struct.pack(">d", float(key)))
        key = bits ^ ((bits >> 63) & 0x7FFFFFFFFFFFFFFF)
    return _mix64(int(key)) % count


_M64 = (1 << 64) - 1


def _mix64(z: int) -> int:
    z &= _M64
    z = ((z ^ (z >> 32)) * 0x4CD6944C5CC20B6D) & _M64
    z = ((z ^ (z >> 29)) * 0xFC12C5B19D3259E9) & _M64
    z ^= z >> 32
    return z - (1 << 64) if z >= 1 << 63 else z  # a Java long: floorMod of a signed value


def _sortable(key: Any) -> tuple[int, Any]:
    return (0, key) if is_number(key) else (1, str(key))


def sort_value(bucket: dict[str, Any], *, what: str) -> Any:
    if what in ("_count", "_key"):
        return bucket["doc_count"] if what == "_count" else _sortable(bucket["key"])
    name, _, metric = what.partition(".")
    sub = bucket.get(name, {})
    if not metric and isinstance(sub, dict) and "value" not in sub:
        metric = "doc_count"  # a single-bucket aggregation (`filter`) orders by its count
    if isinstance(sub, dict) and isinstance(sub.get("values"), dict):
        sub = sub["values"]  # percentiles: `pct.50` orders by the 50th percentile
        metric = str(float(metric)) if metric.replace(".", "", 1).isdigit() else metric
    value = sub.get(metric or "value") if isinstance(sub, dict) else None
    return value if value is not None else float("-inf")
