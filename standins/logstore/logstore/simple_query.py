"""`simple_query_string`: Lucene's SimpleQueryParser syntax, which never fails to parse.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/query-dsl-simple-query-string-query.html
`+` and, `|` or, `-` not, `"phrase"` (`~N` slop), `word*` prefix, `word~N` fuzzy, `( )`,
`\\` escapes; whitespace is `default_operator`. As Lucene's parser, operators apply left to
right (`a | b + c` is `(a | b) + c`) and `-x` is "everything but x" within its group. Each
word searches every field of `fields` (default `*`: the fields a bare query_string term
searches), analysed as `match` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tantivy

from . import analyzers
from .errors import ESError, bad_request, parsing
from .wildcard import wildcard_regex

if TYPE_CHECKING:
    from .query import Translator

Q = tantivy.Query
MUST, SHOULD, NOT = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot
_KEYS = {
    "query",
    "fields",
    "default_operator",
    "analyzer",
    "flags",
    "lenient",
    "minimum_should_match",
    "analyze_wildcard",
    "auto_generate_synonyms_phrase_query",
    "fuzzy_prefix_length",
    "fuzzy_max_expansions",
    "fuzzy_transpositions",
    "quote_field_suffix",
    "boost",
    "_name",
}


def translate(tr: Translator, body: Any) -> tantivy.Query:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise parsing("[simple_query_string] requires a [query] string")
    for key in body:
        if key not in _KEYS:
            raise parsing(f"[simple_query_string] unsupported field [{key}]")
    if str(body.get("flags", "ALL")).upper() != "ALL":
        raise bad_request(
            "[simple_query_string] flags other than ALL are not supported by logstore"
        )
    analyzers.check_query_analyzer("simple_query_string", body.get("analyzer"))
    if body.get("quote_field_suffix"):
        raise bad_request("[simple_query_string] quote_field_suffix is not supported by logstore")
    fields = body.get("fields") or ["*"]
    paths = [str(f).split("^")[0] for f in fields]
    if paths == ["*"] or "*" in paths:
        paths = tr.default_fields()
        lenient = True
    else:
        lenient = body.get("lenient") in (True, "true")
    conjunction = str(body.get("default_operator", "or")).lower() == "and"
    parser = _Parser(tr, paths, body["query"], conjunction=conjunction, lenient=lenient)
    query, clauses = parser.group(top=True)
    msm = body.get("minimum_should_match")
    if msm is not None and clauses and all(o == SHOULD for o, _ in clauses):
        from .query import _min_should

        count = _min_should(msm, len(clauses)) or 0
        if count > len(clauses):
            return Q.empty_query()
        return Q.boolean_query(clauses, count if count > 1 else None)
    return query


class _Parser:
    def __init__(
        self, tr: Translator, paths: list[str], text: str, *, conjunction: bool, lenient: bool
    ) -> None:
        self.tr, self.paths, self.text, self.pos = tr, paths, text, 0
        self.default = MUST if conjunction else SHOULD
        self.lenient = lenient

    def group(self, *, top: bool = False) -> tuple[tantivy.Query, list[Any]]:
        """Clauses up to a `)` (or the end), combined left to right as Lucene's parser does."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        current: tantivy.Occur | None = None
        pending = self.default
        negate = False
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char.isspace():
                self.pos += 1
                continue
            if char == ")":
                self.pos += 1
                if not top:
                    break
                continue
            if char in "+|":
                pending = MUST if char == "+" else SHOULD
                self.pos += 1
                continue
            if char == "-":
                negate = not negate
                self.pos += 1
                continue
            leaf: tantivy.Query | None
            if char == "(":
                self.pos += 1
                leaf, _ = self.group()
            else:
                leaf = self._leaf()
            if leaf is None:
                continue
            if negate:
                leaf = Q.boolean_query([(NOT, leaf), (SHOULD, Q.all_query())])
                negate = False
            if current is not None and pending != current and clauses:
                clauses = [(pending, _combine(clauses))]
            current = pending
            clauses.append((pending, leaf))
            pending = self.default
        if not clauses:
            return Q.empty_query(), []
        return _combine(clauses), clauses

    def _leaf(self) -> tantivy.Query | None:
        if self.text[self.pos] == '"':
            end = self.pos + 1
            while end < len(self.text) and self.text[end] != '"':
                end += 2 if self.text[end] == "\\" else 1
            phrase = self.text[self.pos + 1 : end].replace("\\", "")
            self.pos = end + 1
            slop = self._tilde()
            return self._each(lambda p: self.tr.phrase(p, phrase, slop=slop or 0))
        word = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                word.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char.isspace() or char in '+|()"~':
                break
            word.append(char)
            self.pos += 1
        term = "".join(word)
        edits = self._tilde()
        if not term:
            return None
        if term.endswith("*") and len(term) > 1:
            stem = term[:-1]
            regex, prefix = wildcard_regex(term)
            return self._each(lambda p: self.tr.pattern(p, regex, prefix=prefix or stem))
        if edits is not None:
            return self._each(lambda p: self.tr.fuzzy(p, term, min(edits, 2)))
        return self._each(lambda p: self.tr.match(p, term, "or"))

    def _tilde(self) -> int | None:
        if self.pos < len(self.text) and self.text[self.pos] == "~":
            self.pos += 1
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos].isdigit():
                self.pos += 1
            return int(self.text[start : self.pos] or 2)
        return None

    def _each(self, on: Any) -> tantivy.Query | None:
        leaves = []
        for path in self.paths:
            try:
                leaves.append(on(path))
            except ESError:
                if not self.lenient:
                    raise
        if not leaves:
            return Q.empty_query()
        return leaves[0] if len(leaves) == 1 else Q.boolean_query([(SHOULD, q) for q in leaves])


def _combine(clauses: list[tuple[tantivy.Occur, tantivy.Query]]) -> tantivy.Query:
    if len(clauses) == 1:
        return clauses[0][1]
    return Q.boolean_query(clauses)
