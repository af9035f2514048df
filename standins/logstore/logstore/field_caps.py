"""`_field_caps`: the capabilities of the mapped fields across indices (Kibana's data views,
Grafana): the fields GET _mapping lists (mapped explicitly, or by dynamic mapping when a
document introduced them), each with its ES type.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-field-caps.html
"""

from __future__ import annotations

import fnmatch
from typing import Any

from . import indexopts
from .errors import ESError, unsupported
from .http import Ctx

# ES types by what a search can do with them
_TEXT = {"text", "match_only_text", "search_as_you_type", "annotated_text"}
# kept for `exists` only in logstore (geo queries and aggregations are refused by name)
_STORED_ONLY = {"binary", "geo_point"}
# Metadata fields, with what logstore can do with them: (type, searchable, aggregatable).
_METADATA = {
    "_id": ("_id", True, False),
    "_index": ("_index", True, False),
    "_source": ("_source", False, False),
}
_FILTERS = {"+metadata", "-metadata", "-nested", "-multifield", "-parent"}
Caps = tuple[str, bool, bool, bool]  # type, searchable, aggregatable, metadata field


def _caps(spec: dict[str, Any]) -> Caps:
    kind = str(spec.get("type", "object"))
    if kind in _STORED_ONLY or kind == "object":
        return kind, False, False, False
    searchable = spec.get("index", True) not in (False, "false")
    aggregatable = kind not in _TEXT and spec.get("doc_values", True) not in (False, "false")
    return kind, searchable, aggregatable, False


def _walk(props: dict[str, Any], prefix: str, filters: set[str], out: dict[str, Caps]) -> None:
    """The fields of a mapping's `properties` (ES's GET _mapping shape), their multi-fields
    and, unless `-parent`, the objects that hold them."""
    for key, spec in props.items():
        if not isinstance(spec, dict):
            continue
        path = prefix + key
        if "properties" in spec or spec.get("type", "object") == "object":
            if "-parent" not in filters:
                out[path] = ("object", False, False, False)
            _walk(spec.get("properties") or {}, path + ".", filters, out)
            continue
        out[path] = _caps(spec)
        if "-multifield" not in filters:
            for sub, sub_spec in (spec.get("fields") or {}).items():
                if isinstance(sub_spec, dict):
                    out[f"{path}.{sub}"] = _caps(sub_spec)


def _index_fields(index: Any, filters: set[str]) -> dict[str, Caps]:
    """path -> capabilities for one index: its mapping as GET _mapping answers it (what was
    mapped and what documents introduced), with ES's metadata fields."""
    out: dict[str, Caps] = {}
    if "-metadata" not in filters:
        for path, (kind, searchable, aggregatable) in _METADATA.items():
            out[path] = (kind, searchable, aggregatable, True)
    if "+metadata" in filters:
        return out
    _walk(index.mapping().get("properties") or {}, "", filters, out)
    return out


def _wanted(ctx: Ctx, body: dict[str, Any]) -> list[str]:
    raw = ctx.param("fields")
    if raw is None and "fields" in body:
        given = body["fields"]
        raw = given if isinstance(given, str) else ",".join(str(f) for f in given)
    patterns = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not patterns:
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: specified fields can't be null or empty;",
        )
    return patterns


def _check(ctx: Ctx, body: dict[str, Any]) -> tuple[set[str], set[str] | None]:
    for key in body:
        if key in ("index_filter", "runtime_mappings"):
            raise unsupported(f"_field_caps [{key}]")
        if key != "fields":
            raise ESError(400, "parsing_exception", f"request does not support [{key}]")
    if ctx.param("include_empty_fields") == "false":
        raise unsupported("_field_caps include_empty_fields=false")
    filters = {f.strip() for f in (ctx.param("filters") or "").split(",") if f.strip()}
    bad = filters - _FILTERS
    if bad:
        raise ESError(
            400, "illegal_argument_exception", f"{sorted(bad)[0]} is not a recognized filter"
        )
    types = ctx.param("types")
    return filters, ({t.strip() for t in types.split(",") if t.strip()} if types else None)


def _entry(
    kind: str,
    searchable: bool,
    aggregatable: bool,
    metadata: bool,
    having: list[str],
    every: list[str],
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": kind,
        "metadata_field": metadata,
        "searchable": searchable,
        "aggregatable": aggregatable,
    }
    if having != every:
        entry["indices"] = having
    return entry


def _merge(
    entry: dict[str, Any], searchable: bool, aggregatable: bool, having: list[str], names: list[str]
) -> None:
    """One type in several indices with different capabilities: ES's answer says false and
    names the indices where the field is not searchable / aggregatable."""
    first_search, first_agg, first_having = entry["_has"]
    held = sorted({*entry.get("indices", first_having), *having})
    if held != names:
        entry["indices"] = held
    else:
        entry.pop("indices", None)
    for key, mine, theirs in (
        ("searchable", searchable, first_search),
        ("aggregatable", aggregatable, first_agg),
    ):
        if mine != theirs:
            entry[key] = False
            lacking = having if not mine else first_having
            other = f"non_{key}_indices"
            entry[other] = sorted({*entry.get(other, []), *lacking})


async def field_caps(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    body = await ctx.json() if ctx.request.method == "POST" else {}
    filters, types = _check(ctx, body)
    patterns = _wanted(ctx, body)
    expr = ctx.request.path_params.get("index", "_all")
    indices = sorted(indexopts.resolve(ctx, expr, default_states="open"), key=lambda i: i.meta.name)
    state.security.require_index(ctx.user, "view_index_metadata", [i.meta.name for i in indices])
    names = [i.meta.name for i in indices]
    # path -> (type, searchable, aggregatable, metadata) -> the indices that have it so
    found: dict[str, dict[tuple[str, bool, bool, bool], list[str]]] = {}
    for index in indices:
        for path, caps in _index_fields(index, filters).items():
            if any(fnmatch.fnmatchcase(path, p) for p in patterns):
                found.setdefault(path, {}).setdefault(caps, []).append(index.meta.name)
    unmapped = ctx.param("include_unmapped") in ("", "true")
    fields: dict[str, Any] = {}
    for path in sorted(found):
        by_type: dict[str, Any] = {}
        for (kind, searchable, aggregatable, meta), having in found[path].items():
            if types is not None and kind not in types:
                continue
            if kind in by_type:  # one type, capabilities differing across indices
                _merge(by_type[kind], searchable, aggregatable, having, names)
                continue
            by_type[kind] = _entry(kind, searchable, aggregatable, meta, having, names)
            by_type[kind]["_has"] = (searchable, aggregatable, having)
        for entry in by_type.values():
            entry.pop("_has", None)
        mapped_in = {n for having in found[path].values() for n in having}
        if unmapped and len(mapped_in) < len(names) and by_type:
            missing = [n for n in names if n not in mapped_in]
            by_type["unmapped"] = _entry("unmapped", False, False, False, missing, names)
        if by_type:
            fields[path] = by_type
    return {"indices": names, "fields": fields}


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_field_caps", ["GET", "POST"], field_caps),
    ("/{index}/_field_caps", ["GET", "POST"], field_caps),
]
