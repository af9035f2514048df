"""Search and count across indices: query, sort, paging, aggregations. The hits' contents
(`_source`, `fields`, ...) are fetch_fields.py's, their order sort.py's and topdocs.py's.

Response shape: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-search.html
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import tantivy

from . import fieldtypes, filterpass, highlight, top_hits
from .aggmerge import DEFAULT_MAX_BUCKETS, check_max_buckets, finish
from .aggs import Agg, parse_aggs, to_tantivy
from .can_match import can_match
from .engine import LogIndex
from .errors import ESError, parsing, unsupported
from .query import Translator
from .query_compound import Lookup
from .schema import DATE, DOUBLE, LONG, Field
from .slices import Slicer
from .sort import SortKey, after_value, parse_sort, sort_tuple
from .source_filter import filter_source
from .topdocs import top

MAX_WINDOW = 10_000
_BODY_KEYS = {
    "query",
    "size",
    "from",
    "sort",
    "_source",
    "aggs",
    "aggregations",
    "track_total_hits",
    "search_after",
    "timeout",
    "version",
    "seq_no_primary_term",
    "stored_fields",
    "docvalue_fields",
    "fields",
    "post_filter",
    "indices_boost",
    "pit",
    "slice",
    "explain",
    "profile",
    "min_score",
    "track_scores",
    "terminate_after",
    "highlight",
}
# Body keys of features logstore does not serve, and the feature each names.
_UNSUPPORTED = {
    "collapse",
    "suggest",
    "script_fields",
    "rescore",
    "knn",
    "runtime_mappings",
    "stats",
    "ext",
}
# Accepted when off (false, null), refused when asked for.
_REFUSED_WHEN_SET = {"explain", "profile", "min_score", "track_scores", "terminate_after"}


@dataclass
class Hit:
    sort: tuple[Any, ...]
    index: LogIndex
    searcher: tantivy.Searcher
    address: tantivy.DocAddress
    score: float | None


@dataclass
class Searched:
    hits: list[Hit]
    total: int
    aggregations: dict[str, Any] | None
    sort: list[SortKey]
    agg_tree: list[Agg] | None = None  # what `typed_keys` names the results by
    pit_id: str | None = None  # a point-in-time search answers with its id
    skipped: int = 0  # indices the pre-filter phase skipped (can_match.py)


_TOTAL = "logstore[total]"  # ES forbids [ and ] in aggregation names: no clash


def execute(
    indices: list[LogIndex],
    body: dict[str, Any],
    *,
    size: int,
    from_: int,
    searchers: dict[str, tantivy.Searcher] | None = None,
    lookup: Lookup | None = None,
    boosts: dict[str, float] | None = None,
    window: int = MAX_WINDOW,
    slicer: Slicer | None = None,
    pre_filter: bool = False,
    max_buckets: int = DEFAULT_MAX_BUCKETS,
) -> Searched:
    check_body(body)
    for key, value in (("from", from_), ("size", size)):
        if value < 0:  # ES 8's SearchSourceBuilder says so; a negative slice is a silent mess
            raise ESError(
                400,
                "illegal_argument_exception",
                f"[{key}] parameter cannot be negative, found [{value}]",
            )
    if from_ + size > window:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Result window is too large, from + size must be less than or equal to: "
            f"[{window}] but was [{from_ + size}]. See the scroll api for a more "
            "efficient way to request large data sets.",
        )
    sort = parse_sort(body.get("sort"))
    after = _after_values(body.get("search_after"), sort, indices)
    aggs_spec = body.get("aggs", body.get("aggregations"))
    hits: list[Hit] = []
    total = 0
    agg_parts: list[dict[str, Any]] = []
    agg_tree = None
    skip = _pre_filter(indices, body, searchers, lookup) if pre_filter else set()
    for ordinal, index in enumerate(indices):
        if index.meta.name in skip:
            continue
        searcher = (searchers or {}).get(index.meta.name) or index.searcher()
        tr = translator(index, lookup)
        query = tr.translate(body.get("query", {"match_all": {}}))
        if slicer is not None:
            query = Q_and(query, slicer(index, searcher))
        # post_filter narrows the hits, not what the aggregations see.
        hits_query = query
        if body.get("post_filter") is not None:
            hits_query = Q_and(query, tr.translate(body["post_filter"]))
        if after is not None and sort:
            hits_query = Q_and(hits_query, _after_filter(tr, sort[0], after[0]))
        want = from_ + size + (1000 if after is not None else 0)
        # No hits wanted (a dashboard's `size: 0`): the aggregation pass counts the matches
        # too, instead of a second, scored pass over them.
        count_in_aggs = want <= 0 and aggs_spec is not None and hits_query is query
        if not count_in_aggs:
            count, rows = top(searcher, tr, hits_query, sort, want, ordinal)
            total += count
            boost = (boosts or {}).get(index.meta.name)
            for values, addr, score in rows:
                if boost is not None and score is not None:
                    score *= boost
                    values = (
                        (score, *values[1:]) if not sort or sort[0].field == "_score" else values
                    )
                hits.append(Hit(values, index, searcher, addr, score))
        if aggs_spec is not None:
            agg_tree = parse_aggs(aggs_spec, tr, agg_tree, index.meta.mappings)
            part = _aggregate(
                searcher, tr, query, agg_tree, multi=len(indices) > 1, count=count_in_aggs
            )
            if count_in_aggs:
                total += int(part.pop(_TOTAL, {}).get("value") or 0)
            agg_parts.append(part)
    hits = _merge(hits, sort, after)
    aggregations = None
    if aggs_spec is not None:
        agg_tree = agg_tree or parse_aggs(aggs_spec, _empty_translator())
        aggregations = finish(agg_tree, agg_parts)
        check_max_buckets(agg_tree, aggregations, max_buckets)
    found = Searched(hits[from_ : from_ + size], total, aggregations, sort, agg_tree)
    found.skipped = len(skip)
    return found


def _pre_filter(
    indices: list[LogIndex],
    body: dict[str, Any],
    searchers: dict[str, tantivy.Searcher] | None,
    lookup: Lookup | None,
) -> set[str]:
    """The indices ES's pre-filter phase skips; one still runs when none can match, as in ES,
    for a real (empty) result."""
    skip = set()
    for index in indices:
        searcher = (searchers or {}).get(index.meta.name) or index.searcher()
        if not can_match(translator(index, lookup), searcher, body.get("query")):
            skip.add(index.meta.name)
    if indices and len(skip) == len(indices):
        skip.discard(indices[0].meta.name)
    return skip


def translator(index: LogIndex, lookup: Lookup | None = None) -> Translator:
    tr = Translator(index.meta.name, index.fields, index.tindex)
    tr.settings = index.meta.settings
    tr.lookup = lookup
    tr.generation = index.generation
    return tr


def check_body(body: dict[str, Any]) -> None:
    for key, value in body.items():
        # Kibana sends `runtime_mappings: {}` and `script_fields: {}` with every search.
        if key in _UNSUPPORTED:
            if value in (None, {}, []):
                continue
            raise unsupported(key)
        if key in _REFUSED_WHEN_SET and value not in (None, False):
            raise unsupported(key)
        if key not in _BODY_KEYS:
            raise parsing(f"Unknown key for a START_OBJECT in [{key}].")
    if body.get("highlight") is not None:
        highlight.parse(body["highlight"])  # refused before searching


def _merge(hits: list[Hit], sort: list[SortKey], after: Any) -> list[Hit]:
    keys = sort or [SortKey("_score", True)]

    def sort_key(hit: Hit) -> tuple[Any, ...]:
        return sort_tuple(hit.sort, keys)

    hits.sort(key=sort_key)
    if after is not None and sort:
        pivot = sort_tuple(tuple(after), keys)
        hits = [h for h in hits if sort_key(h)[: len(pivot)] > pivot]
    return hits


def _after_filter(tr: Translator, key: SortKey, value: Any) -> tantivy.Query:
    """A cheap pre-filter on the first sort key (the exact cut is _merge's)."""
    typed = tr.field(key.field)[1] if not key.special else None
    if typed is None or typed.kind not in (LONG, DOUBLE, DATE) or key.missing != "_last":
        return tantivy.Query.all_query()
    if not isinstance(value, int | float) or isinstance(value, bool):
        return tantivy.Query.all_query()
    if typed.nanos:  # the range is on its milliseconds
        value = int(value) // 1_000_000
    bound = "lte" if key.desc else "gte"
    within = tr.translate({"range": {key.field: {bound: value}}})
    # Documents without the field sort last: still after any value.
    has = tantivy.Query.exists_query(tr.exists_field(key.field), True)
    lacking = tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, tantivy.Query.all_query()), (tantivy.Occur.MustNot, has)]
    )
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, within), (tantivy.Occur.Should, lacking)]
    )


def _aggregate(
    searcher: tantivy.Searcher,
    tr: Translator,
    query: tantivy.Query,
    aggs: list[Agg],
    *,
    multi: bool,
    count: bool,
) -> dict[str, Any]:
    """One index's aggregation passes: the main one, then one per filter bucket
    (filterpass.py). Exact percentiles read every distinct value; when that
    passes tantivy's bucket limit (65000 buckets in one request), they fall back to its sketch."""

    def once(exact: bool) -> dict[str, Any]:
        spec = to_tantivy(aggs, tr, multi=multi, exact=exact)
        if count:
            spec[_TOTAL] = {"value_count": {"field": "_seq"}}  # every document has _seq
        part: dict[str, Any] = searcher.aggregate(query, spec)
        filterpass.run(
            part, aggs, tr, query, aggregate=searcher.aggregate, multi=multi, exact=exact
        )
        top_hits.resolve(part, aggs, tr, searcher)
        return part

    try:
        return once(True)
    except ValueError as exc:
        if "bucket limit" not in str(exc):
            raise _aggregation_failed(exc) from None
    try:
        return once(False)
    except ValueError as exc:
        raise _aggregation_failed(exc) from None


def _aggregation_failed(exc: ValueError) -> ESError:
    return ESError(400, "illegal_argument_exception", f"aggregation failed: {exc}")


def Q_and(a: tantivy.Query, b: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, a), (tantivy.Occur.Must, b)])


def _after_values(after: Any, sort: list[SortKey], indices: list[LogIndex]) -> Any:
    """search_after as the sort values it continues from: a date may come as text (ES reads
    it with the field's format), as well as in epoch milliseconds, as hits give it."""
    if after is None:
        return None
    if not sort:  # ES's SearchAfterBuilder: it continues a sort
        raise ESError(400, "illegal_argument_exception", "Sort must contain at least one field.")
    if not isinstance(after, list) or len(after) != len(sort):
        count = len(after) if isinstance(after, list) else 1
        raise ESError(
            400,
            "illegal_argument_exception",
            f"search_after has {count} value(s) but sort has {len(sort)}.",
        )
    values = list(after)
    for i, key in enumerate(sort):
        typed = _date_field(key.field, indices) if not key.special else None
        if typed is not None and isinstance(values[i], str):
            # read with the field's format; date_nanos in nanoseconds
            values[i] = fieldtypes.sort_value(typed, values[i])
        else:
            values[i] = after_value(values[i], key, typed)
    return values


def _date_field(path: str, indices: list[LogIndex]) -> Field | None:
    for index in indices:
        typed = Translator(index.meta.name, index.fields, index.tindex).field(path)[1]
        if typed is not None:
            return typed if typed.kind == DATE else None
    return None


def _empty_translator() -> Translator:
    from .schema import build_schema, fields_from_mapping

    fields = fields_from_mapping({})
    return Translator("", fields, tantivy.Index(build_schema(fields)))


def now_ms() -> int:
    return int(time.time() * 1000)


__all__ = ["DATE", "execute", "filter_source", "translator"]
