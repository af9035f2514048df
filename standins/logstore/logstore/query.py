"""The query DSL, translated to tantivy queries for one index.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/query-dsl.html
"""

from __future__ import annotations

import re
from typing import Any

import tantivy

from . import analyzers, field_exists, fieldtypes, query_compound, query_match, querystring
from .errors import ESError, parsing, search_failed
from .schema import BOOLEAN, CATCH_ALL, DATE, DOUBLE, KEYWORD, LONG, TEXT, Field
from .wildcard import wildcard_regex

Q = tantivy.Query
MUST, SHOULD, NOT = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot
_ANALYZER = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.remove_long(40))
    .filter(tantivy.Filter.lowercase())
    .build()
)


def _words(text: str) -> list[str | tuple[int, str]]:
    return [word for word in _ANALYZER.analyze(text)]


class Translator:
    """Translates ES queries against one index's fields."""

    def __init__(self, index_name: str, fields: dict[str, Field], tindex: tantivy.Index) -> None:
        self.index_name = index_name
        self.fields = fields
        self.tindex = tindex
        self.schema = tindex.schema
        # The index's settings (query limits such as index.max_terms_count), and how a terms
        # lookup reads another document: set by the search that translates.
        self.settings: dict[str, Any] = {}
        self.lookup: query_compound.Lookup | None = None
        self.generation = 0  # the index's refreshes: what sort.py caches per field holds for it

    def field(self, path: str) -> tuple[str, Field | None]:
        """(tantivy name, typed field or None for a dynamic `doc.<path>`)."""
        if path == "_all":
            return CATCH_ALL.name, CATCH_ALL
        # A mapped multi-field (message.keyword) first; else `.keyword` names its text field.
        typed = self.fields.get(path) or self.fields.get(path.removesuffix(".keyword"))
        if typed is not None:
            return typed.name, typed
        return "doc." + path.removesuffix(".keyword"), None

    def translate(self, query: Any) -> tantivy.Query:
        if not isinstance(query, dict) or len(query) != 1:
            raise parsing(f"a query must be an object with exactly one clause, got {query!r}")
        ((kind, body),) = query.items()
        method = getattr(self, "_q_" + kind, None)
        if method is None:
            other = query_compound.HANDLERS.get(kind)
            if other is not None:
                return other(self, body)
            if kind in query_compound.REFUSED:
                raise query_compound.refuse(kind)
            raise parsing(f"unknown query [{kind}]")
        result: tantivy.Query = method(body)
        return result

    def _one_field(self, kind: str, body: Any) -> tuple[str, Any]:
        items = (
            {k: v for k, v in body.items() if k not in ("boost", "_name")}
            if isinstance(body, dict)
            else {}
        )
        if len(items) != 1:
            raise parsing(f"[{kind}] query doesn't support multiple fields, found {sorted(items)}")
        ((path, spec),) = items.items()
        return path, spec

    def _q_match_all(self, body: Any) -> tantivy.Query:
        return Q.all_query()

    def _q_match_none(self, body: Any) -> tantivy.Query:
        return Q.empty_query()

    def _q_bool(self, body: dict[str, Any]) -> tantivy.Query:
        known = {"must", "filter", "should", "must_not", "minimum_should_match", "boost", "_name"}
        for key in body:
            if key not in known:
                raise parsing(f"[bool] query does not support [{key}]")
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for key, occur in (("must", MUST), ("filter", MUST), ("should", SHOULD), ("must_not", NOT)):
            sub = body.get(key, [])
            for item in sub if isinstance(sub, list) else [sub]:
                clauses.append((occur, self.translate(item)))
        n_should = sum(1 for occur, _ in clauses if occur == SHOULD)
        has_required = any(occur == MUST for occur, _ in clauses)
        msm = _min_should(body.get("minimum_should_match"), n_should)
        if msm is None:
            msm = 0 if has_required else min(1, n_should)
        if not has_required and not n_should:
            clauses.append((MUST, Q.all_query()))  # only must_not: everything else matches
        if msm > n_should:
            return Q.empty_query()
        if msm and has_required:
            should = [(SHOULD, q) for occur, q in clauses if occur == SHOULD]
            rest = [(o, q) for o, q in clauses if o != SHOULD]
            return Q.boolean_query([*rest, (MUST, Q.boolean_query(should, msm))])
        return Q.boolean_query(clauses, msm if msm > 1 else None)

    def _q_term(self, body: Any) -> tantivy.Query:
        path, spec = self._one_field("term", body)
        value, insensitive = query_compound.leaf_spec("term", spec)
        typed = self.field(path)[1]
        if insensitive and typed is not None and typed.kind == KEYWORD:
            return self.pattern(path, "(?i)" + re.escape(str(value)), prefix=None)
        return self.term(path, value)

    def _q_terms(self, body: Any) -> tantivy.Query:
        path, values = self._one_field("terms", body)
        values = query_compound.terms_values(self, path, values)
        return (
            Q.boolean_query([(SHOULD, self.term(path, v)) for v in values])
            if values
            else Q.empty_query()
        )

    def _q_ids(self, body: Any) -> tantivy.Query:
        values = body.get("values", []) if isinstance(body, dict) else []
        return Q.boolean_query([(SHOULD, Q.term_query(self.schema, "_id", str(v))) for v in values])

    def term(self, path: str, value: Any) -> tantivy.Query:
        if path == "_id":
            return Q.term_query(self.schema, "_id", str(value))
        if path == "_index":
            return Q.all_query() if value == self.index_name else Q.empty_query()
        name, typed = self.field(path)
        if typed is not None and typed.kind in fieldtypes.NOT_SEARCHABLE:
            raise fieldtypes.not_searchable(typed, self.index_name)
        if typed is None:
            if isinstance(value, str):
                words = _words(value)
                if len(words) == 1:
                    return Q.term_query(self.schema, name, words[0])
                return Q.phrase_query(self.schema, name, words) if words else Q.empty_query()
            return Q.term_query(self.schema, name, value)
        if typed.kind in (LONG, DATE, DOUBLE):
            number = self._coerce(typed, value, round_up=False)
            return self._range(typed, number, number, True, True)
        if typed.kind == BOOLEAN:
            return Q.term_query(self.schema, name, value in (True, "true"))
        if typed.kind == TEXT:
            words = analyzers.words(typed, str(value))
            return Q.term_query(self.schema, name, words[0]) if len(words) == 1 else Q.empty_query()
        return Q.term_query(
            self.schema, name, value if isinstance(value, str) else str(value).lower()
        )

    def _coerce(self, typed: Field, value: Any, *, round_up: bool) -> Any:
        try:
            if typed.kind == DATE:  # date math, else the field's own format
                return fieldtypes.query_ms(typed, value, round_up=round_up)
            return int(value) if typed.kind == LONG else float(value)
        except (TypeError, ValueError):
            raise search_failed(
                f'failed to create query: For input string: "{value}" (field [{typed.path}] is '
                f"of type [{typed.kind}])",
                self.index_name,
            ) from None

    def _range(
        self, typed: Field, low: Any, high: Any, inc_low: bool, inc_high: bool
    ) -> tantivy.Query:
        ftype = tantivy.FieldType.Float if typed.kind == DOUBLE else tantivy.FieldType.Integer
        return Q.range_query(self.schema, typed.name, ftype, low, high, inc_low, inc_high)

    def _q_range(self, body: Any) -> tantivy.Query:
        path, spec = self._one_field("range", body)
        if not isinstance(spec, dict):
            raise parsing(f"[range] query malformed, no start_object after field name [{path}]")
        bounds = {
            k: spec[k] for k in ("gt", "gte", "lt", "lte", "from", "to") if spec.get(k) is not None
        }
        unknown = set(spec) - {
            "gt",
            "gte",
            "lt",
            "lte",
            "from",
            "to",
            "format",
            "time_zone",
            "boost",
            "include_lower",
            "include_upper",
            "relation",
        }
        if unknown:
            raise parsing(f"[range] query does not support [{sorted(unknown)[0]}]")
        if spec.get("time_zone") not in (None, "UTC", "Z", "+00:00", "Etc/UTC"):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"[range] time_zone [{spec['time_zone']}] is not supported: use UTC",
            )
        low_key = "gt" if "gt" in bounds else ("gte" if "gte" in bounds else "from")
        high_key = "lt" if "lt" in bounds else ("lte" if "lte" in bounds else "to")
        low, high = bounds.get(low_key), bounds.get(high_key)
        name, typed = self.field(path)
        if typed is None or typed.kind in (KEYWORD, TEXT):
            return self._term_range(
                path, name, low, high, exclude_low=low_key == "gt", exclude_high=high_key == "lt"
            )
        if typed.kind not in (LONG, DATE, DOUBLE):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"[range] on [{path}] of type [{typed.kind}] is not supported by logstore",
            )
        lo_v = None if low is None else self._coerce(typed, low, round_up=low_key == "gt")
        hi_v = None if high is None else self._coerce(typed, high, round_up=high_key != "lt")
        return self._range(typed, lo_v, hi_v, low_key != "gt", high_key != "lt")

    def _term_range(
        self, path: str, name: str, low: Any, high: Any, *, exclude_low: bool, exclude_high: bool
    ) -> tantivy.Query:
        """A range of strings, or of a dynamic field's values whatever their type: only tantivy's
        query parser builds these, and its range bounds cannot be quoted."""
        bounds = []
        for value in (low, high):
            text = "*" if value is None else _lucene_value(value)
            if not text or _UNQUOTABLE.search(text) or text.startswith("`"):
                raise ESError(
                    400,
                    "illegal_argument_exception",
                    f"[range] bound [{text}] on [{path}] is not supported by logstore: a string "
                    'bound cannot be empty nor hold whitespace or any of " ( ) [ ] { }',
                )
            bounds.append(text)
        left, right = "{" if exclude_low else "[", "}" if exclude_high else "]"
        query = f"{name}:{left}{bounds[0]} TO {bounds[1]}{right}"
        try:
            return self.tindex.parse_query(query, [])
        except ValueError as exc:
            reason = f"Failed to parse query [{query}]: {exc}"
            raise search_failed(reason, self.index_name) from None

    def _q_exists(self, body: Any) -> tantivy.Query:
        path = body.get("field") if isinstance(body, dict) else None
        if not isinstance(path, str):
            raise parsing("[exists] must be provided with a [field]")
        special = field_exists.exists_query(self, path)
        if special is not None:
            return special
        return Q.exists_query(self.exists_field(path), True)

    def exists_field(self, path: str) -> str:
        """Typed values live only in their own (fast) field, not in `doc`; text fields are not
        fast, but their values stay in `doc` (see records.RecordBuilder)."""
        name, typed = self.field(path)
        return (
            name
            if typed is not None and typed.kind != TEXT
            else "doc." + path.removesuffix(".keyword")
        )

    def default_fields(self) -> list[str]:
        """The paths a bare term searches (ES's `*`): `_all` holds the strings of the untyped
        fields; typed keyword and text fields are searched in their own fields (keyword: exact)."""
        return ["_all"] + [f.path for f in self._catch_all()]

    def _q_prefix(self, body: Any) -> tantivy.Query:
        path, spec = self._one_field("prefix", body)
        found, insensitive = query_compound.leaf_spec("prefix", spec)
        value = str(found)
        flag = "(?i)" if insensitive else ""
        return self.pattern(path, flag + re.escape(value) + ".*", prefix=value)

    def _q_wildcard(self, body: Any) -> tantivy.Query:
        path, spec = self._one_field("wildcard", body)
        found, insensitive = query_compound.leaf_spec("wildcard", spec)
        regex, prefix = wildcard_regex(str(found))
        return self.pattern(path, ("(?i)" if insensitive else "") + regex, prefix=prefix)

    def _q_regexp(self, body: Any) -> tantivy.Query:
        path, spec = self._one_field("regexp", body)
        found, insensitive = query_compound.leaf_spec("regexp", spec)
        regex = str(found)
        query_compound.check_regex(self, regex)
        regex = ("(?i)" if insensitive else "") + regex
        return self.pattern(path, regex, prefix=None)

    def pattern(self, path: str, regex: str, *, prefix: str | None) -> tantivy.Query:
        """Terms matching `regex` (whole terms); `prefix`, when the pattern is only a literal
        prefix, lets a dynamic field answer too."""
        name, typed = self.field(path)
        if typed is not None and typed.kind == KEYWORD:
            return Q.regex_query(self.schema, name, regex)
        if typed is not None and typed.kind == TEXT:
            return Q.regex_query(
                self.schema, name, regex.lower() if analyzers.lowercases(typed) else regex
            )
        if typed is None and prefix is not None:
            words = _words(prefix)
            return (
                Q.phrase_prefix_query(self.schema, name, words)
                if words
                else Q.exists_query(name, True)
            )
        raise ESError(
            400,
            "illegal_argument_exception",
            f"pattern queries on [{path}] need a mapped keyword field in logstore (only a "
            "trailing * works on dynamic fields)",
        )

    def fuzzy(self, path: str, text: str, distance: int) -> tantivy.Query:
        """Terms within `distance` edits (a transposition is one) of `text`: a keyword field's
        value as it is, a text or dynamic field's lower-cased (as its tokens are)."""
        name, typed = self.field(path)
        if typed is not None and typed.kind not in (KEYWORD, TEXT):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"fuzzy queries on [{path}] of type [{typed.kind}] are not supported by logstore "
                "(keyword and text fields only)",
            )
        keep = typed is not None and (typed.kind == KEYWORD or not analyzers.lowercases(typed))
        value = text if keep else text.lower()
        return Q.fuzzy_term_query(self.schema, name, value, distance, True)

    def _q_match(self, body: Any) -> tantivy.Query:
        path, spec = self._one_field("match", body)
        if isinstance(spec, dict):
            return query_match.match_with_options(self, path, spec)
        return self.match(path, spec, "or")

    def match(self, path: str, text: Any, operator: str = "or") -> tantivy.Query:
        if path in ("*", "_all"):
            return Q.boolean_query(
                [(SHOULD, self.match(f.path, text, operator)) for f in self._catch_all()]
                + [(SHOULD, self._match_words("_all", text, operator))]
            )
        name, typed = self.field(path)
        if typed is not None and typed.kind != TEXT:
            return self.term(path, text)
        if not isinstance(text, str):
            return self.term(path, text)
        return self._match_words(name, text, operator, typed)

    def _catch_all(self) -> list[Field]:
        return [f for f in self.fields.values() if f.kind in (KEYWORD, TEXT) and not f.meta]

    def _match_words(
        self, name: str, text: Any, operator: str, typed: Field | None = None
    ) -> tantivy.Query:
        if not isinstance(text, str):
            return Q.empty_query()
        words = analyzers.words(typed, text) if typed is not None else _words(text)
        occur = MUST if operator == "and" else SHOULD
        return (
            Q.boolean_query([(occur, Q.term_query(self.schema, name, w)) for w in words])
            if words
            else Q.empty_query()
        )

    def _q_match_phrase(self, body: Any) -> tantivy.Query:
        path, spec = self._one_field("match_phrase", body)
        text = spec.get("query") if isinstance(spec, dict) else spec
        slop = spec.get("slop", 0) if isinstance(spec, dict) else 0
        if not isinstance(slop, int) or isinstance(slop, bool) or slop < 0:
            raise parsing(f"[match_phrase] slop must be a non-negative integer, got [{slop}]")
        return self.phrase(path, text, slop=slop)

    def phrase(self, path: str, text: Any, *, slop: int = 0) -> tantivy.Query:
        """The words of `text` in order (at most `slop` moves apart) on a text or dynamic field;
        the value itself on any other."""
        name, typed = self.field(path)
        if path in ("_id", "_index") or (typed is not None and typed.kind != TEXT):
            return self.term(path, text)
        words = analyzers.words(typed, str(text)) if typed is not None else _words(str(text))
        if len(words) == 1:
            return Q.term_query(self.schema, name, words[0])
        return Q.phrase_query(self.schema, name, words, slop) if words else Q.empty_query()

    def _q_query_string(self, body: Any) -> tantivy.Query:
        return querystring.translate(self, body)


# What tantivy's query parser cannot read in an (unquotable) range bound.
_UNQUOTABLE = re.compile(r'[\s"()\[\]{}]')


def _lucene_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _min_should(value: Any, n_should: int) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    try:
        if text.endswith("%"):
            pct = int(text[:-1])
            count = int(n_should * abs(pct) / 100)
            return count if pct >= 0 else n_should - count
        number = int(text)
    except ValueError:
        raise parsing(
            f"[bool] minimum_should_match [{value}] is not a number or percentage"
        ) from None
    return number if number >= 0 else max(0, n_should + number)
