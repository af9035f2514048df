"""`highlight`: each hit's matching words, marked in the text of its fields (Kibana's Discover
asks for it with every search).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/highlighting.html
The words come from the query itself (`match`, `match_phrase(_prefix)`, `multi_match`,
`term(s)`, `prefix`, `wildcard`, `regexp`, `query_string`, `simple_query_string`, through
`bool`'s positive clauses, `constant_score`, `dis_max`, `boosting`), each for the fields it
names (`*`: every field). A field's string values are split as logstore's analyser splits them
(letters and digits, lower-cased); a keyword field matches as a whole value. Fragments
(`fragment_size`, `number_of_fragments`; 0: the whole value) are cut at word boundaries around
the matches, not with ES's sentence break iterator; `highlight_query`, `type: fvh` and
`boundary_scanner` are refused.
"""

from __future__ import annotations

import contextlib
import fnmatch
import html
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import parsing, unsupported
from .schema import KEYWORD, Field
from .wildcard import wildcard_regex

_TOKEN = re.compile(r"[^\W_]+")
_OPTIONS = {
    "fields",
    "pre_tags",
    "post_tags",
    "fragment_size",
    "number_of_fragments",
    "require_field_match",
    "type",
    "order",
    "encoder",
    "no_match_size",
    "tags_schema",
    "max_analyzed_offset",
    "fragmenter",
    "phrase_limit",
    "boundary_chars",
    "boundary_max_scan",
    "highlight_filter",
    "force_source",
}
ANY = "*"


@dataclass
class Terms:
    """What the query looks for, by field path (ANY: whatever field)."""

    words: dict[str, set[str]] = field(default_factory=dict)
    patterns: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)

    def word(self, path: str, text: Any) -> None:
        for token in _TOKEN.findall(str(text).lower()):
            self.words.setdefault(path, set()).add(token)
        self.words.setdefault(path, set()).add(str(text))  # a keyword's whole value

    def pattern(self, path: str, regex: str) -> None:
        with contextlib.suppress(re.error):  # a regex Python cannot read highlights nothing
            self.patterns.setdefault(path, []).append(re.compile(regex, re.IGNORECASE))


@dataclass
class Options:
    pre: list[str]
    post: list[str]
    size: int
    count: int
    require_match: bool
    escape: bool
    no_match: int


def parse(spec: Any) -> tuple[Options, dict[str, dict[str, Any]]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("fields"), dict | list):
        raise parsing("[highlight] requires [fields]")
    for key in spec:
        if key not in _OPTIONS:
            raise unsupported(f"highlight {key}")
    if spec.get("type", "unified") not in ("unified", "plain"):
        raise unsupported(f"highlight type {spec['type']}")
    raw = spec["fields"]
    fields: dict[str, dict[str, Any]] = {}
    for item in raw if isinstance(raw, list) else [raw]:
        for name, options in (item or {}).items():
            options = options or {}
            for key in options:
                if key in ("highlight_query", "matched_fields", "boundary_scanner"):
                    raise unsupported(f"highlight {key}")
            if options.get("type", "unified") not in ("unified", "plain"):
                raise unsupported(f"highlight type {options['type']} (field [{name}])")
            fields[name] = options
    styled = spec.get("tags_schema") == "styled"
    options = Options(
        pre=list(spec.get("pre_tags") or (['<em class="hlt1">'] if styled else ["<em>"])),
        post=list(spec.get("post_tags") or ["</em>"]),
        size=int(spec.get("fragment_size", 100)),
        count=int(spec.get("number_of_fragments", 5)),
        require_match=spec.get("require_field_match", True) not in (False, "false"),
        escape=spec.get("encoder") == "html",
        no_match=int(spec.get("no_match_size", 0)),
    )
    return options, fields


def collect(query: Any, terms: Terms) -> None:
    """The words and patterns of the query's positive clauses."""
    if not isinstance(query, dict) or len(query) != 1:
        return
    ((kind, body),) = query.items()
    if kind == "bool" and isinstance(body, dict):
        for key in ("must", "should", "filter"):
            clauses = body.get(key, [])
            for clause in clauses if isinstance(clauses, list) else [clauses]:
                collect(clause, terms)
    elif kind == "constant_score" and isinstance(body, dict):
        collect(body.get("filter"), terms)
    elif kind == "dis_max" and isinstance(body, dict):
        for clause in body.get("queries", []):
            collect(clause, terms)
    elif kind == "boosting" and isinstance(body, dict):
        collect(body.get("positive"), terms)
    elif kind in ("match", "match_phrase", "match_phrase_prefix", "term", "terms"):
        _leaf(kind, body, terms)
    elif kind in ("prefix", "wildcard", "regexp"):
        _pattern(kind, body, terms)
    elif kind == "multi_match" and isinstance(body, dict):
        for path in body.get("fields", [ANY]):
            terms.word(str(path).split("^")[0], body.get("query", ""))
    elif kind in ("query_string", "simple_query_string") and isinstance(body, dict):
        paths = body.get("fields") or [body.get("default_field", ANY)]
        for path in paths:
            _text_query(str(body.get("query", "")), str(path).split("^")[0], terms)


def _leaf(kind: str, body: Any, terms: Terms) -> None:
    if not isinstance(body, dict):
        return
    for path, spec in body.items():
        if path in ("boost", "_name"):
            continue
        value = spec.get("query", spec.get("value")) if isinstance(spec, dict) else spec
        for item in value if isinstance(value, list) else [value]:
            if item is not None and not isinstance(item, dict):
                terms.word(path, item)
        if kind == "match_phrase_prefix" and isinstance(value, str):
            last = _TOKEN.findall(value.lower())
            if last:
                terms.pattern(path, re.escape(last[-1]) + r"\w*")


def _pattern(kind: str, body: Any, terms: Terms) -> None:
    if not isinstance(body, dict):
        return
    for path, spec in body.items():
        value = str(spec.get("value", spec.get("wildcard")) if isinstance(spec, dict) else spec)
        if kind == "prefix":
            terms.pattern(path, re.escape(value) + r"\w*")
        elif kind == "wildcard":
            terms.pattern(path, wildcard_regex(value)[0])
        else:
            terms.pattern(path, value)


def _text_query(text: str, default: str, terms: Terms) -> None:
    """A query string's words: `field:value` for that field, bare words for `default`."""
    for match in re.finditer(r'(?:([\w.@]+):)?("[^"]*"|[^\s()"]+)', text):
        path, value = match.group(1) or default, match.group(2).strip('"')
        if value.upper() in ("AND", "OR", "NOT") or not value:
            continue
        value = value.lstrip("+-!")
        if "*" in value or "?" in value:
            terms.pattern(path, wildcard_regex(value)[0])
        else:
            terms.word(path, value.split("~")[0].split("^")[0])


def highlight(
    source: dict[str, Any],
    index_fields: dict[str, Field],
    terms: Terms,
    options: Options,
    wanted: dict[str, dict[str, Any]],
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, value in _strings(source, ""):
        own = next((o for p, o in wanted.items() if fnmatch.fnmatchcase(path, p)), None)
        if own is None:
            continue
        words = set(terms.words.get(path, set())) | set(terms.words.get(path + ".keyword", ()))
        patterns = list(terms.patterns.get(path, []))
        words |= terms.words.get(ANY, set())  # a query on every field
        patterns += terms.patterns.get(ANY, [])
        if not options.require_match:  # any field's words, wherever they are
            for other in terms.words.values():
                words |= other
            for more in terms.patterns.values():
                patterns += more
        typed = index_fields.get(path)
        keyword = typed is not None and typed.kind == KEYWORD
        fragments = _mark(value, words, patterns, options, keyword, own)
        if fragments:
            out.setdefault(path, []).extend(fragments)
    return out


def _strings(value: Any, prefix: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += _strings(item, f"{prefix}{key}.")
        return found
    if isinstance(value, list):
        return [pair for item in value for pair in _strings(item, prefix)]
    return [(prefix[:-1], value)] if isinstance(value, str) and prefix else []


def _mark(
    text: str,
    words: set[str],
    patterns: list[re.Pattern[str]],
    options: Options,
    keyword: bool,
    own: dict[str, Any],
) -> list[str]:
    pre, post = options.pre[0], options.post[0]
    esc = html.escape if options.escape else (lambda s: s)
    if keyword:
        hit = text in words or any(p.fullmatch(text) for p in patterns)
        return [f"{pre}{esc(text)}{post}"] if hit else []
    spans = [
        m.span()
        for m in _TOKEN.finditer(text)
        if m.group().lower() in words or any(p.fullmatch(m.group()) for p in patterns)
    ]
    if not spans:
        return []
    count = int(own.get("number_of_fragments", options.count))
    size = int(own.get("fragment_size", options.size))
    if count == 0 or len(text) <= size:
        return [_wrap(text, spans, 0, len(text), pre, post, esc)]
    fragments: list[str] = []
    start_at = -1
    for start, _ in spans:
        if start < start_at or len(fragments) >= count:
            continue
        begin = max(0, start - size // 4)
        while begin > 0 and not text[begin - 1].isspace():
            begin -= 1
        end = min(len(text), begin + size)
        while end < len(text) and not text[end].isspace():
            end += 1
        inside = [s for s in spans if s[0] >= begin and s[1] <= end]
        fragments.append(_wrap(text, inside, begin, end, pre, post, esc))
        start_at = end
    return fragments


def _wrap(
    text: str, spans: list[tuple[int, int]], begin: int, end: int, pre: str, post: str, esc: Any
) -> str:
    out, at = [], begin
    for start, stop in spans:
        out += [esc(text[at:start]), pre, esc(text[start:stop]), post]
        at = stop
    out.append(esc(text[at:end]))
    return "".join(out).strip()
