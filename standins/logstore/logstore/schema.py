"""Mappings: which fields get a typed tantivy field (records.py turns a document into a record).

Every document keeps its original bytes in `_source`. The fields we query and aggregate most
get explicit typed fast fields; the rest of the document goes to the dynamic field `doc` (fast,
so any path can be aggregated). `message` and `_all` (every string no typed field holds) are
top-level text fields so that a bare query_string term matches the way it does in
Elasticsearch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from functools import cached_property
from typing import Any

import tantivy

from . import analyzers
from .datefmt import DateFormat, parse_format
from .errors import ESError, unsupported
from .mapping_params import REFUSED_TYPES, normalize

KEYWORD, LONG, DOUBLE, DATE, BOOLEAN, TEXT = "keyword", "long", "double", "date", "boolean", "text"
# Kept for `exists` only (not searchable); NONE: an object with `enabled: false`, not indexed.
BINARY, GEO, NONE = "binary", "geo_point", "none"
_ES_TYPES = {
    "keyword": KEYWORD,
    "constant_keyword": KEYWORD,
    "wildcard": KEYWORD,
    "ip": KEYWORD,
    "long": LONG,
    "integer": LONG,
    "short": LONG,
    "byte": LONG,
    "unsigned_long": LONG,
    "double": DOUBLE,
    "float": DOUBLE,
    "half_float": DOUBLE,
    "scaled_float": DOUBLE,
    "date": DATE,
    "date_nanos": DATE,
    "boolean": BOOLEAN,
    "text": TEXT,
    "match_only_text": TEXT,
    "binary": BINARY,
    "geo_point": GEO,
}
# Types whose string values the ingest fast path may index as they come (no check).
_PLAIN_TYPES = {"", "keyword", "text", "wildcard", "constant_keyword", "match_only_text"}

# The ECS fields the stack queries and aggregates .
ECS_FIELDS: dict[str, str] = {
    "@timestamp": DATE,
    "log.level": KEYWORD,
    "service.name": KEYWORD,
    "event.dataset": KEYWORD,
    "tags": KEYWORD,
    "http.response.status_code": LONG,
    "http.request.method": KEYWORD,
    "url.path": KEYWORD,
    "event.duration": LONG,
    "user.id": KEYWORD,
    "host.name": KEYWORD,
    "message": TEXT,
    # ES maps a string as text with a `.keyword` multi-field: "top messages" aggregate it.
    "message.keyword": KEYWORD,
}
# Multi-fields (ES `fields` in a mapping): a typed copy of another field's value, e.g.
# `message.keyword` (ignore_above: longer values are not copied, as in ES).
MULTI_FIELDS: dict[str, str] = {"message.keyword": "message"}
IGNORE_ABOVE = 512
_I64 = 2**63
RESERVED = {"_id", "_source", "_version", "_seq", "_all", "doc"}


@dataclass(frozen=True)
class Field:
    path: str  # the ES name, e.g. log.level
    kind: str  # one of KEYWORD, LONG, DOUBLE, DATE, BOOLEAN, TEXT, BINARY, GEO, NONE
    copy_of: str | None = None  # a multi-field: the path whose value it indexes again
    es_type: str = ""  # the mapped ES type (ip, date_nanos, integer, ...); "" for built-ins
    ignore_malformed: bool = False  # a bad value is skipped, its field named in `_ignored`
    ignore_above: int | None = None  # longer strings are kept in _source only
    null_value: Any = dc_field(default=None, compare=False)  # indexed for an explicit null
    fmt: DateFormat | None = None  # a date's `format` (None: ISO 8601 or epoch millis)
    coerce: bool = True  # numbers: strings and fractions accepted
    scaling: float | None = None  # scaled_float's scaling_factor
    meta: bool = False  # a metadata field (`_ignored`): not in the document, not mapped
    analyzer: str = ""  # text: analyzers.py ("" is standard)
    search_analyzer: str = ""

    @cached_property
    def name(self) -> str:
        """The tantivy field name: dots would read as JSON paths in the query parser."""
        if self.path in ("message", "_all", "_ignored"):
            return self.path
        return "f_" + self.path.replace(".", "__")

    @cached_property
    def nanos(self) -> bool:
        return self.es_type == "date_nanos"

    @cached_property
    def ns_name(self) -> str:
        """date_nanos: the fast field of its nanoseconds (sort values, search_after); its
        `name` holds milliseconds, as every other date's, for queries and aggregations."""
        return "n_" + self.path.replace(".", "__")

    @cached_property
    def plain(self) -> bool:
        """Values the ingest fast path may index unchecked (see records.RecordBuilder)."""
        return (
            self.es_type in _PLAIN_TYPES
            and self.ignore_above is None
            and self.kind in (KEYWORD, TEXT, LONG)
            and (self.kind != LONG or self.es_type == "")
        )

    @cached_property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


# The text field of every string no typed field holds, searched by a bare query term.
CATCH_ALL = Field("_all", TEXT)
# ES's `_ignored`: the fields of a document whose values were skipped (`ignore_malformed`).
IGNORED = Field("_ignored", KEYWORD, meta=True)


def fields_from_mapping(
    mappings: dict[str, Any], settings: dict[str, str] | None = None, *, validate: bool = True
) -> dict[str, Field]:
    """ECS defaults plus every typed property of an ES `mappings` object. `validate`: refuse
    what ES or logstore refuses in it (mapping_params), for a mapping not yet taken (a
    template's); an index's own stored mapping is read as it is."""
    if validate:
        normalize(mappings)
    found: dict[str, Field] = {
        path: Field(path, kind, MULTI_FIELDS.get(path), ignore_above=_builtin_above(path))
        for path, kind in ECS_FIELDS.items()
    }
    malformed = (settings or {}).get("index.mapping.ignore_malformed") == "true"
    _walk_properties(mappings.get("properties", {}), "", found, malformed)
    fields = dict(sorted(found.items()))
    if any(f.ignore_malformed for f in fields.values()):
        fields[IGNORED.path] = IGNORED
    return fields


def _builtin_above(path: str) -> int | None:
    return IGNORE_ABOVE if path in MULTI_FIELDS else None


def _walk_properties(props: object, prefix: str, out: dict[str, Field], malformed: bool) -> None:
    if not isinstance(props, dict):
        raise ESError(400, "mapper_parsing_exception", f"[properties] must be an object: {props}")
    for key, spec in props.items():
        path = prefix + key
        if not isinstance(spec, dict):
            raise ESError(
                400, "mapper_parsing_exception", f"mapping for [{path}] must be an object"
            )
        if spec.get("enabled") in (False, "false"):
            out[path] = Field(path, NONE, es_type="object")
            continue
        if "properties" in spec:
            _walk_properties(spec["properties"], path + ".", out, malformed)
            continue
        for sub, sub_spec in (spec.get("fields") or {}).items():
            sub_type = sub_spec.get("type") if isinstance(sub_spec, dict) else None
            if sub_type in _ES_TYPES and sub_type not in ("binary", "geo_point"):
                sub_field = _field(f"{path}.{sub}", sub_type, sub_spec, malformed)
                out[sub_field.path] = replace(sub_field, copy_of=path)
        es_type = spec.get("type", "object")
        if es_type == "object":
            continue
        if es_type in REFUSED_TYPES:
            raise unsupported(f"field type [{es_type}] (field [{path}])")
        if es_type not in _ES_TYPES:
            raise ESError(
                400,
                "mapper_parsing_exception",
                f"no handler for type [{es_type}] declared on field [{path}] (logstore supports "
                f"{', '.join(sorted(_ES_TYPES))})",
            )
        if path == "message" and _ES_TYPES[es_type] != TEXT:
            continue  # message stays full-text: the console searches it
        out[path] = _field(path, es_type, spec, malformed)


def _field(path: str, es_type: str, spec: dict[str, Any], malformed: bool) -> Field:
    """One mapped field with the parameters logstore honours (mapping_params.py lists them)."""
    fmt = spec.get("format")
    return Field(
        path,
        _ES_TYPES[es_type],
        es_type=es_type,
        ignore_malformed=spec.get("ignore_malformed", malformed) in (True, "true")
        and es_type not in ("keyword", "text", "boolean", "binary", "wildcard"),
        ignore_above=spec.get("ignore_above"),
        null_value=spec.get("null_value"),
        fmt=parse_format(fmt, field=path)
        if isinstance(fmt, str) and fmt not in _ISO_DEFAULT
        else None,
        coerce=spec.get("coerce", True) not in (False, "false"),
        scaling=float(spec["scaling_factor"]) if "scaling_factor" in spec else None,
        analyzer=str(spec.get("analyzer", "")),
        search_analyzer=str(spec.get("search_analyzer", "")),
    )


# Formats the default date parser reads (ISO 8601 or epoch millis): the ingest fast path.
_ISO_DEFAULT = {"strict_date_optional_time||epoch_millis", "date_optional_time||epoch_millis"}


def build_schema(fields: dict[str, Field], *, routing: bool = True) -> tantivy.Schema:
    """`routing`: the stored `_routing` field (an index made before it existed has none)."""
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("_id", stored=True, tokenizer_name="raw", fast=True)
    sb.add_bytes_field("_source", stored=True)
    sb.add_integer_field("_version", stored=True, fast=True)
    sb.add_integer_field("_seq", indexed=True, stored=True, fast=True)
    if routing:
        sb.add_text_field("_routing", stored=True, tokenizer_name="raw")
    sb.add_text_field("_all")
    sb.add_json_field("doc", fast=True, expand_dots_enabled=True)
    for field in fields.values():
        if field.meta:  # _ignored: stored, a hit gives it back
            sb.add_text_field(field.name, stored=True, tokenizer_name="raw", fast=True)
        elif field.kind in (KEYWORD, GEO):  # a point as `lat,lon`, for `exists`
            sb.add_text_field(field.name, tokenizer_name="raw", fast=True)
        elif field.kind in (LONG, DATE):  # dates are epoch millis, as ES stores them
            sb.add_integer_field(field.name, indexed=True, fast=True)
            if field.nanos:
                sb.add_integer_field(field.ns_name, indexed=True, fast=True)
        elif field.kind == BINARY:  # not searchable, as in ES; fast: `exists`, doc values
            sb.add_bytes_field(field.name, fast=True)
        elif field.kind == NONE:
            continue
        elif field.kind == DOUBLE:
            sb.add_float_field(field.name, indexed=True, fast=True)
        elif field.kind == BOOLEAN:
            sb.add_boolean_field(field.name, indexed=True, fast=True)
        else:
            sb.add_text_field(field.name, tokenizer_name=analyzers.tokenizer_of(field))
    return sb.build()


def get_path(src: dict[str, Any], path: str) -> Any:
    """A value by dotted path, whether the document nests objects or uses dotted keys."""
    if path in src:
        return src[path]
    head, _, rest = path.partition(".")
    while rest:
        node = src.get(head)
        if isinstance(node, dict):
            found = get_path(node, rest)
            if found is not None:
                return found
        nxt, _, rest = rest.partition(".")
        head = head + "." + nxt
    return None
