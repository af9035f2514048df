"""Aggregations: the ES request translated to tantivy's, per index.

Results are shaped (and merged across indices) in aggmerge.py.
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tantivy

from . import datemath, percentiles
from .aggfilter import FILTERING, FilterEntry, parse_entries
from .errors import ESError, parsing, unsupported
from .query import Translator
from .schema import DATE, Field

BUCKET = ("terms", "date_histogram", "histogram", "range", "date_range")
METRIC = ("avg", "min", "max", "sum", "value_count", "stats", "cardinality", "percentiles")
KINDS = BUCKET + FILTERING + METRIC
# Parameters each kind takes beyond `field`: accepted where they cannot change a single-shard
# answer (shard_size, execution_hint, ...); the rest are refused by name, never ignored.
_ACCEPTED = {
    "terms": {
        "size", "order", "min_doc_count", "missing", "shard_size", "shard_min_doc_count",
        "execution_hint", "collect_mode",
    },
    "date_histogram": {
        "calendar_interval", "fixed_interval", "interval", "min_doc_count", "extended_bounds",
        "format", "time_zone", "keyed",
    },
    "cardinality": {"precision_threshold", "execution_hint"},
    **{kind: {"missing"} for kind in ("avg", "min", "max", "sum", "stats", "value_count")},
}
_REFUSED = {
    **{kind: {"script", "format", "value_type"} for kind in ("avg", "min", "max", "sum", "stats")},
    "value_count": {"script", "format", "value_type"},
    "terms": {"include", "exclude", "script", "value_type", "format", "show_term_doc_count_error"},
    "date_histogram": {"offset", "hard_bounds", "order", "missing", "script"},
    "cardinality": {"missing", "script"},
}
_METRIC_STATS = ("avg", "min", "max", "sum", "stats", "value_count")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


DATE_FORMATS = ("epoch_millis", "strict_date_optional_time", "date_optional_time")
_CALENDAR = {
    "minute": "m",
    "1m": "m",
    "hour": "h",
    "1h": "h",
    "day": "d",
    "1d": "d",
    "week": "w",
    "1w": "w",
    "month": "M",
    "1M": "M",
    "quarter": "q",
    "1q": "q",
    "year": "y",
    "1y": "y",
}
_FIXED_CAL = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
WEEK_OFFSET = 4 * 86_400_000  # 1970-01-01 was a Thursday; ES weeks start on Monday


@dataclass
class Agg:
    name: str
    kind: str
    params: dict[str, Any]
    subs: list[Agg] = field(default_factory=list)
    typed: Field | None = None  # the field's mapping, when it has one
    interval_ms: int = 0  # date_histogram: fixed length, or 0 for calendar months/years
    unit: str = ""  # date_histogram calendar unit
    entries: list[FilterEntry] = field(default_factory=list)  # filter, filters: their buckets
    meta: dict[str, Any] | None = None  # returned as given, as ES does


def parse_aggs(spec: Any, tr: Translator) -> list[Agg]:
    if not isinstance(spec, dict):
        raise parsing(f"[aggs] must be an object, got {spec!r}")
    out = []
    for name, body in spec.items():
        if not isinstance(body, dict):
            raise parsing(f"Expected [START_OBJECT] under [{name}], but got {body!r}")
        kinds = [k for k in body if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1:
            raise parsing(f"Expected one aggregation type under [{name}], found {kinds}")
        kind = kinds[0]
        if kind not in KINDS:
            raise parsing(f"Unknown aggregation type [{kind}] did you mean one of {list(KINDS)}?")
        params = body[kind]
        if not isinstance(params, dict):
            raise parsing(f"[{kind}] aggregation [{name}] must be an object")
        subs = parse_aggs(body.get("aggs", body.get("aggregations", {})), tr)
        if subs and kind in METRIC:
            raise parsing(f"Aggregator [{name}] of type [{kind}] cannot accept sub-aggregations")
        meta = body.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise parsing(f"[meta] of [{name}] must be an object, got {meta!r}")
        agg = Agg(name, kind, params, subs, meta=meta)
        if kind in FILTERING:
            agg.entries = parse_entries(kind, name, params, tr)
            out.append(agg)
            continue
        if "field" not in params:
            raise parsing(f"Required [field] missing in [{kind}] aggregation [{name}]")
        agg.typed = tr.field(params["field"])[1]
        _check_params(agg)
        if kind == "date_histogram":
            _date_interval(agg)
        out.append(agg)
    return out


def _check_params(agg: Agg) -> None:
    if agg.kind == "percentiles":
        percentiles.percents(agg.name, agg.params)
        percentiles.check_field(agg.name, agg.params["field"], agg.typed)
        return
    if agg.kind not in _ACCEPTED:
        return
    for key in agg.params:
        if key in _REFUSED[agg.kind]:
            raise unsupported(f"{agg.kind} {key} (aggregation [{agg.name}])")
        if key != "field" and key not in _ACCEPTED[agg.kind]:
            raise parsing(f"[{agg.kind}] unknown field [{key}] (aggregation [{agg.name}])")
    missing = agg.params.get("missing")
    if agg.kind in _METRIC_STATS and missing is not None and not _is_number(missing):
        raise parsing(f"[missing] of [{agg.name}] must be a number, got {missing!r}")
    if agg.kind == "date_histogram":
        if agg.params.get("format", DATE_FORMATS[0]) not in DATE_FORMATS:
            raise unsupported(f"date_histogram format [{agg.params['format']}]")
        if agg.params.get("keyed", False) is not False:
            raise unsupported(f"date_histogram keyed (aggregation [{agg.name}])")


def _date_interval(agg: Agg) -> None:
    p = agg.params
    if p.get("time_zone") not in (None, "UTC", "Z", "+00:00", "Etc/UTC"):
        raise unsupported(f"date_histogram time_zone {p['time_zone']}")
    if "offset" in p:
        raise unsupported("date_histogram offset")
    if "calendar_interval" in p or (p.get("interval") in _CALENDAR and "fixed_interval" not in p):
        text = p.get("calendar_interval", p.get("interval"))
        if text not in _CALENDAR:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"The supplied interval [{text}] could not be parsed as a calendar interval.",
            )
        agg.unit = _CALENDAR[text]
        agg.interval_ms = _FIXED_CAL.get(agg.unit, 0)
    else:
        text = p.get("fixed_interval", p.get("interval"))
        if text is None:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Invalid interval specified, must be non-null and non-empty for [{agg.name}]",
            )
        agg.interval_ms = datemath.parse_interval_ms(str(text), key=f"{agg.name}.fixed_interval")


def to_tantivy(aggs: list[Agg], tr: Translator, *, multi: bool, exact: bool) -> dict[str, Any]:
    """`exact`: percentiles read every distinct value (see percentiles.py). `filter` and
    `filters` are left out: filterpass.py computes them in passes of their own."""
    out: dict[str, Any] = {}
    for agg in aggs:
        if agg.kind in FILTERING:
            continue
        if agg.kind == "percentiles":
            fname, p = tr.field(agg.params["field"])[0], agg.params
            out.update(percentiles.tantivy_specs(agg.name, fname, p, exact=exact, multi=multi))
            continue
        spec = one_spec(agg, tr, multi=multi)
        subs = to_tantivy(agg.subs, tr, multi=multi, exact=exact)
        if subs:
            spec["aggs"] = subs
        out[agg.name] = spec
    return out


def one_spec(agg: Agg, tr: Translator, *, multi: bool) -> dict[str, Any]:
    """One aggregation as tantivy takes it, without its sub-aggregations."""
    fname = tr.field(agg.params["field"])[0]
    p = agg.params
    if agg.kind == "terms":
        size = int(p.get("size", 10))
        body: dict[str, Any] = {
            "field": fname,
            "size": max(size * 3 // 2 + 10, size) if multi else size,
        }
        if "min_doc_count" in p:
            body["min_doc_count"] = int(p["min_doc_count"])
        if "missing" in p:
            body["missing"] = p["missing"]
        return {"terms": body}
    if agg.kind == "date_histogram" and agg.interval_ms:
        hist: dict[str, Any] = {"field": fname, "interval": agg.interval_ms, "min_doc_count": 1}
        if agg.unit == "w":
            hist["offset"] = WEEK_OFFSET
        return {"histogram": hist}
    if agg.kind == "date_histogram":
        return {"range": {"field": fname, "ranges": _calendar_ranges(tr, fname, agg.unit)}}
    if agg.kind == "histogram":
        hist = {"field": fname, "interval": float(p["interval"]), "min_doc_count": 1}
        if "offset" in p:
            hist["offset"] = float(p["offset"])
        return {"histogram": hist}
    if agg.kind in ("range", "date_range"):
        return {"range": {"field": fname, "ranges": _ranges(agg)}}
    if agg.kind in _METRIC_STATS:
        metric: dict[str, Any] = {"field": fname}
        if "missing" in p:  # a document without the field counts as holding this value
            metric["missing"] = float(p["missing"])
        return {"value_count" if agg.kind == "value_count" else "stats": metric}
    # cardinality: across indices, the union of the terms
    if multi:
        return {"terms": {"field": fname, "size": 65_536}}
    return {"cardinality": {"field": fname}}


def _ranges(agg: Agg) -> list[dict[str, Any]]:
    ranges = agg.params.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise parsing(f"[ranges] must be a non-empty array in [{agg.name}]")
    out = []
    for i, item in enumerate(ranges):
        rng: dict[str, Any] = {"key": f"r{i}"}
        for side in ("from", "to"):
            if item.get(side) is not None:
                value = item[side]
                if agg.typed is not None and agg.typed.kind == DATE:
                    value = datemath.resolve(value)
                rng[side] = float(value)
        out.append(rng)
    return out


def _calendar_ranges(tr: Translator, fname: str, unit: str) -> list[dict[str, Any]]:
    """Month, quarter and year buckets: tantivy has fixed intervals only, so one range each."""
    stats = tr.tindex.searcher().aggregate(
        tantivy.Query.all_query(), {"s": {"stats": {"field": fname}}}
    )["s"]
    if not stats.get("count"):
        return [{"key": "empty", "to": 0.0}]
    start = datemath.floor_unit(int(stats["min"]), unit)
    ranges: list[dict[str, Any]] = []
    while start <= int(stats["max"]) and len(ranges) < 5000:
        end = datemath.next_unit(start, unit)
        ranges.append({"key": str(start), "from": float(start), "to": float(end)})
        start = end
    return ranges
