"""Elasticsearch queries of /api/ds/query, in Grafana's Elasticsearch query model, run on
logstore as Grafana's Elasticsearch backend runs them on Elasticsearch.

A query is a Lucene `query` string, `metrics` (count, avg, sum, min, max, cardinality,
percentiles) and `bucketAggs` (date_histogram, terms) nested in order, the metrics inside the
innermost bucket. Every query of a request goes out in one `_msearch` (NDJSON: a header line
and a body line per query), each filtered to the time range on its time field.
https://grafana.com/docs/grafana/latest/datasources/elasticsearch/query-editor/

Frames follow Grafana's response parser: a date_histogram innermost gives one time series per
metric (per percent for percentiles, named `p<percent> <field>`) for each combination of the
outer terms, named by those term values (plus the metric when there are several kinds); a terms
innermost gives one table (the outer terms, the term, one column per metric).
"""

from __future__ import annotations

import math
from typing import Any

from . import frames
from .intervals import TimeRange, format_duration, parse_duration_ms

SINGLE_VALUE = ("avg", "sum", "min", "max", "cardinality")
METRIC_NAMES = {
    "count": "Count",
    "avg": "Average",
    "sum": "Sum",
    "min": "Min",
    "max": "Max",
    "cardinality": "Unique Count",
    "percentiles": "Percentiles",
}
MAX_BUCKETS = 11_000  # an `auto` date_histogram is widened to stay under this many buckets
DEFAULT_MAX_POINTS = 1_000


class QueryModelError(ValueError):
    """A query the model does not allow or the console does not serve; the message says which."""


def _int_setting(settings: dict[str, Any], key: str, default: int, where: str) -> int:
    raw = settings.get(key, default)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise QueryModelError(f"{where}.settings.{key} {raw!r} is not a whole number") from None


def auto_interval_ms(query: dict[str, Any], tr: TimeRange) -> int:
    max_points = int(query.get("maxDataPoints") or DEFAULT_MAX_POINTS)
    step = max(int(query.get("intervalMs") or 0), math.ceil(tr.duration_ms / max_points), 1000)
    step = max(step, math.ceil(tr.duration_ms / MAX_BUCKETS))
    return math.ceil(step / 1000) * 1000


def _date_histogram(agg: dict[str, Any], query: dict[str, Any], tr: TimeRange, time_field: str,
                    where: str) -> dict[str, Any]:
    settings = agg.get("settings") or {}
    interval = str(settings.get("interval") or "auto")
    if interval == "auto" or interval.startswith("$__interval"):
        interval_ms = auto_interval_ms(query, tr)
    else:
        try:
            interval_ms = parse_duration_ms(interval, key=f"{where}.settings.interval")
        except ValueError as exc:
            raise QueryModelError(str(exc)) from None
    return {
        "date_histogram": {
            "field": agg.get("field") or time_field,
            "fixed_interval": format_duration(interval_ms),
            "min_doc_count": _int_setting(settings, "min_doc_count", 0, where),
            "extended_bounds": {"min": tr.from_ms, "max": tr.to_ms},
            "format": "epoch_millis",
        }
    }


def _terms(agg: dict[str, Any], metrics: dict[str, dict[str, Any]], where: str) -> dict[str, Any]:
    settings = agg.get("settings") or {}
    if not agg.get("field"):
        raise QueryModelError(f"{where}: a terms aggregation needs a `field`")
    size = _int_setting(settings, "size", 10, where)
    order_by = str(settings.get("orderBy") or "_count")
    if order_by == "_term":
        order_by = "_key"
    elif order_by not in ("_count", "_key"):
        metric = metrics.get(order_by)
        if metric is None:
            raise QueryModelError(f"{where}.settings.orderBy {order_by!r} names no metric id")
        if metric.get("type") == "count":
            order_by = "_count"
    spec: dict[str, Any] = {
        "field": agg["field"],
        "size": size if size > 0 else 500,  # Grafana's "No limit"
        "order": {order_by: str(settings.get("order") or "desc")},
        "min_doc_count": _int_setting(settings, "min_doc_count", 1, where),
    }
    if settings.get("missing") not in (None, ""):
        spec["missing"] = settings["missing"]
    return {"terms": spec}


def _metric_agg(metric: dict[str, Any], where: str) -> dict[str, Any] | None:
    kind = metric.get("type")
    if kind == "count":
        return None  # every bucket's doc_count
    if kind not in SINGLE_VALUE and kind != "percentiles":
        raise QueryModelError(
            f"{where}.type {kind!r} is not served: the console serves count, avg, sum, min, "
            "max, cardinality and percentiles"
        )
    if not metric.get("field"):
        raise QueryModelError(f"{where}: a {kind} metric needs a `field`")
    if kind == "percentiles":
        settings = metric.get("settings") or {}
        percents = settings.get("percents") or ["25", "50", "75", "95", "99"]
        try:
            values = [float(p) for p in percents]
        except (TypeError, ValueError):
            raise QueryModelError(f"{where}.settings.percents {percents!r}: numbers") from None
        return {"percentiles": {"field": metric["field"], "percents": values}}
    return {kind: {"field": metric["field"]}}


def build_search(query: dict[str, Any], tr: TimeRange, time_field: str) -> dict[str, Any]:
    ref = f"query {query.get('refId', 'A')}"
    metrics_list = query.get("metrics") or [{"id": "1", "type": "count"}]
    buckets = query.get("bucketAggs") or []
    if not buckets:
        raise QueryModelError(
            f"{ref}: a query without bucketAggs (raw data, raw document or logs) is not served "
            "by the console: add a date_histogram or terms bucket aggregation"
        )
    metrics = {str(m.get("id")): m for m in metrics_list}
    metric_aggs = {}
    for index, metric in enumerate(metrics_list):
        spec = _metric_agg(metric, f"{ref}: metrics[{index}]")
        if spec is not None:
            metric_aggs[str(metric["id"])] = spec
    root: dict[str, Any] = {}
    level = root
    for index, agg in enumerate(buckets):
        where = f"{ref}: bucketAggs[{index}]"
        kind = agg.get("type")
        if kind == "date_histogram":
            spec = _date_histogram(agg, query, tr, time_field, where)
        elif kind == "terms":
            spec = _terms(agg, metrics, where)
            order_key = next(iter(spec["terms"]["order"]))
            if order_key in metric_aggs:  # ordering by a metric needs it inside this agg
                spec["aggs"] = {order_key: metric_aggs[order_key]}
        else:
            raise QueryModelError(
                f"{where}.type {kind!r} is not served: use date_histogram or terms"
            )
        level[str(agg.get("id"))] = spec
        level = spec.setdefault("aggs", {})
    level.update(metric_aggs)
    _drop_empty(root)
    lucene = str(query.get("query") or "").strip() or "*"
    return {
        "size": 0,
        "query": {
            "bool": {
                "filter": [
                    {"range": {time_field: {"gte": tr.from_ms, "lte": tr.to_ms,
                                            "format": "epoch_millis"}}},
                    {"query_string": {"analyze_wildcard": True, "query": lucene}},
                ]
            }
        },
        "aggs": root,
    }


def _drop_empty(aggs: dict[str, Any]) -> None:
    for spec in aggs.values():
        if "aggs" in spec:
            if spec["aggs"]:
                _drop_empty(spec["aggs"])
            else:
                del spec["aggs"]


# -- the response ---------------------------------------------------------------------------


def _key(bucket: dict[str, Any]) -> str:
    key = bucket.get("key_as_string", bucket.get("key"))
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    return str(key)


def _value(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _series(buckets: list[dict[str, Any]], query: dict[str, Any], props: dict[str, str]
            ) -> list[tuple[dict[str, str], list[int], list[float | None]]]:
    """(labels, times, values) per metric of one date_histogram, as Grafana tags them."""
    times = [int(float(b.get("key", 0))) for b in buckets]
    out = []
    for metric in query.get("metrics") or [{"id": "1", "type": "count"}]:
        if metric.get("hide"):
            continue
        mid, kind = str(metric.get("id")), metric.get("type")
        if kind == "count":
            out.append((props | {"metric": "count"}, times,
                        [_value(b.get("doc_count")) for b in buckets]))
        elif kind == "percentiles":
            first = ((buckets[0].get(mid) or {}).get("values") or {}) if buckets else {}
            for percent in sorted(first):
                values = [_value(((b.get(mid) or {}).get("values") or {}).get(percent))
                          for b in buckets]
                out.append((props | {"metric": f"p{percent}", "field": metric.get("field", "")},
                            times, values))
        else:
            values = [_value((b.get(mid) or {}).get("value")) for b in buckets]
            out.append((props | {"metric": kind, "field": metric.get("field", "")}, times,
                        values))
    return out


def series_name(labels: dict[str, str], kinds: int, alias: str) -> str:
    """Grafana's name for one series (pkg/tsdb/elasticsearch field naming)."""
    rest = dict(labels)
    kind = rest.pop("metric", "")
    field = rest.pop("field", "")
    metric_name = METRIC_NAMES.get(kind, kind)
    if alias:
        name = alias
        for key, value in rest.items():
            name = name.replace("{{term " + key + "}}", value).replace("{{" + key + "}}", value)
        return name.replace("{{metric}}", metric_name).replace("{{field}}", field)
    if field:
        metric_name += " " + field
    if not rest:
        return metric_name
    terms = " ".join(rest[key] for key in sorted(rest))
    return terms if kinds == 1 else f"{terms} {metric_name}"


def _table(query: dict[str, Any], agg_def: dict[str, Any], agg: dict[str, Any],
           props: dict[str, str], rows: list[dict[str, Any]]) -> None:
    for bucket in agg.get("buckets") or []:
        row: dict[str, Any] = dict(props)
        row[str(agg_def.get("field"))] = bucket.get("key")
        metrics = query.get("metrics") or [{"id": "1", "type": "count"}]
        for metric in metrics:
            if metric.get("hide"):
                continue
            mid, kind = str(metric.get("id")), metric.get("type")
            if kind == "count":
                row["Count"] = _value(bucket.get("doc_count"))
            elif kind == "percentiles":
                for percent, value in sorted(((bucket.get(mid) or {}).get("values") or {}).items()):
                    row[f"p{percent} {metric.get('field', '')}"] = _value(value)
            else:
                name = METRIC_NAMES.get(str(kind), str(kind))
                if sum(1 for m in metrics if m.get("type") == kind) > 1:
                    name += f" {metric.get('field', '')}"
                row[name] = _value((bucket.get(mid) or {}).get("value"))
        rows.append(row)


def to_frames(query: dict[str, Any], response: dict[str, Any]) -> list[dict[str, Any]]:
    ref_id = str(query.get("refId", "A"))
    bucket_defs = query.get("bucketAggs") or []
    series: list[tuple[dict[str, str], list[int], list[float | None]]] = []
    rows: list[dict[str, Any]] = []

    def walk(aggs: dict[str, Any], depth: int, props: dict[str, str]) -> None:
        agg_def = bucket_defs[depth]
        agg = aggs.get(str(agg_def.get("id"))) or {}
        if depth == len(bucket_defs) - 1:
            if agg_def.get("type") == "date_histogram":
                series.extend(_series(agg.get("buckets") or [], query, props))
            else:
                _table(query, agg_def, agg, props, rows)
            return
        for bucket in agg.get("buckets") or []:
            walk(bucket, depth + 1, props | {str(agg_def.get("field")): _key(bucket)})

    walk(response.get("aggregations") or {}, 0, {})
    if rows:
        return [_table_frame(ref_id, rows)]
    trim = 0
    for agg_def in bucket_defs:
        if agg_def.get("type") == "date_histogram":
            raw = str((agg_def.get("settings") or {}).get("trimEdges") or "")
            trim = int(raw) if raw.isdigit() else 0
    kinds = len({labels.get("metric") for labels, _, _ in series})
    alias = str(query.get("alias") or "")
    out = []
    meta = {"type": "timeseries-multi", "typeVersion": [0, 0]}
    for labels, times, values in series:
        if trim and len(times) > 2 * trim:
            times, values = times[trim:-trim], values[trim:-trim]
        name = series_name(labels, kinds, alias)
        out.append(frames.time_series(ref_id=ref_id, times=times, values=values,
                                      display_name=name, name=name, meta=meta))
    return out


def _table_frame(ref_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    names: list[str] = []
    for row in rows:
        names += [key for key in row if key not in names]
    columns = []
    for name in names:
        column = [row.get(name) for row in rows]
        numeric = all(v is None or (isinstance(v, int | float) and not isinstance(v, bool))
                      for v in column) and any(v is not None for v in column)
        if not numeric:
            column = [None if v is None else str(v) for v in column]
        columns.append((name, "number" if numeric else "string", column))
    return frames.table(ref_id=ref_id, columns=columns)


def error_text(error: Any) -> str:
    """The reason Elasticsearch (here logstore) gave, with its root cause when it differs."""
    if not isinstance(error, dict):
        return str(error or "unknown error")
    reason = str(error.get("reason") or error.get("type") or "unknown error")
    causes = [c.get("reason") for c in error.get("root_cause") or [] if isinstance(c, dict)]
    extra = [c for c in causes if c and c != reason]
    return reason + (f" (root cause: {extra[0]})" if extra else "")
