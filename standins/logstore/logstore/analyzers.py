"""The text analyzers a `text` field may name: ES's built-in `standard` (logstore's text
analysis: words, lower-cased, as tantivy's default tokenizer splits them), `simple` (runs of
letters, lower-cased), `whitespace` (split on whitespace, case kept) and `keyword` (the whole
value, one token). The same analyzer reads the field's values and the query's text
(`search_analyzer` when the mapping gives one). Others are refused by name in the mapping.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/analysis-analyzers.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tantivy

from .errors import unsupported

if TYPE_CHECKING:
    from .schema import Field

NAMES = {"standard", "default", "simple", "whitespace", "keyword"}
# analyzer -> the tantivy tokenizer name a text field is built with
TOKENIZER = {
    "standard": "default",
    "default": "default",
    "simple": "es_simple",
    "whitespace": "es_whitespace",
    "keyword": "raw",
}
_LIMIT = 40  # tantivy's default tokenizer drops longer tokens: the query side does the same


def _build(tokenizer: tantivy.Tokenizer, *, lower: bool) -> tantivy.TextAnalyzer:
    builder = tantivy.TextAnalyzerBuilder(tokenizer).filter(tantivy.Filter.remove_long(_LIMIT))
    if lower:
        builder = builder.filter(tantivy.Filter.lowercase())
    return builder.build()


_ANALYZERS = {
    "default": _build(tantivy.Tokenizer.simple(), lower=True),
    "es_simple": _build(tantivy.Tokenizer.regex(r"[^\W\d_]+"), lower=True),
    "es_whitespace": _build(tantivy.Tokenizer.whitespace(), lower=False),
    "raw": tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).build(),
}


def register(index: tantivy.Index) -> None:
    """Make the non-default tokenizers known to an index (before it indexes or parses)."""
    index.register_tokenizer("es_simple", _ANALYZERS["es_simple"])
    index.register_tokenizer("es_whitespace", _ANALYZERS["es_whitespace"])


def tokenizer_of(field: Field) -> str:
    return TOKENIZER.get(field.analyzer or "standard", "default")


def words(field: Field | None, text: str) -> list[str | tuple[int, str]]:
    """The query text as the field's search analyzer splits it."""
    name = "default"
    if field is not None:
        name = TOKENIZER.get(field.search_analyzer or field.analyzer or "standard", "default")
    return [word for word in _ANALYZERS[name].analyze(text)]


def lowercases(field: Field | None) -> bool:
    """Whether the field's terms are lower-cased (pattern and fuzzy queries match terms)."""
    if field is None:
        return True
    return TOKENIZER.get(field.search_analyzer or field.analyzer or "standard") in (
        "default",
        "es_simple",
    )


# The analyzers a query may name: the query text is analysed with each field's own analyzer
# (its mapping's), which is what `standard`/`default` ask of a standard text field. Another
# name would ask for an analysis logstore does not apply, so it is refused, not ignored.
QUERY_ANALYZERS = (None, "standard", "default")


def check_query_analyzer(query: str, analyzer: object) -> None:
    """ES's `analyzer` of a full-text query: refused by name unless it is the default."""
    if analyzer not in QUERY_ANALYZERS:
        raise unsupported(
            f"[{query}] analyzer [{analyzer}] (logstore analyses the query text with each "
            "field's own analyzer)"
        )
