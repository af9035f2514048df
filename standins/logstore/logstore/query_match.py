"""The full-text queries' options: `match` (operator, minimum_should_match, fuzziness,
lenient, zero_terms_query), `match_phrase_prefix` and `multi_match`'s types.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/full-text-queries.html
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import tantivy

from . import query_compound  # a cycle: read at call time
from .errors import ESError, parsing, unsupported

if TYPE_CHECKING:  # query.py imports this module
    from .query import Translator

Q = tantivy.Query
MUST, SHOULD = tantivy.Occur.Must, tantivy.Occur.Should


def match_phrase_prefix(tr: Translator, body: Any) -> tantivy.Query:
    from .query import _words

    path, spec = tr._one_field("match_phrase_prefix", body)
    if isinstance(spec, dict):
        query_compound.check_keys(
            "match_phrase_prefix", spec, {"query", "max_expansions", "slop", "analyzer", "boost"}
        )
        text = spec.get("query")
    else:
        text = spec
    name, typed = tr.field(path)
    if typed is not None and typed.kind != "text":
        return tr.pattern(path, _escape(str(text)) + ".*", prefix=str(text))
    words = _words(str(text))
    if not words:
        return Q.empty_query()
    if len(words) == 1:
        return tr.pattern(path, _escape(str(words[0])) + ".*", prefix=str(words[0]))
    return Q.phrase_prefix_query(tr.schema, name, words)


_MATCH_KEYS = {
    "query",
    "operator",
    "boost",
    "_name",
    "analyzer",
    "lenient",
    "zero_terms_query",
    "minimum_should_match",
    "fuzziness",
    "prefix_length",
    "max_expansions",
    "fuzzy_transpositions",
    "fuzzy_rewrite",
    "auto_generate_synonyms_phrase_query",
}


def match_with_options(tr: Translator, path: str, spec: dict[str, Any]) -> tantivy.Query:
    """`match` with its options: `operator`, `minimum_should_match` and `fuzziness` over the
    analysed words, `lenient`, `zero_terms_query`."""
    from . import analyzers
    from .query import _min_should, _words

    for key in spec:
        if key not in _MATCH_KEYS:
            raise parsing(f"[match] query does not support [{key}]")
    analyzers.check_query_analyzer("match", spec.get("analyzer"))
    text, operator = spec.get("query"), str(spec.get("operator", "or")).lower()
    msm, fuzziness = spec.get("minimum_should_match"), spec.get("fuzziness")
    name, typed = tr.field(path)
    try:
        plain = msm is None and fuzziness is None
        if plain or not isinstance(text, str) or path in ("*", "_all"):
            if path in ("*", "_all") and (msm is not None or fuzziness is not None):
                raise unsupported("[match] on all fields with minimum_should_match or fuzziness")
            query = tr.match(path, text, operator)
        elif typed is not None and typed.kind != "text":
            query = (
                tr.fuzzy(path, text, query_compound.edits(fuzziness, text))
                if fuzziness is not None and typed.kind == "keyword"
                else tr.match(path, text, operator)
            )
        else:
            found = analyzers.words(typed, text) if typed else _words(text)
            words = [w if isinstance(w, str) else w[1] for w in found]
            leaves = [
                tr.fuzzy(path, w, query_compound.edits(fuzziness, w))
                if fuzziness is not None
                else Q.term_query(tr.schema, name, w)
                for w in words
            ]
            if not leaves:
                query = Q.empty_query()
            elif operator == "and":
                query = Q.boolean_query([(MUST, q) for q in leaves])
            else:
                count = _min_should(msm, len(leaves)) or 1
                if count > len(leaves):
                    return Q.empty_query()
                query = Q.boolean_query([(SHOULD, q) for q in leaves], count if count > 1 else None)
    except ESError:
        if spec.get("lenient") in (True, "true"):
            return Q.empty_query()
        raise
    if spec.get("zero_terms_query") == "all" and isinstance(text, str) and not _plain(text):
        return Q.all_query()
    return query


def _plain(text: str) -> list[str | tuple[int, str]]:
    from .query import _words

    return _words(text)


def _escape(text: str) -> str:
    return re.escape(text)


def multi_match(tr: Translator, body: Any) -> tantivy.Query:
    """best_fields (the best field's score), most_fields (the sum), phrase and
    phrase_prefix; cross_fields and bool_prefix are refused by name."""
    if not isinstance(body, dict) or "query" not in body:
        raise parsing("No text specified for multi_match query")
    text = body.get("query")
    fields = body.get("fields", ["*"])
    paths = [p.split("^")[0] for p in ([fields] if isinstance(fields, str) else fields)]
    operator = str(body.get("operator", "or")).lower()
    kind = str(body.get("type", "best_fields"))
    for key in body:
        if key not in _MULTI_MATCH_KEYS:
            raise parsing(f"[multi_match] query does not support [{key}]")
    if kind in ("best_fields", "most_fields"):
        subs = [tr.match(p, text, operator) for p in paths]
    elif kind == "phrase":
        subs = [tr.phrase(p, text, slop=int(body.get("slop", 0))) for p in paths]
    elif kind == "phrase_prefix":
        subs = [tr.translate({"match_phrase_prefix": {p: text}}) for p in paths]
    elif kind in ("cross_fields", "bool_prefix"):
        raise unsupported(f"multi_match type {kind}")
    else:
        raise parsing(f"failed to parse [multi_match] query type [{kind}]. unknown type.")
    if kind == "most_fields":
        return Q.boolean_query([(SHOULD, q) for q in subs])
    return Q.disjunction_max_query(subs, float(body.get("tie_breaker", 0.0)))


_MULTI_MATCH_KEYS = {
    "query",
    "fields",
    "type",
    "operator",
    "tie_breaker",
    "slop",
    "boost",
    "_name",
    "lenient",
    "analyzer",
}
