"""`_source` filtering: which parts of a document's source a hit or a GET returns.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-fields.html#source-filtering
The request's `_source`, `_source_includes` and `_source_excludes` query parameters, when any is
given, replace the body's `_source` entirely (ES's FetchSourceContext.parseFromRestRequest).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from .errors import parsing

# (includes, excludes); includes None: no `_source` at all, [] with no excludes: all of it.
SourceSpec = tuple[list[str] | None, list[str]]


def from_request(params: Mapping[str, str], body: Mapping[str, Any]) -> SourceSpec:
    source_p = params.get("_source")
    inc_p, exc_p = params.get("_source_includes"), params.get("_source_excludes")
    if source_p is None and inc_p is None and exc_p is None:
        return from_body(body.get("_source", True))
    fetch = True
    includes: list[str] = []
    if source_p is not None:
        if source_p in ("true", "false", ""):
            fetch = source_p != "false"
        else:
            includes = _split(source_p)
    if inc_p is not None:
        includes = _split(inc_p)
    excludes = _split(exc_p) if exc_p else []
    return (includes if fetch else None), excludes


def from_body(spec: Any) -> SourceSpec:
    if spec is None or spec is True or spec == "true":
        return [], []
    if spec is False or spec == "false":
        return None, []
    if isinstance(spec, str):
        return [spec], []
    if isinstance(spec, list) and all(isinstance(s, str) for s in spec):
        return list(spec), []
    if isinstance(spec, dict):
        for key in spec:
            if key not in ("includes", "include", "excludes", "exclude"):
                raise parsing(f"Unknown key for a START_ARRAY in [{key}].")
        inc: Any = spec.get("includes", spec.get("include", []))
        exc: Any = spec.get("excludes", spec.get("exclude", []))
        return _strings(inc), _strings(exc)
    raise parsing(
        f"Expected one of [BOOLEAN, VALUE_STRING, START_ARRAY, START_OBJECT] but found {spec!r}"
    )


def _strings(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise parsing(f"[_source] includes and excludes must be strings, got {value!r}")
    return list(items)


def _split(text: str) -> list[str]:
    return [p for p in text.split(",") if p]


def apply(source: dict[str, Any], spec: SourceSpec) -> dict[str, Any] | None:
    includes, excludes = spec
    if includes is None:
        return None
    if includes or excludes:
        return filter_source(source, includes, excludes)
    return source


def filter_source(
    source: dict[str, Any], includes: list[str], excludes: list[str]
) -> dict[str, Any]:
    """Path patterns (`*` wildcards) against dotted paths; an object is kept when some path
    under it is, or when it is named itself."""
    out: dict[str, Any] = {}
    for key, value in source.items():
        _filter_into(out, key, value, key, includes, excludes)
    return out


def _filter_into(
    out: dict[str, Any], key: str, value: Any, path: str, inc: list[str], exc: list[str]
) -> None:
    if any(fnmatch.fnmatchcase(path, p) for p in exc):
        return
    if isinstance(value, dict):
        inner: dict[str, Any] = {}
        for k, v in value.items():
            _filter_into(inner, k, v, f"{path}.{k}", inc, exc)
        if inner or (not value and _included(path, inc)):
            out[key] = inner
        return
    if _included(path, inc):
        out[key] = value


def _included(path: str, inc: list[str]) -> bool:
    return not inc or any(fnmatch.fnmatchcase(path, p) or path.startswith(p + ".") for p in inc)
