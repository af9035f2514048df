"""`filter` and `filters` buckets, computed with one more aggregation pass each.

tantivy's own filter aggregation takes a query in tantivy's query-parser syntax only, which
cannot express every query logstore translates (dynamic fields, analysed phrases, ...). So each
filter bucket gets a pass of its own over one index: the search's query AND the bucket's (and
those of the filter buckets above it), with the bucket aggregations above it repeated
(date_histogram, terms, ...) and its own sub-aggregations inside. That pass's buckets are
grafted into the main pass's buckets of the same key, so the result has the shape of a tantivy
answer and aggmerge.py finishes and merges it across indices like any other. A main bucket with
no counterpart in the pass held no document matching the filter: it finishes as doc_count 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import tantivy

from . import agg_auto_date
from .aggfilter import FILTERING, SINGLE, entry_query
from .aggs import Agg, one_spec, to_tantivy
from .query import Translator

COUNT = "logstore[count]"  # ES forbids [ and ] in aggregation names: no clash
# A terms aggregation repeated above a filter must hold every term the main pass kept, whatever
# its rank among the filtered documents: so all of them, up to tantivy's bucket limit.
_ALL_TERMS = 65_000

_BUCKET_OWN = (COUNT, "key", "key_as_string", "from", "to", "doc_count")

Aggregate = Callable[[tantivy.Query, dict[str, Any]], dict[str, Any]]


@dataclass
class _Step:
    """One aggregation on the way down to a filter: a bucket aggregation repeated in the pass,
    or a filter aggregation's bucket (`entry`), whose query narrows the pass."""

    agg: Agg
    entry: int | None = None


def run(
    part: dict[str, Any],
    aggs: list[Agg],
    tr: Translator,
    query: tantivy.Query,
    *,
    aggregate: Aggregate,
    multi: bool,
    exact: bool,
) -> None:
    """Adds every filter bucket of `aggs` to `part`, the main pass's answer for one index
    (and the auto_date_histograms, which need the span of the matching dates first)."""
    for agg in aggs:
        if agg.kind == agg_auto_date.KIND:
            subs = to_tantivy(agg.subs, tr, multi=multi, exact=exact)
            agg_auto_date.run(part, agg, tr, query, subs, aggregate)
    for above, agg in _filters(aggs, []):
        for pos in range(len(agg.entries)):
            narrowed = [query, entry_query(tr, agg.entries, pos)]
            for step in above:
                if step.entry is not None:
                    narrowed.append(entry_query(tr, step.agg.entries, step.entry))
            spec = to_tantivy(agg.subs, tr, multi=multi, exact=exact)
            spec[COUNT] = {"value_count": {"field": "_seq"}}  # every document has _seq
            for step in reversed(above):
                if step.entry is None:
                    spec = {step.agg.name: {**_repeated(step.agg, tr, multi=multi), "aggs": spec}}
            got = aggregate(_all_of(narrowed), spec)
            _graft(part, got, above, agg, pos)


def _filters(aggs: list[Agg], above: list[_Step]) -> Iterator[tuple[list[_Step], Agg]]:
    """Every filter aggregation with the steps above it, each before those below it (a pass
    grafts into the buckets its ancestors' passes grafted)."""
    for agg in aggs:
        if agg.kind in FILTERING:
            yield above, agg
            for pos in range(len(agg.entries)):
                yield from _filters(agg.subs, [*above, _Step(agg, pos)])
        elif agg.subs:
            yield from _filters(agg.subs, [*above, _Step(agg)])


def _repeated(agg: Agg, tr: Translator, *, multi: bool) -> dict[str, Any]:
    spec = one_spec(agg, tr, multi=multi)
    if "terms" in spec:
        spec["terms"] = {**spec["terms"], "size": _ALL_TERMS}
    return spec


def _all_of(queries: list[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _graft(
    main: dict[str, Any], got: dict[str, Any], steps: list[_Step], agg: Agg, pos: int
) -> None:
    """Walks the main answer and the pass's answer down `steps` side by side, to the buckets
    where the filter's result goes."""
    if not steps:
        result = {k: v for k, v in got.items() if k not in _BUCKET_OWN}
        result["doc_count"] = int((got.get(COUNT) or {}).get("value") or 0)
        if agg.kind in SINGLE:
            main[agg.name] = result
        else:
            main.setdefault(agg.name, {"buckets": {}})["buckets"][str(pos)] = result
        return
    step, rest = steps[0], steps[1:]
    if step.entry is not None:  # the filter's own pass grafted this bucket before
        holder = main.get(step.agg.name) or {}
        if step.agg.kind not in SINGLE:
            holder = holder.get("buckets", {}).get(str(step.entry))
        if isinstance(holder, dict):
            _graft(holder, got, rest, agg, pos)
        return
    theirs = {b["key"]: b for b in _buckets(got.get(step.agg.name))}
    for bucket in _buckets(main.get(step.agg.name)):
        if bucket.get("key") in theirs:
            _graft(bucket, theirs[bucket["key"]], rest, agg, pos)


def _buckets(result: Any) -> list[dict[str, Any]]:
    buckets = result.get("buckets", []) if isinstance(result, dict) else []
    return list(buckets.values()) if isinstance(buckets, dict) else list(buckets)
