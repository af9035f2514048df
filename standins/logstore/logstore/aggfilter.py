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

# Aggregations whose buckets are queries: `missing` is a filter on the field's absence,
# `ip_range` a filters aggregation (see agg_ranges.py), `adjacency_matrix` one bucket per filter
# and per pair of filters. SINGLE ones answer one bucket.
FILTERING = ("filter", "filters", "missing", "ip_range", "adjacency_matrix")
SINGLE = ("filter", "missing")
OTHER_KEY = "_other_"  # ES's default `other_bucket_key`
ADJACENCY_MAX = 100
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
    if kind == "missing":
        return [FilterEntry("", _missing_query(name, params))]
    if kind == "adjacency_matrix":
        return _adjacency(name, params, tr)
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


def _adjacency(name: str, params: dict[str, Any], tr: Translator) -> list[FilterEntry]:
    """https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-adjacency-matrix-aggregation.html
    Each named filter, and each pair `a&b` (names in order) as both queries at once."""
    for key in params:
        if key not in ("filters", "separator"):
            raise parsing(f"[adjacency_matrix] unknown field [{key}] (aggregation [{name}])")
    raw = params.get("filters")
    if not isinstance(raw, dict) or not raw:
        raise parsing(f"[filters] of [{name}] must be a non-empty object of named queries")
    if len(raw) > ADJACENCY_MAX:  # ES's index.max_adjacency_matrix_filters
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Number of filters is too large, must be less than or equal to: "
            f"[{ADJACENCY_MAX}] but was [{len(raw)}].",
        )
    separator = params.get("separator", "&")
    if not isinstance(separator, str):
        raise parsing(f"[separator] of [{name}] must be a string")
    names = sorted(str(k) for k in raw)
    queries = {str(k): q for k, q in raw.items()}
    for query in queries.values():
        tr.translate(query)
    entries = [FilterEntry(n, queries[n]) for n in names]
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            both = {"bool": {"filter": [queries[first], queries[second]]}}
            entries.append(FilterEntry(f"{first}{separator}{second}", both))
    return entries


def _missing_query(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-missing-aggregation.html
    With `missing`, every document has a value: the bucket is empty."""
    for key in params:
        if key == "script":
            raise unsupported(f"missing script (aggregation [{name}])")
        if key not in ("field", "missing"):
            raise parsing(f"[missing] unknown field [{key}] (aggregation [{name}])")
    if "field" not in params:
        raise ESError(
            400,
            "illegal_argument_exception",
            "Required one of fields [field, script], but none were specified.",
        )
    if params.get("missing") is not None:
        return {"match_none": {}}
    return {"bool": {"must_not": [{"exists": {"field": params["field"]}}]}}


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
