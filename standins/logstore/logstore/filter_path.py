"""`filter_path`: the response keeps only the paths named, less those named with a `-`.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/common-options.html#common-options-response-filtering
A pattern is dotted names; `*` matches within one name, `**` any number of levels; arrays are
crossed as if they were not there. What nothing matched is left out (`{}` when nothing did).
"""

from __future__ import annotations

import fnmatch
from typing import Any

Pattern = tuple[str, ...]
_NOTHING = object()


def parse(text: str) -> tuple[list[Pattern], list[Pattern]]:
    includes: list[Pattern] = []
    excludes: list[Pattern] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        target = excludes if item.startswith("-") else includes
        target.append(tuple(item.lstrip("-").split(".")))
    return includes, excludes


def apply(body: Any, text: str) -> Any:
    includes, excludes = parse(text)
    if not includes and not excludes:
        return body
    everything: list[Pattern] = [()]
    found = _filter(body, includes or everything, excludes)
    return {} if found is _NOTHING else found


def _advance(pattern: Pattern, key: str) -> list[Pattern]:
    if not pattern:
        return []
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return [pattern, *_advance(rest, key)]
    return [rest] if fnmatch.fnmatchcase(key, head) else []


def _done(patterns: list[Pattern]) -> bool:
    return any(all(part == "**" for part in p) for p in patterns)


def _filter(value: Any, includes: list[Pattern], excludes: list[Pattern]) -> Any:
    """The part of `value` the includes reach, less the excludes' (_NOTHING: none of it)."""
    whole = _done(includes)
    if whole and not excludes:
        return value
    if isinstance(value, list):
        items = [_filter(item, includes, excludes) for item in value]
        kept = [i for i in items if i is not _NOTHING]
        return kept if kept or whole else _NOTHING
    if not isinstance(value, dict):
        return value if whole else _NOTHING
    out = {}
    for key, item in value.items():
        exc = [q for p in excludes for q in _advance(p, key)]
        if any(not q for q in exc):
            continue  # an exclusion names this key
        inc: list[Pattern] = [()] if whole else [q for p in includes for q in _advance(p, key)]
        if not inc:
            continue
        found = _filter(item, inc, [q for q in exc if q])
        if found is not _NOTHING:
            out[key] = found
    return out if out or (whole and not value) else _NOTHING
