"""Search and count across indices: query, sort, paging, `_source` filtering, aggregations.

Response shape: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-search.html
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from . import datemath, filterpass
from .aggmerge import finish
from .aggs import Agg, parse_aggs, to_tantivy
from .engine import LogIndex
from .errors import ESError, parsing, unsupported
from .query import Translator
from .schema import DATE, TEXT

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
    "track_scores",
    "explain",
    "profile",
    "min_score",
    "pit",
}
_UNSUPPORTED = {
    "highlight",
    "collapse",
    "suggest",
    "script_fields",
    "rescore",
    "post_filter",
    "docvalue_fields",
    "fields",
    "knn",
    "runtime_mappings",
    "indices_boost",
}


@dataclass
class SortKey:
    field: str  # ES name, "_score" or "_doc"
    desc: bool


@dataclass
class Hit:
    sort: tuple[Any, ...]
    index: LogIndex
    searcher: tantivy.Searcher
    address: tantivy.DocAddress
    score: float | None


def parse_sort(spec: Any) -> list[SortKey]:
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    keys = []
    for item in items:
        if isinstance(item, str):
            name, _, direction = item.partition(":")
            default = "desc" if name == "_score" else "asc"
            keys.append(SortKey(name, (direction or default) == "desc"))
        elif isinstance(item, dict) and len(item) == 1:
            ((name, order),) = item.items()
            direction = (
                order.get("order", "desc" if name == "_score" else "asc")
                if isinstance(order, dict)
                else order
            )
            keys.append(SortKey(name, str(direction).lower() == "desc"))
        else:
            raise parsing(f"[sort] malformed: {item!r}")
    return keys


@dataclass
class Searched:
    hits: list[Hit]
    total: int
    aggregations: dict[str, Any] | None
    sort: list[SortKey]
    agg_tree: list[Agg] | None = None  # what `typed_keys` names the results by


_TOTAL = "logstore[total]"  # ES forbids [ and ] in aggregation names: no clash


def execute(
    indices: list[LogIndex],
    body: dict[str, Any],
    *,
    size: int,
    from_: int,
    searchers: dict[str, tantivy.Searcher] | None = None,
) -> Searched:
    for key in body:
        if key in _UNSUPPORTED:
            raise unsupported(f"search body [{key}]")
        if key not in _BODY_KEYS:
            raise parsing(f"Unknown key for a START_OBJECT in [{key}].")
    for key, value in (("from", from_), ("size", size)):
        if value < 0:  # ES 8's SearchSourceBuilder says so; a negative slice is a silent mess
            raise ESError(
                400,
                "illegal_argument_exception",
                f"[{key}] parameter cannot be negative, found [{value}]",
            )
    if from_ + size > MAX_WINDOW:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Result window is too large, from + size must be less than or equal to: "
            f"[{MAX_WINDOW}] but was [{from_ + size}]. See the scroll api for a more "
            "efficient way to request large data sets.",
        )
    sort = parse_sort(body.get("sort"))
    after = _after_values(body.get("search_after"), sort, indices)
    aggs_spec = body.get("aggs", body.get("aggregations"))
    hits: list[Hit] = []
    total = 0
    agg_parts: list[dict[str, Any]] = []
    agg_tree = None
    for index in indices:
        searcher = (searchers or {}).get(index.meta.name) or index.searcher()
        tr = Translator(index.meta.name, index.fields, index.tindex)
        query = tr.translate(body.get("query", {"match_all": {}}))
        if after is not None and sort:
            query = Q_and(query, _after_filter(tr, sort[0], after[0]))
        want = from_ + size + (1000 if after is not None else 0)
        # No hits wanted (a dashboard's `size: 0`): the aggregation pass counts the matches
        # too, instead of a second, scored pass over them.
        count_in_aggs = want <= 0 and aggs_spec is not None
        if not count_in_aggs:
            result = _top(searcher, tr, query, sort, want)
            total += result[0]
            hits.extend(Hit(s, index, searcher, a, sc) for s, a, sc in result[1])
        if aggs_spec is not None:
            agg_tree = parse_aggs(aggs_spec, tr)
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
    return Searched(hits[from_ : from_ + size], total, aggregations, sort, agg_tree)


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
        if isinstance(values[i], str) and _is_date(key.field, indices):
            values[i] = datemath.parse_date(values[i], field=key.field)
    return values


def _is_date(path: str, indices: list[LogIndex]) -> bool:
    for index in indices:
        typed = Translator(index.meta.name, index.fields, index.tindex).field(path)[1]
        if typed is not None:
            return typed.kind == DATE
    return False


def _after_filter(tr: Translator, key: SortKey, value: Any) -> tantivy.Query:
    if key.field in ("_doc", "_score"):
        return tantivy.Query.all_query()
    bound = "lte" if key.desc else "gte"
    return (
        tr.translate({"range": {key.field: {bound: value}}})
        if _numeric(tr, key.field)
        else tantivy.Query.all_query()
    )


def _numeric(tr: Translator, path: str) -> bool:
    typed = tr.field(path)[1]
    return typed is not None and typed.kind in ("long", "double", "date")


def _top(
    searcher: tantivy.Searcher, tr: Translator, query: tantivy.Query, sort: list[SortKey], want: int
) -> tuple[int, list[tuple[tuple[Any, ...], tantivy.DocAddress, float | None]]]:
    first = sort[0] if sort else SortKey("_score", True)
    if want <= 0:  # tantivy panics on a zero limit
        found = searcher.search(query, 1)
        return int(getattr(found, "count", 0) or 0), []
    if first.field == "_score":
        res = searcher.search(query, want)
        count = int(getattr(res, "count", 0) or 0)
        return count, [((score,), addr, score) for score, addr in res.hits]
    if first.field == "_doc":
        fast, desc = "_seq", first.desc
    else:
        typed = tr.field(first.field)[1]
        if typed is None or typed.kind == TEXT:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"sort on [{first.field}] is not supported by logstore: sort by a mapped "
                "keyword, numeric or date field (see docs/logstore.md)",
            )
        fast, desc = typed.name, first.desc
    order = tantivy.Order.Desc if desc else tantivy.Order.Asc
    res = searcher.search(query, want, order_by_field=fast, order=order)
    count = int(getattr(res, "count", 0) or 0)
    out: list[tuple[tuple[Any, ...], tantivy.DocAddress, float | None]] = []
    for value, addr in res.hits:
        key: list[Any] = [value]
        for extra in sort[1:]:
            key.append(_fast_value(searcher, tr, extra.field, addr))
        out.append((tuple(key), addr, None))
    return count, out


def _fast_value(
    searcher: tantivy.Searcher, tr: Translator, path: str, addr: tantivy.DocAddress
) -> Any:
    typed = tr.field(path)[1]
    name = "_seq" if path == "_doc" else (typed.name if typed else None)
    if name is None or (typed is not None and typed.kind not in ("long", "date", "double")):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"secondary sort on [{path}] is not supported by logstore: use a numeric or date field",
        )
    return searcher.fast_field_values(name, [addr])[0]


def _merge(hits: list[Hit], sort: list[SortKey], after: Any) -> list[Hit]:
    keys = sort or [SortKey("_score", True)]

    def sort_key(hit: Hit) -> tuple[Any, ...]:
        return tuple(_Ordered(v, k.desc) for v, k in zip(hit.sort, keys, strict=False))

    hits.sort(key=sort_key)
    if after is not None and sort:
        pivot = tuple(_Ordered(v, k.desc) for v, k in zip(after, keys, strict=False))
        hits = [h for h in hits if sort_key(h)[: len(pivot)] > pivot]
    return hits


class _Ordered:
    """A sort value that orders None last and honours the direction."""

    __slots__ = ("desc", "value")

    def __init__(self, value: Any, desc: bool) -> None:
        self.value, self.desc = value, desc

    def __lt__(self, other: _Ordered) -> bool:
        if self.value is None or other.value is None:
            return self.value is not None and other.value is None
        return bool(self.value > other.value) if self.desc else bool(self.value < other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ordered) and self.value == other.value

    def __gt__(self, other: _Ordered) -> bool:
        return other < self


def _empty_translator() -> Translator:
    from .schema import build_schema, fields_from_mapping

    fields = fields_from_mapping({})
    return Translator("", fields, tantivy.Index(build_schema(fields)))


def filter_source(
    source: dict[str, Any], includes: list[str], excludes: list[str]
) -> dict[str, Any]:
    """`_source` filtering by path patterns (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-fields.html#source-filtering)."""
    out: dict[str, Any] = {}
    for key, value in source.items():
        _filter_into(out, key, value, key, includes, excludes)
    return out


def _filter_into(
    out: dict[str, Any], key: str, value: Any, path: str, inc: list[str], exc: list[str]
) -> None:
    if any(fnmatch.fnmatchcase(path, p) for p in exc):
        return
    if isinstance(value, dict):
        inner: dict[str, Any] = {}
        for k, v in value.items():
            _filter_into(inner, k, v, f"{path}.{k}", inc, exc)
        if inner or (not value and _included(path, inc)):
            out[key] = inner
        return
    if _included(path, inc):
        out[key] = value


def _included(path: str, inc: list[str]) -> bool:
    return not inc or any(fnmatch.fnmatchcase(path, p) or path.startswith(p + ".") for p in inc)


def render_hit(
    hit: Hit, includes: list[str] | None, excludes: list[str], sorted_: bool
) -> dict[str, Any]:
    doc = hit.searcher.doc(hit.address)
    out: dict[str, Any] = {
        "_index": hit.index.meta.name,
        "_id": doc["_id"][0],
        "_score": None if sorted_ else hit.score,
    }
    if includes is not None:
        source = orjson.loads(doc["_source"][0])
        if includes or excludes:
            source = filter_source(source, includes, excludes)
        out["_source"] = source
    if sorted_:
        out["sort"] = list(hit.sort)
    return out


def now_ms() -> int:
    return int(time.time() * 1000)


__all__ = ["DATE", "execute", "render_hit"]
