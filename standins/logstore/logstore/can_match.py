"""ES's pre-filter ("can match") phase: before a search runs on more shards than
`pre_filter_shard_size` (default 128), each shard whose data cannot match is skipped and
counted in `_shards.skipped`.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-search.html#search-search-api-query-params
As in ES (SearchService.canRewriteToMatchNone), an index is skipped when its query is
`match_none`, or when a `range` it must match (top level, or a `bool`'s `must`/`filter`) on a
numeric or date field lies wholly outside the field's values in that index (ES compares the
range with the field's min and max); never when an aggregation must see every document
(`global`, `terms` with `min_doc_count: 0`). Logstore searches each index in one piece, so a
skipped index is a skipped shard.
"""

from __future__ import annotations

from typing import Any

import tantivy

from .query import Translator
from .schema import DATE, DOUBLE, LONG

DEFAULT_PRE_FILTER_SHARD_SIZE = 128
_LOWER, _UPPER = ("gt", "gte", "from"), ("lt", "lte", "to")
_OPTIONS = ("format", "time_zone")


def runs(pre_filter_shard_size: int | None, shard_total: int) -> bool:
    limit = (
        DEFAULT_PRE_FILTER_SHARD_SIZE if pre_filter_shard_size is None else pre_filter_shard_size
    )
    return shard_total > limit


def must_visit_all(aggs: Any) -> bool:
    if not isinstance(aggs, dict):
        return False
    for spec in aggs.values():
        if not isinstance(spec, dict):
            continue
        if "global" in spec:
            return True
        terms = spec.get("terms")
        if isinstance(terms, dict) and terms.get("min_doc_count") == 0:
            return True
    return False


def can_match(tr: Translator, searcher: tantivy.Searcher, query: Any) -> bool:
    if isinstance(query, dict) and "match_none" in query:
        return False
    for path, spec in _required_ranges(query):
        typed = tr.field(path)[1]
        if typed is None or typed.kind not in (LONG, DOUBLE, DATE) or not isinstance(spec, dict):
            continue
        options = {k: spec[k] for k in _OPTIONS if k in spec}
        for side in (_LOWER, _UPPER):
            bound = {k: spec[k] for k in side if spec.get(k) is not None}
            if not bound:
                continue
            one_sided = tr.translate({"range": {path: {**bound, **options}}})
            if not getattr(searcher.search(one_sided, 1), "count", 0):
                return False  # every value of the field is on the other side of the range
    return True


def _required_ranges(query: Any) -> list[tuple[str, Any]]:
    """The `range` clauses a document must match: the query itself, or a bool's must/filter."""
    if not isinstance(query, dict) or len(query) != 1:
        return []
    ((kind, body),) = query.items()
    if kind == "range" and isinstance(body, dict):
        items = [(k, v) for k, v in body.items() if k not in ("boost", "_name")]
        return items if len(items) == 1 else []
    if kind == "constant_score" and isinstance(body, dict):
        return _required_ranges(body.get("filter"))
    if kind != "bool" or not isinstance(body, dict):
        return []
    found = []
    for key in ("must", "filter"):
        clauses = body.get(key, [])
        for clause in clauses if isinstance(clauses, list) else [clauses]:
            found += _required_ranges(clause)
    return found
