"""The query DSL beyond query.py's leaf and bool queries: compound queries (`constant_score`,
`dis_max`, `boosting`), `match_phrase_prefix`, `fuzzy`, `terms` lookups and limits, and the
queries logstore refuses by name.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/compound-queries.html
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tantivy

from . import query_match, simple_query
from .errors import ESError, parsing, search_failed, unsupported
from .schema import get_path

if TYPE_CHECKING:  # query.py imports this module
    from .query import Translator

Q = tantivy.Query
MUST, SHOULD, NOT = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot

# ES's defaults for the index settings that bound a query (IndexSettings.java).
MAX_TERMS_COUNT = 65536
MAX_REGEX_LENGTH = 1000

# Queries of Elasticsearch's DSL that logstore does not serve: refused by name, not as unknown.
REFUSED = {
    "intervals",
    "match_bool_prefix",
    "distance_feature",
    "combined_fields",
    "more_like_this",
    "script",
    "script_score",
    "function_score",
    "nested",
    "has_child",
    "has_parent",
    "parent_id",
    "percolate",
    "pinned",
    "rank_feature",
    "wrapper",
    "geo_bounding_box",
    "geo_distance",
    "geo_polygon",
    "geo_shape",
    "shape",
    "span_term",
    "span_multi",
    "span_near",
    "span_or",
    "span_not",
    "span_first",
    "span_containing",
    "span_within",
    "span_field_masking",
    "knn",
    "semantic",
    "sparse_vector",
    "text_expansion",
    "weighted_tokens",
}

Lookup = Callable[[str, str], dict[str, Any] | None]


def shard_illegal(reason: str, index: str) -> ESError:
    """An illegal_argument_exception thrown on the shards (an index limit): ES wraps it in
    search_phase_execution_exception, the root cause keeping its own type."""
    err = search_failed(
        reason, index, caused_by={"type": "illegal_argument_exception", "reason": reason}
    )
    err.root = {"type": "illegal_argument_exception", "reason": reason, "index": index}
    err.extra["caused_by"] = {"type": "illegal_argument_exception", "reason": reason}
    return err


def refuse(kind: str) -> ESError:
    """`[intervals] query is not supported by logstore ...`: the query named as ES names it."""
    err = unsupported(kind)
    err.reason = err.reason.replace(f"[{kind}] is", f"[{kind}] query is", 1)
    return err


def check_keys(kind: str, body: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise parsing(f"[{kind}] query malformed, expected an object")
    for key in body:
        if key not in allowed:
            raise parsing(f"[{kind}] query does not support [{key}]")
    return body


# The options of the term-level leaf queries; those not read here change only scoring or
# the automaton's limits.
_LEAF_KEYS = {
    "term": {"value", "boost", "_name", "case_insensitive"},
    "prefix": {"value", "boost", "_name", "case_insensitive", "rewrite"},
    "wildcard": {"value", "wildcard", "boost", "_name", "case_insensitive", "rewrite"},
    "regexp": {
        "value",
        "boost",
        "_name",
        "case_insensitive",
        "rewrite",
        "flags",
        "flags_value",
        "max_determinized_states",
    },
}


def leaf_spec(kind: str, spec: Any) -> tuple[Any, bool]:
    """A term-level query's value and its `case_insensitive` flag."""
    if not isinstance(spec, dict):
        return spec, False
    for key in spec:
        if key not in _LEAF_KEYS[kind]:
            raise parsing(f"[{kind}] query does not support [{key}]")
    if kind == "regexp" and str(spec.get("flags", "ALL")).upper() not in ("ALL", "NONE", ""):
        raise unsupported(f"regexp flags {spec['flags']}")
    value = spec.get("value", spec.get("wildcard")) if kind == "wildcard" else spec.get("value")
    return value, spec.get("case_insensitive") in (True, "true")


def constant_score(tr: Translator, body: Any) -> tantivy.Query:
    spec = check_keys("constant_score", body, {"filter", "boost", "_name"})
    if "filter" not in spec:
        raise parsing("[constant_score] requires a 'filter' element")
    return Q.const_score_query(tr.translate(spec["filter"]), float(spec.get("boost", 1.0)))


def dis_max(tr: Translator, body: Any) -> tantivy.Query:
    spec = check_keys("dis_max", body, {"queries", "tie_breaker", "boost", "_name"})
    queries = spec.get("queries")
    if not isinstance(queries, list) or not queries:
        raise parsing("[dis_max] requires 'queries' field with at least one clause")
    tie = spec.get("tie_breaker")
    subs = [tr.translate(q) for q in queries]
    return Q.disjunction_max_query(subs, None if tie is None else float(tie))


def boosting(tr: Translator, body: Any) -> tantivy.Query:
    """Documents matching `negative` keep their positive score times `negative_boost`."""
    spec = check_keys(
        "boosting", body, {"positive", "negative", "negative_boost", "boost", "_name"}
    )
    for key in ("positive", "negative"):
        if key not in spec:
            raise parsing(f"[boosting] query requires '{key}' query")
    if "negative_boost" not in spec:
        raise parsing(
            "[boosting] query requires 'negative_boost' to be set to be a positive value'"
        )
    positive, negative = tr.translate(spec["positive"]), tr.translate(spec["negative"])
    factor = float(spec["negative_boost"])
    demoted = Q.boolean_query([(MUST, positive), (MUST, Q.const_score_query(negative, 0.0))])
    kept = Q.boolean_query([(MUST, positive), (NOT, negative)])
    return Q.boolean_query([(SHOULD, kept), (SHOULD, Q.boost_query(demoted, factor))])


def fuzzy(tr: Translator, body: Any) -> tantivy.Query:
    path, spec = tr._one_field("fuzzy", body)
    if isinstance(spec, dict):
        check_keys(
            "fuzzy",
            spec,
            {
                "value",
                "fuzziness",
                "prefix_length",
                "max_expansions",
                "transpositions",
                "boost",
                "rewrite",
                "_name",
            },
        )
        value, fuzziness = spec.get("value"), spec.get("fuzziness", "AUTO")
    else:
        value, fuzziness = spec, "AUTO"
    text = str(value)
    return tr.fuzzy(path, text, edits(fuzziness, text))


def edits(fuzziness: Any, text: str) -> int:
    """ES's `fuzziness`: 0, 1, 2 or AUTO (0 edits up to 2 characters, 1 up to 5, else 2)."""
    value = str(fuzziness).upper()
    if value.startswith("AUTO"):
        low, high = 3, 6
        if ":" in value:
            try:
                low, high = (int(x) for x in value[5:].split(","))
            except ValueError:
                raise parsing(
                    f"failed to find low and high distance values in [{fuzziness}]"
                ) from None
        return 0 if len(text) < low else 1 if len(text) < high else 2
    try:
        number = int(float(value))
    except ValueError:
        raise parsing(f"[fuzzy] fuzziness [{fuzziness}] is not a number nor AUTO") from None
    if number not in (0, 1, 2):
        raise parsing(f"Valid edit distances are [0, 1, 2] but was [{number}]")
    return number


def terms_values(tr: Translator, path: str, values: Any) -> list[Any]:
    """A terms query's values: a list, or a lookup of another document's field
    (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/query-dsl-terms-query.html#query-dsl-terms-lookup);
    at most `index.max_terms_count` of them."""
    if isinstance(values, dict):
        values = _lookup(tr, path, values)
    if not isinstance(values, list):
        raise parsing(f"[terms] query requires an array of values for [{path}]")
    limit = int(tr.settings.get("index.max_terms_count", MAX_TERMS_COUNT))
    if len(values) > limit:
        raise shard_illegal(
            f"The number of terms [{len(values)}] used in the Terms Query request has exceeded "
            f"the allowed maximum of [{limit}]. This maximum can be set by changing the "
            "[index.max_terms_count] index level setting.",
            tr.index_name,
        )
    return values


def _lookup(tr: Translator, path: str, spec: dict[str, Any]) -> list[Any]:
    for key in spec:
        if key not in ("index", "id", "path", "routing", "type"):
            raise parsing(f"[terms] query does not support [{key}] within lookup element")
    if spec.get("id") is None or spec.get("path") is None or spec.get("index") is None:
        raise parsing("[terms] query lookup element requires specifying the index, id and path")
    if tr.lookup is None:
        raise unsupported("terms lookup in this context")
    source = tr.lookup(str(spec["index"]), str(spec["id"]))
    if source is None:
        return []
    found = get_path(source, str(spec["path"]))
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def check_regex(tr: Translator, regex: str) -> None:
    limit = int(tr.settings.get("index.max_regex_length", MAX_REGEX_LENGTH))
    if len(regex) > limit:
        raise shard_illegal(
            f"The length of regex [{len(regex)}] used in the Regexp Query request has exceeded "
            f"the allowed maximum of [{limit}]. This maximum can be set by changing the "
            "[index.max_regex_length] index level setting.",
            tr.index_name,
        )


HANDLERS: dict[str, Callable[[Translator, Any], tantivy.Query]] = {
    "constant_score": constant_score,
    "dis_max": dis_max,
    "boosting": boosting,
    "match_phrase_prefix": lambda tr, body: query_match.match_phrase_prefix(tr, body),
    "fuzzy": fuzzy,
    "multi_match": lambda tr, body: query_match.multi_match(tr, body),
    "simple_query_string": lambda tr, body: simple_query.translate(tr, body),
}

__all__ = ["HANDLERS", "REFUSED", "Lookup", "check_regex", "refuse", "shard_illegal"]
