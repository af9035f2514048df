"""`query_string` (and `_search?q=`): Lucene's syntax, parsed by luqum into a tree whose leaves
are translated with the JSON DSL's Translator, so that a field and a value mean the same in both.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/query-dsl-query-string-query.html
Lucene's syntax: https://lucene.apache.org/core/9_11_0/queryparser/org/apache/lucene/queryparser/classic/package-summary.html
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import tantivy
from luqum import tree
from luqum.exceptions import ParseError, ParseSyntaxError
from luqum.thread import parse

from . import analyzers, query_compound
from .errors import ESError, bad_request, parsing, search_failed
from .wildcard import has_wildcard, wildcard_regex

if TYPE_CHECKING:  # query.py imports this module
    from .query import Translator

Q = tantivy.Query
MUST, SHOULD, MUST_NOT = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot
EVERY_FIELD = "*"  # in a scope: every field a bare term searches (Translator.default_fields)
_UTC = (None, "UTC", "Z", "+00:00", "Etc/UTC")
_TRUE = (True, "true")
# The keys of ES's query_string query; those not read here change only scoring or the
# analysis of terms in ways logstore's one analyzer does the same.
_KEYS = {
    "query",
    "default_field",
    "fields",
    "default_operator",
    "analyzer",
    "quote_analyzer",
    "analyze_wildcard",
    "allow_leading_wildcard",
    "lenient",
    "time_zone",
    "boost",
    "_name",
    "auto_generate_synonyms_phrase_query",
    "enable_position_increments",
    "max_determinized_states",
    "rewrite",
    "escape",
    "tie_breaker",
    "type",
}


def translate(tr: Translator, body: Any) -> tantivy.Query:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise parsing("[query_string] requires a [query] string")
    text: str = body["query"]
    for key in body:
        if key not in _KEYS:
            raise parsing(f"[query_string] query does not support [{key}]")
    analyzers.check_query_analyzer("query_string", body.get("analyzer"))
    if body.get("time_zone") not in _UTC:
        zone = body["time_zone"]
        raise bad_request(f"[query_string] time_zone [{zone}] is not supported: use UTC")
    scope = _scope(body.get("fields") or [body.get("default_field", EVERY_FIELD)])
    if not text.strip():
        return Q.empty_query()  # as ES: an empty query string matches nothing
    conjunction = str(body.get("default_operator", "or")).lower() == "and"
    try:
        walk = _Walk(tr, text, conjunction=conjunction, lenient=body.get("lenient") in _TRUE)
        return walk.query(_tree(text), scope)
    except ParseError as exc:
        raise _failed(text, str(exc), tr.index_name) from None
    except RecursionError:
        raise _failed(text, "the query nests too deeply", tr.index_name) from None


def _scope(fields: Any) -> tuple[str, ...]:
    """The `fields` (or `default_field`) of a query_string as paths, boosts (`message^2`) left
    out: scores are tantivy's anyway."""
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise parsing(f"[query_string] [fields] must be a list of field names, got {fields!r}")
    paths = []
    for field in fields:
        path = field.split("^")[0]
        path = EVERY_FIELD if path == "_all" else path
        if path != EVERY_FIELD and ("*" in path or "?" in path):
            raise bad_request(
                f"[query_string] field pattern [{path}] is not supported by logstore: name the "
                "fields, or use * for all of them"
            )
        paths.append(path)
    return tuple(paths)


@functools.lru_cache(maxsize=1024)
def _tree(text: str) -> Any:
    """The parsed query, kept: a dashboard sends the same few query strings over and over, to
    every index its pattern names."""
    return _lucene_symbols(parse(text))


def _failed(text: str, detail: str, index: str) -> ESError:
    """ES's answer to a query string it cannot use: the root cause names the query, the shard's
    reason gives the parser's message."""
    return search_failed(
        f"Failed to parse query [{text}]: {detail}",
        index,
        caused_by={"type": "parse_exception", "reason": f"Cannot parse '{text}': {detail}"},
    )


class _Walk:
    """Translates one parsed query string; a scope is the paths a bare value searches, set by
    the query's `fields`/`default_field` and changed by a `field:` prefix."""

    def __init__(self, tr: Translator, text: str, *, conjunction: bool, lenient: bool) -> None:
        self.tr = tr
        self.lenient = lenient  # a value its field's type cannot read matches nothing
        self.text = text
        self.implicit = MUST if conjunction else SHOULD  # `a b`, as default_operator says
        self._defaults: list[str] | None = None

    def query(self, node: Any, scope: tuple[str, ...]) -> tantivy.Query:
        if isinstance(node, tree.SearchField):
            return self._search_field(node, scope)
        if isinstance(node, tree.BaseGroup):
            return self.query(node.expr, scope)
        if isinstance(node, tree.AndOperation):
            return self._boolean(node.operands, MUST, scope)
        if isinstance(node, tree.OrOperation):
            return self._boolean(node.operands, SHOULD, scope)
        if isinstance(node, tree.UnknownOperation):
            return self._boolean(node.operands, self.implicit, scope)
        if isinstance(node, tree.Not | tree.Prohibit | tree.Plus):
            return self._boolean([node], SHOULD, scope)
        if isinstance(node, tree.Boost):
            return Q.boost_query(self.query(node.expr, scope), float(node.force))
        if isinstance(node, tree.Word) and node.value == "*" and EVERY_FIELD in scope:
            return Q.all_query()
        on = self._leaf(node)  # the node's own work once, then once per field
        leaves = [self._lenient(on, path) for path in self._paths(scope)]
        return leaves[0] if len(leaves) == 1 else Q.boolean_query([(SHOULD, q) for q in leaves])

    def _lenient(self, on: Callable[[str], tantivy.Query], path: str) -> tantivy.Query:
        try:
            return on(path)
        except ESError as exc:
            reason = str((exc.root or {}).get("reason", ""))
            unreadable = reason.startswith("failed to create query") or exc.type in (
                "mapper_parsing_exception",
                "parse_exception",
            )
            if self.lenient and unreadable:
                return Q.empty_query()
            raise

    def _boolean(
        self, operands: Sequence[Any], occur: tantivy.Occur, scope: tuple[str, ...]
    ) -> tantivy.Query:
        """Lucene's clauses: `NOT x`, `!x` and `-x` must not match, `+x` must, the others as
        their operator says. As in ES, negations alone match everything else."""
        clauses = []
        for operand in operands:
            if isinstance(operand, tree.Not | tree.Prohibit):
                clauses.append((MUST_NOT, self.query(operand.a, scope)))
            elif isinstance(operand, tree.Plus):
                clauses.append((MUST, self.query(operand.a, scope)))
            else:
                clauses.append((occur, self.query(operand, scope)))
        if all(occur == MUST_NOT for occur, _ in clauses):
            clauses.append((MUST, Q.all_query()))
        return Q.boolean_query(clauses)

    def _search_field(self, node: Any, scope: tuple[str, ...]) -> tantivy.Query:
        name = tree.Word(node.name).unescaped_value
        if name == "_exists_":
            expr = node.expr
            if isinstance(expr, tree.Word) and not has_wildcard(expr.value):
                return self.tr.translate({"exists": {"field": expr.unescaped_value}})
            raise self.unsupported(node, "_exists_ takes one field name")
        if name in (EVERY_FIELD, "_all"):
            return self.query(node.expr, (EVERY_FIELD,))
        if "*" in name or "?" in name:
            raise self.unsupported(node, "field patterns are not supported by logstore")
        if isinstance(node.expr, tree.Prohibit | tree.Plus):
            # Lucene refuses `field:-x` too; luqum would read it as `-field:x`, which is not
            # what `price:-5` means.
            raise self.unsupported(
                node, "a field's value cannot start with - or +: write -field:x, or escape it"
            )
        return self.query(node.expr, (name,))

    def _paths(self, scope: tuple[str, ...]) -> list[str]:
        if EVERY_FIELD not in scope:
            return list(scope)
        if self._defaults is None:
            self._defaults = self.tr.default_fields()
        return self._defaults + [p for p in scope if p != EVERY_FIELD and p not in self._defaults]

    def _leaf(self, node: Any) -> Callable[[str], tantivy.Query]:
        """What one value (a word, a phrase, a range...) asks of one field."""
        tr = self.tr
        if isinstance(node, tree.Word):
            if node.value == "*":
                return lambda path: tr.translate({"exists": {"field": path}})
            if has_wildcard(node.value):
                regex, prefix = wildcard_regex(node.value)
                return lambda path: tr.pattern(path, regex, prefix=prefix)
            word: str = node.unescaped_value
            return lambda path: self._value(word, path)
        if isinstance(node, tree.Phrase):
            phrase = _unquote(node)
            return lambda path: self._value(phrase, path)
        if isinstance(node, tree.Proximity):
            words, slop = _unquote(node.term), node.degree
            return lambda path: tr.phrase(path, words, slop=slop)
        if isinstance(node, tree.Fuzzy):
            term, edits = node.term.unescaped_value, self._edits(node)
            return lambda path: tr.fuzzy(path, term, edits)
        if isinstance(node, tree.Regex):
            regex = node.value[1:-1].replace("\\/", "/")
            query_compound.check_regex(tr, regex)
            return lambda path: tr.pattern(path, regex, prefix=None)
        if isinstance(node, tree.Range):
            bounds = self._bounds(node, node.low, node.high, node.include_low, node.include_high)
        elif isinstance(node, tree.From):
            bounds = self._bounds(node, node.a, None, node.include, True)
        elif isinstance(node, tree.To):
            bounds = self._bounds(node, None, node.a, True, node.include)
        else:
            raise self.unsupported(node, "this form is not supported by logstore")
        if not bounds:  # [* TO *]
            return lambda path: tr.translate({"exists": {"field": path}})
        return lambda path: tr.translate({"range": {path: bounds}})

    def _value(self, text: str, path: str) -> tantivy.Query:
        """A term or a phrase: a typed field reads it as its type does (keyword: exact, date:
        date math); a dynamic field holds values of any JSON type, so it is matched as each
        type it reads as (`false`, `200`), as tantivy's own parser does."""
        typed = self.tr.field(path)[1]
        if typed is None and path not in ("_id", "_index"):
            leaves = [self.tr.term(path, value) for value in _dynamic_values(text)]
            return leaves[0] if len(leaves) == 1 else Q.boolean_query([(SHOULD, q) for q in leaves])
        return self.tr.phrase(path, text)

    def _bounds(
        self, node: Any, low: Any, high: Any, inc_low: bool, inc_high: bool
    ) -> dict[str, str]:
        """A range's bounds as the JSON DSL's `range` takes them."""
        lo, hi = self._bound(node, low), self._bound(node, high)
        bounds = {}
        if lo is not None:
            bounds["gte" if inc_low else "gt"] = lo
        if hi is not None:
            bounds["lte" if inc_high else "lt"] = hi
        return bounds

    def _bound(self, node: Any, bound: Any) -> str | None:
        if bound is None or (isinstance(bound, tree.Word) and bound.value == "*"):
            return None
        if isinstance(bound, tree.Phrase):
            return _unquote(bound)
        if isinstance(bound, tree.Word):
            return str(bound.unescaped_value)
        if isinstance(bound, tree.Prohibit) and isinstance(bound.a, tree.Word):
            return f"-{bound.a.unescaped_value}"  # a negative number
        raise self.unsupported(node, f"range bound [{bound}] is not supported by logstore")

    def _edits(self, node: Any) -> int:
        """`term~N` as an edit distance, 0 to 2; `term~` alone is ES's AUTO (luqum reads it as
        the old similarity 0.5): 0 edits up to 2 characters, 1 up to 5, else 2."""
        degree: Decimal = node.degree
        if degree == Decimal("0.5"):
            size = len(node.term.unescaped_value)
            return 0 if size <= 2 else 1 if size <= 5 else 2
        if degree in (0, 1, 2):
            return int(degree)
        raise self.unsupported(node, "valid edit distances are 0, 1 and 2")

    def unsupported(self, node: Any, why: str) -> ESError:
        return _failed(self.text, f"[{node}]: {why}", self.tr.index_name)


def _unquote(phrase: Any) -> str:
    text: str = phrase.unescaped_value
    return text[1:-1]


_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_I64 = 2**63


def _dynamic_values(text: str) -> list[Any]:
    values: list[Any] = [text]
    if text in ("true", "false"):
        values.append(text == "true")
    elif _INTEGER.fullmatch(text) and -_I64 <= int(text) < _I64:
        values.append(int(text))
    elif _DECIMAL.fullmatch(text):
        values.append(float(text))
    return values


# Lucene's symbols for NOT, AND and OR, which luqum reads as words (or a word's first letter).
_BANG, _AND, _OR = "!", "&&", "||"


def _lucene_symbols(node: Any) -> Any:
    """The tree with `!x`, `a && b` and `a || b` as luqum's own Not, AndOperation and
    OrOperation (ElastAlert2 asks for `!_exists_:aggregate_id`)."""
    if isinstance(node, tree.UnknownOperation):
        return _implicit(node.operands)
    if isinstance(node, tree.Word) and node.value.startswith(_BANG):
        if node.value == _BANG:  # e.g. `a AND ! b`: luqum makes `!` AND's operand
            raise ParseSyntaxError("Syntax error in input: write ! against its operand (!x)")
        return tree.Not(_lucene_symbols(tree.Word(node.value[1:])))
    if isinstance(node, tree.Word) and node.value in (_AND, _OR):
        raise ParseSyntaxError(f"Syntax error in input: {node.value} needs an operand each side")
    if isinstance(node, tree.SearchField) and node.name.startswith(_BANG):
        return tree.Not(_lucene_symbols(tree.SearchField(node.name[1:], node.expr)))
    if isinstance(node, tree.Range | tree.OpenRange) or not node.children:
        return node
    copy = node.clone_item()
    copy.children = [_lucene_symbols(child) for child in node.children]
    return copy


def _implicit(operands: Sequence[Any]) -> Any:
    """Operands side by side, some of them the words `!`, `&&`, `||`: `!` negates the operand
    after it; `&&` binds tighter than `||`, and both tighter than no operator, as luqum's AND
    and OR do."""
    chunks: list[list[tuple[str | None, Any]]] = []  # operands joined by && or ||
    connector: str | None = None
    negations = 0
    for operand in operands:
        if isinstance(operand, tree.Word) and operand.value == _BANG:
            negations += 1
            continue
        if isinstance(operand, tree.Word) and operand.value in (_AND, _OR):
            if connector is not None or negations or not chunks:
                raise ParseSyntaxError(
                    f"Syntax error in input: {operand.value} needs an operand each side"
                )
            connector = operand.value
            continue
        item = _lucene_symbols(operand)
        for _ in range(negations):
            item = tree.Not(item)
        negations = 0
        if connector is None:
            chunks.append([(None, item)])
        else:
            chunks[-1].append((connector, item))
        connector = None
    if negations or connector is not None:
        missing = _BANG if negations else connector
        raise ParseSyntaxError(f"Syntax error in input: {missing} needs an operand after it")
    joined = [_or_of_ands(chunk) for chunk in chunks]
    return joined[0] if len(joined) == 1 else tree.UnknownOperation(*joined)


def _or_of_ands(chunk: list[tuple[str | None, Any]]) -> Any:
    alternatives: list[list[Any]] = []
    for connector, item in chunk:
        if connector == _AND:
            alternatives[-1].append(item)
        else:
            alternatives.append([item])
    ors = [a[0] if len(a) == 1 else tree.AndOperation(*a) for a in alternatives]
    return ors[0] if len(ors) == 1 else tree.OrOperation(*ors)
