"""Aggregations: the ES request parsed, checked and translated to tantivy's, per index.

Results are shaped (and merged across indices) in aggmerge.py; each kind's own rules live in
agg_terms.py, agg_histogram.py, agg_ranges.py, agg_metrics.py, percentiles.py, top_hits.py
and aggfilter.py (filter, filters, missing).
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from . import (
    agg_auto_date,
    agg_histogram,
    agg_mad,
    agg_params,
    agg_pipeline,
    agg_ranges,
    agg_terms,
    agg_weighted,
    fieldtypes,
    percentiles,
    top_hits,
)
from .aggfilter import FILTERING, FilterEntry, parse_entries
from .errors import bad_request, parsing, unsupported
from .query import Translator
from .schema import Field

BUCKET = (
    "terms", "rare_terms", "date_histogram", "histogram", "range", "date_range",
    "auto_date_histogram",
)  # fmt: skip
METRIC = (
    "avg", "min", "max", "sum", "value_count", "stats", "extended_stats", "cardinality",
    "percentiles", "percentile_ranks", "top_hits", "median_absolute_deviation", "weighted_avg",
)  # fmt: skip
KINDS = BUCKET + FILTERING + METRIC + agg_pipeline.KINDS
# Elasticsearch's other aggregations: refused by name rather than called unknown.
NOT_SERVED = {
    "composite", "diversified_sampler",
    "geo_distance", "geohash_grid", "geotile_grid", "global", "nested", "reverse_nested",
    "children", "parent", "sampler", "significant_terms", "significant_text",
    "variable_width_histogram", "geo_bounds",
    "geo_centroid", "scripted_metric", "string_stats", "boxplot", "t_test", "top_metrics",
    "matrix_stats", "multi_terms", "rate", "bucket_script", "bucket_selector", "bucket_sort",
    "cumulative_cardinality", "extended_stats_bucket", "moving_avg", "moving_fn",
    "moving_percentiles", "normalize", "percentiles_bucket", "serial_diff",
}  # fmt: skip
MISSING = "[missing]"  # ES forbids [ and ] in aggregation names: no clash
_FIELDLESS = (
    "filter", "filters", "missing", "adjacency_matrix", "top_hits", "weighted_avg",
    *agg_pipeline.KINDS,
)  # fmt: skip
_METRIC_STATS = ("avg", "min", "max", "sum", "stats", "extended_stats", "value_count")


@dataclass
class Agg:
    name: str
    kind: str
    params: dict[str, Any]
    subs: list[Agg] = field(default_factory=list)
    typed: Field | None = None  # the field's mapping, when it has one
    interval_ms: int = 0  # date_histogram: fixed length, or 0 for calendar months/years
    unit: str = ""  # date_histogram calendar unit
    offset_ms: int = 0  # date_histogram `offset`
    tz: tzinfo | None = None  # date_histogram `time_zone` (None: UTC)
    entries: list[FilterEntry] = field(default_factory=list)  # filter, filters: their buckets
    meta: dict[str, Any] | None = None  # returned as given, as ES does
    es_type: str | None = None  # the mapping's type name (`ip` is a keyword to tantivy)
    hidden: bool = False  # logstore's own helper (a range's `missing` documents): not answered


def parse_aggs(
    spec: Any,
    tr: Translator,
    prev: list[Agg] | None = None,
    mappings: dict[str, Any] | None = None,
    parent: str | None = None,
) -> list[Agg]:
    """The aggregations for one index. `prev`, the same request parsed for another index,
    lends the field types this index does not map (ES answers by the mapped type)."""
    if not isinstance(spec, dict):
        raise parsing(f"[aggs] must be an object, got {spec!r}")
    before = {a.name: a for a in prev or []}
    out = []
    for name, body in spec.items():
        if not isinstance(body, dict):
            raise parsing(f"Expected [START_OBJECT] under [{name}], but got {body!r}")
        kinds = [k for k in body if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1:
            raise parsing(f"Expected one aggregation type under [{name}], found {kinds}")
        kind = kinds[0]
        if kind == "moving_fn" and isinstance(body[kind], dict):
            _moving_fn_window(body[kind])
        if kind in NOT_SERVED:
            raise unsupported(f"{kind} aggregation (aggregation [{name}])")
        if kind not in KINDS:
            raise parsing(f"Unknown aggregation type [{kind}] did you mean one of {list(KINDS)}?")
        params = body[kind]
        if not isinstance(params, dict):
            raise parsing(f"[{kind}] aggregation [{name}] must be an object")
        old = before.get(name)
        subs = parse_aggs(
            body.get("aggs", body.get("aggregations", {})),
            tr,
            old.subs if old else None,
            mappings,
            kind,
        )
        if subs and (kind in METRIC or kind in agg_pipeline.KINDS):
            raise parsing(f"Aggregator [{name}] of type [{kind}] cannot accept sub-aggregations")
        meta = body.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise parsing(f"[meta] of [{name}] must be an object, got {meta!r}")
        agg = Agg(name, kind, params, subs, meta=meta)
        if "field" not in params and kind not in _FIELDLESS:
            raise bad_request("Required one of fields [field, script], but none were specified.")
        if "field" in params:
            agg.typed = tr.field(params["field"])[1] or (old.typed if old else None)
            agg.es_type = _es_type(mappings or {}, params["field"]) or (
                old.es_type if old else None
            )
            if agg.typed is not None and agg.typed.kind in fieldtypes.NOT_SEARCHABLE:
                raise bad_request(  # ES's answer for a geo_point or binary field
                    f"Field [{agg.typed.path}] of type [{agg.typed.es_type}] is not supported "
                    f"for aggregation [{kind}]"
                )
        if kind in agg_pipeline.KINDS:
            agg_pipeline.check(agg, parent)
        elif kind == agg_auto_date.KIND:
            agg_auto_date.check(agg, parent)
        else:
            _check(agg, tr)
        out.append(agg)
        if kind in ("range", "date_range") and "missing" in params:
            out.append(_missing_of(agg, tr))
    return out


def _missing_of(agg: Agg, tr: Translator) -> Agg:
    """The documents without the field, with the range's sub-aggregations: a hidden `missing`
    bucket (filterpass.py computes it) that agg_ranges.py adds to the buckets holding the
    `missing` value. tantivy's range aggregation has no `missing` of its own."""
    params = {"field": agg.params["field"]}
    entries = parse_entries("missing", agg.name, params, tr)
    return Agg(agg.name + MISSING, "missing", params, agg.subs, entries=entries, hidden=True)


def _moving_fn_window(params: dict[str, Any]) -> None:
    """ES rejects a bad window before anything else (MovingFunctionPipelineAggregationBuilder);
    logstore then refuses the aggregation itself (its script) by name."""
    window = params.get("window")
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        raise bad_request("[window] must be a positive, non-zero integer.")


def _es_type(mappings: dict[str, Any], path: str) -> str | None:
    node: Any = mappings
    parts = path.split(".")
    for i, part in enumerate(parts):
        props = node.get("properties") if isinstance(node, dict) else None
        if isinstance(props, dict) and part in props:
            node = props[part]
            continue
        fields = node.get("fields") if isinstance(node, dict) else None
        if i == len(parts) - 1 and isinstance(fields, dict) and part in fields:
            node = fields[part]
            continue
        return None
    return str(node.get("type", "object")) if isinstance(node, dict) else None


def _check(agg: Agg, tr: Translator) -> None:
    kind, p = agg.kind, agg.params
    if kind == "ip_range":
        agg_params.check(kind, agg.name, p, agg.typed)
        agg_ranges.check(agg)
        agg.entries = agg_ranges.ip_entries(agg, tr)
    elif kind in FILTERING:
        agg.entries = parse_entries(kind, agg.name, p, tr)
    elif kind in ("percentiles", "percentile_ranks"):
        percentiles.percents(agg.name, p, ranks=kind == "percentile_ranks")
        percentiles.check_field(agg.name, p["field"], agg.typed, kind)
    elif kind == "top_hits":
        top_hits.check(agg.name, p, tr)
    elif kind == agg_mad.KIND:
        agg_mad.check(agg.name, p)
    elif kind == agg_weighted.KIND:
        agg_weighted.check(agg.name, p)
    else:
        agg_params.check(kind, agg.name, p, agg.typed)
    if kind in ("terms", "rare_terms"):
        agg_terms.check(agg)
    elif kind in ("histogram", "date_histogram"):
        agg_histogram.check(agg)
    elif kind in ("range", "date_range"):
        agg_ranges.check(agg)


def to_tantivy(aggs: list[Agg], tr: Translator, *, multi: bool, exact: bool) -> dict[str, Any]:
    """`exact`: percentiles read every distinct value (see percentiles.py). `filter` and
    `filters` are left out: filterpass.py computes them in passes of their own."""
    out: dict[str, Any] = {}
    for agg in aggs:
        if (
            agg.kind in FILTERING
            or agg.kind in agg_pipeline.KINDS
            or agg.kind == agg_auto_date.KIND
        ):
            continue  # computed in passes of their own (filterpass.py) or from the answer
        if agg.kind in ("percentiles", "percentile_ranks"):
            fname, p = tr.field(agg.params["field"])[0], agg.params
            ranks = agg.kind == "percentile_ranks"
            out.update(
                percentiles.tantivy_specs(agg.name, fname, p, exact=exact, multi=multi, ranks=ranks)
            )
            continue
        if agg.kind == "top_hits":
            out.update(top_hits.specs(agg.name, agg.params, tr))
            continue
        if agg.kind == agg_weighted.KIND:
            out.update(agg_weighted.specs(agg.name, tr, agg.params, exact=exact))
            continue
        if agg.kind == agg_mad.KIND:
            fname = tr.field(agg.params["field"])[0]
            out.update(agg_mad.specs(agg.name, fname, agg.params, multi=multi))
            continue
        subs = to_tantivy(agg.subs, tr, multi=multi, exact=exact)
        if agg.kind in ("range", "date_range"):
            fname = tr.field(agg.params["field"])[0]
            specs = agg_ranges.specs(agg, fname)
        else:
            specs = {agg.name: one_spec(agg, tr, multi=multi)}
        for name, spec in specs.items():
            if subs:
                spec["aggs"] = subs
            out[name] = spec
    return out


def one_spec(agg: Agg, tr: Translator, *, multi: bool) -> dict[str, Any]:
    """One aggregation as tantivy takes it, without its sub-aggregations."""
    fname = tr.field(agg.params["field"])[0]
    p = agg.params
    if agg.kind in ("terms", "rare_terms"):
        spec = agg_terms.spec(agg, fname, multi=multi)
        if p["field"] == "_index":  # no document holds `_index`: all fall in its bucket
            spec["terms"]["missing"] = tr.index_name
        return spec
    if agg.kind in ("histogram", "date_histogram"):
        return agg_histogram.spec(agg, tr, fname)
    if agg.kind in ("range", "date_range"):
        return agg_ranges.spec(agg, fname)
    if agg.kind in _METRIC_STATS:
        metric: dict[str, Any] = {"field": fname}
        if "missing" in p:  # a document without the field counts as holding this value
            metric["missing"] = float(p["missing"])
        if agg.kind == "extended_stats":
            return {"extended_stats": metric}
        return {"value_count" if agg.kind == "value_count" else "stats": metric}
    # cardinality: across indices, the union of the terms
    body: dict[str, Any] = {"field": fname}
    if "missing" in p:
        missing = p["missing"]
        body["missing"] = missing if isinstance(missing, str | int | float) else str(missing)
    if multi:
        return {"terms": {**body, "size": 65_536}}
    return {"cardinality": body}
