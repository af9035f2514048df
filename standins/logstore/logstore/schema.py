"""Mappings: which fields get a typed tantivy field, and how a JSON document becomes a record.

Every document keeps its original bytes in `_source`. The fields we query and aggregate most
get explicit typed fast fields; the rest of the document goes to the dynamic field `doc` (fast,
so any path can be aggregated). `message` and `_all` (every string no typed field holds) are
top-level text fields so that a bare query_string term matches the way it does in
Elasticsearch.
"""

from __future__ import annotations

from base64 import b64encode
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
import tantivy

from .datemath import parse_date
from .errors import ESError

KEYWORD, LONG, DOUBLE, DATE, BOOLEAN, TEXT = "keyword", "long", "double", "date", "boolean", "text"
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
}

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
    kind: str  # one of KEYWORD, LONG, DOUBLE, DATE, BOOLEAN, TEXT
    copy_of: str | None = None  # a multi-field: the path whose value it indexes again

    @cached_property
    def name(self) -> str:
        """The tantivy field name: dots would read as JSON paths in the query parser."""
        if self.path in ("message", "_all"):
            return self.path
        return "f_" + self.path.replace(".", "__")

    @cached_property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


# The text field of every string no typed field holds, searched by a bare query term.
CATCH_ALL = Field("_all", TEXT)


def fields_from_mapping(mappings: dict[str, Any]) -> dict[str, Field]:
    """ECS defaults plus every typed property of an ES `mappings` object."""
    found = dict(ECS_FIELDS)
    copies = dict(MULTI_FIELDS)
    _walk_properties(mappings.get("properties", {}), "", found, copies)
    return {path: Field(path, kind, copies.get(path)) for path, kind in sorted(found.items())}


def _walk_properties(
    props: object, prefix: str, out: dict[str, str], copies: dict[str, str]
) -> None:
    if not isinstance(props, dict):
        raise ESError(400, "mapper_parsing_exception", f"[properties] must be an object: {props}")
    for key, spec in props.items():
        path = prefix + key
        if not isinstance(spec, dict):
            raise ESError(
                400, "mapper_parsing_exception", f"mapping for [{path}] must be an object"
            )
        if "properties" in spec:
            _walk_properties(spec["properties"], path + ".", out, copies)
            continue
        for sub, sub_spec in (spec.get("fields") or {}).items():
            if isinstance(sub_spec, dict) and sub_spec.get("type") == "keyword":
                out[f"{path}.{sub}"] = KEYWORD
                copies[f"{path}.{sub}"] = path
        es_type = spec.get("type", "object")
        if es_type == "object":
            continue
        if es_type not in _ES_TYPES:
            raise ESError(
                400,
                "mapper_parsing_exception",
                f"no handler for type [{es_type}] declared on field [{path}] (logstore supports "
                f"{', '.join(sorted(_ES_TYPES))})",
            )
        if path == "message" and _ES_TYPES[es_type] != TEXT:
            continue  # message stays full-text: the console searches it
        out[path] = _ES_TYPES[es_type]


def mapping_json(fields: dict[str, Field]) -> dict[str, Any]:
    """The fields as an ES `mappings` object (nested `properties`)."""
    root: dict[str, Any] = {}
    for field in fields.values():
        if field.copy_of is not None:
            continue
        node = root
        parts = field.path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = {"type": "long" if field.kind == LONG else field.kind}
    for field in fields.values():
        if field.copy_of is not None and field.copy_of in fields:
            node = root
            parts = field.copy_of.split(".")
            for part in parts[:-1]:
                node = node[part]["properties"]
            sub = field.path.removeprefix(field.copy_of + ".")
            extra = {"type": KEYWORD, "ignore_above": IGNORE_ABOVE}
            node[parts[-1]].setdefault("fields", {})[sub] = extra
    return {"dynamic": "true", "properties": root}


def build_schema(fields: dict[str, Field]) -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("_id", stored=True, tokenizer_name="raw", fast=True)
    sb.add_bytes_field("_source", stored=True)
    sb.add_integer_field("_version", stored=True, fast=True)
    sb.add_integer_field("_seq", indexed=True, stored=True, fast=True)
    sb.add_text_field("_all")
    sb.add_json_field("doc", fast=True, expand_dots_enabled=True)
    for field in fields.values():
        if field.kind == KEYWORD:
            sb.add_text_field(field.name, tokenizer_name="raw", fast=True)
        elif field.kind in (LONG, DATE):  # dates are epoch millis, as ES stores them
            sb.add_integer_field(field.name, indexed=True, fast=True)
        elif field.kind == DOUBLE:
            sb.add_float_field(field.name, indexed=True, fast=True)
        elif field.kind == BOOLEAN:
            sb.add_boolean_field(field.name, indexed=True, fast=True)
        else:
            sb.add_text_field(field.name)
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


def _scan(value: Any, out: list[str]) -> bool:
    """Collect every string of a document into `out`; True if some key has a dot in it."""
    dotted = False
    if type(value) is dict:
        for key, item in value.items():
            if "." in key:
                dotted = True
            kind = type(item)
            if kind is str:
                out.append(item)
            elif kind is dict or kind is list:
                dotted = _scan(item, out) or dotted
    else:
        for item in value:
            kind = type(item)
            if kind is str:
                out.append(item)
            elif kind is dict or kind is list:
                dotted = _scan(item, out) or dotted
    return dotted


def _typed(field: Field, value: Any) -> Any:
    if type(value) is str and field.kind in (KEYWORD, TEXT):
        return value
    if isinstance(value, list):
        return [_typed(field, item) for item in value if item is not None]
    try:
        if field.kind == KEYWORD:
            if isinstance(value, dict):
                raise ValueError("an object")
            return value if isinstance(value, str) else orjson.dumps(value).decode()
        if field.kind in (DATE, LONG):
            if field.kind == DATE:
                number = parse_date(value, field=field.path)
            elif isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(repr(value))
            else:
                number = int(float(value))
            if not -_I64 <= number < _I64:
                raise ValueError("out of range for a long")
            return number
        if field.kind == DOUBLE:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(repr(value))
            return float(value)
        if field.kind == BOOLEAN:
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            raise ValueError(repr(value))
        if not isinstance(value, str):
            raise ValueError(repr(value))
        return value
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, ESError):
            raise
        raise ESError(
            400,
            "document_parsing_exception",
            f"failed to parse field [{field.path}] of type [{field.kind}]: [{value}] ({exc})",
        ) from None


class RecordBuilder:
    """Builds the JSON line that tantivy's `add_json` indexes for one document.

    The hot path of ingest. tantivy's indexing cost grows with the record, so each typed
    value is moved into its own field and out of `doc` (fast: any other path can be
    aggregated), and `_all` gets only the strings that no typed field holds (a bare query term
    also searches the typed keyword and text fields, see `Translator.default_fields`).
    `message` and other text fields stay in `doc` too, so `exists` works on them (a text field
    is not fast). Only the objects on a typed path are copied. A document with dotted keys
    (`{"log.level": "info"}`) keeps everything in `doc` and `_all`. The record must stay one
    line: it is also the WAL line.
    """

    def __init__(self, fields: dict[str, Field]) -> None:
        self.fields = fields
        own = [f for f in fields.values() if f.copy_of is None]
        self.plan = [(f.parts, f.parts[:-1], f.parts[-1], f.name, f.kind, f) for f in own]
        self.multi = [(f.name, f.copy_of) for f in fields.values() if f.copy_of is not None]
        # every object on a typed path, parents first: (path, parent's path, key)
        objects = sorted({f.parts[:n] for f in own for n in range(1, len(f.parts))})
        self.objects = [(path, path[:-1], path[-1]) for path in sorted(objects, key=len)]

    def __call__(
        self, src: dict[str, Any], raw: bytes, doc_id: str, version: int, seq: int
    ) -> bytes:
        rec: dict[str, Any] = {
            "_id": doc_id,
            "_source": b64encode(raw).decode("ascii"),
            "_version": version,
            "_seq": seq,
        }
        # Copy the objects on typed paths (only those), so popping typed values from `rest`
        # leaves the caller's document intact.
        for name, copy_of in self.multi:
            value = get_path(src, copy_of)
            if type(value) is str and len(value) <= IGNORE_ABOVE:
                rec[name] = value
        rest = dict(src)
        copies: dict[tuple[str, ...], Any] = {(): rest}
        for path, parent_path, key in self.objects:
            parent = copies[parent_path]
            child = parent.get(key) if parent is not None else None
            if type(child) is dict:
                child = parent[key] = dict(child)
                copies[path] = child
            else:
                copies[path] = None
        texts: list[tuple[tuple[str, ...], Any]] = []
        for parts, parent_path, leaf, name, kind, field in self.plan:
            node = copies[parent_path]
            if node is None:
                continue
            value = node.pop(leaf, None)
            if value is None:
                continue
            vtype = type(value)
            if (
                (vtype is str and kind in (KEYWORD, TEXT))
                or (vtype is int and kind == LONG and -_I64 <= value < _I64)
                or (vtype is list and kind == KEYWORD and all(type(v) is str for v in value))
            ):
                rec[name] = value
            else:
                rec[name] = _typed(field, value)
            if kind == TEXT:
                texts.append((parts, value))
        for path, parent_path, key in reversed(self.objects):  # objects left empty
            node = copies[path]
            if node is not None and not node:
                del copies[parent_path][key]
        strings: list[str] = []
        if _scan(rest, strings):
            return self._dotted(src, rec)
        if strings:
            rec["_all"] = " ".join(strings)
        for parts, value in texts:
            _put(rest, parts, value)
        rec["doc"] = rest
        return orjson.dumps(rec)

    def _dotted(self, src: dict[str, Any], rec: dict[str, Any]) -> bytes:
        """Dotted keys may spell a typed path: read each by every spelling, keep all in doc."""
        rec = {k: rec[k] for k in ("_id", "_source", "_version", "_seq")}
        for field in self.fields.values():
            value = get_path(src, field.copy_of or field.path)
            if field.copy_of is not None and not (
                type(value) is str and len(value) <= IGNORE_ABOVE
            ):
                continue
            if value is not None:
                rec[field.name] = _typed(field, value)
        strings: list[str] = []
        _scan(src, strings)
        if strings:
            rec["_all"] = " ".join(strings)
        rec["doc"] = src
        return orjson.dumps(rec)


def _put(rest: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    node = rest
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def to_record(
    src: dict[str, Any],
    raw: bytes,
    *,
    doc_id: str,
    version: int,
    seq: int,
    fields: dict[str, Field],
) -> bytes:
    """One record (see RecordBuilder; keep a builder per index on hot paths)."""
    return RecordBuilder(fields)(src, raw, doc_id, version, seq)
