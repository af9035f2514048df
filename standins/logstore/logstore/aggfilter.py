"""The `filter` and `filters` aggregations: their buckets, each one query, parsed and checked.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-filter-aggregation.html
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-filters-aggregation.html
How they are computed (one more aggregation pass per bucket) is in filterpass.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tantivy

from .errors import ESError, parsing, unsupported
from .query import Translator

FILTERING = ("filter", "filters")
OTHER_KEY = "_other_"  # ES's default `other_bucket_key`
_PARAMS = {"filters", "other_bucket", "other_bucket_key"}
_REFUSED = {"keyed", "keyed_bucket_in_array"}


@dataclass
class FilterEntry:
    """One bucket: its key in the answer and the ES query that fills it."""

    key: str  # a named filter's name; "" for `filter` and for anonymous `filters`
    query: Any  # None for `filters`' other bucket: the documents no filter matched


def parse_entries(
    kind: str, name: str, params: dict[str, Any], tr: Translator
) -> list[FilterEntry]:
    """The buckets of a `filter` (its body is the query) or `filters` aggregation. Each query is
    translated once here, so a bad one fails the request as it does in ES."""
    if kind == "filter":
        tr.translate(params)
        return [FilterEntry("", params)]
    for key in params:
        if key in _REFUSED:
            raise unsupported(f"filters {key} (aggregation [{name}])")
        if key not in _PARAMS:
            raise parsing(f"[filters] unknown field [{key}] (aggregation [{name}])")
    raw = params.get("filters")
    if not raw:
        raise ESError(400, "illegal_argument_exception", f"[filters] cannot be empty in [{name}].")
    if isinstance(raw, dict):  # ES answers named filters in the order of their names
        entries = [FilterEntry(str(key), raw[key]) for key in sorted(raw)]
    elif isinstance(raw, list):
        entries = [FilterEntry("", query) for query in raw]
    else:
        raise parsing(f"[filters] of [{name}] must be an object or an array, got {raw!r}")
    for entry in entries:
        tr.translate(entry.query)
    other = params.get("other_bucket", "other_bucket_key" in params)
    if not isinstance(other, bool):
        raise parsing(f"[other_bucket] of [{name}] must be true or false, got {other!r}")
    other_key = params.get("other_bucket_key", OTHER_KEY)
    if not isinstance(other_key, str):
        raise parsing(f"[other_bucket_key] of [{name}] must be a string, got {other_key!r}")
    if other:
        entries.append(FilterEntry(other_key, None))
    return entries


def is_keyed(params: dict[str, Any]) -> bool:
    """Named filters answer an object of buckets, anonymous ones an array."""
    return isinstance(params.get("filters"), dict)


def entry_query(tr: Translator, entries: list[FilterEntry], pos: int) -> tantivy.Query:
    entry = entries[pos]
    if entry.query is not None:
        return tr.translate(entry.query)
    Q, Occur = tantivy.Query, tantivy.Occur
    others = [(Occur.MustNot, tr.translate(e.query)) for e in entries if e.query is not None]
    return Q.boolean_query([(Occur.Must, Q.all_query()), *others])
