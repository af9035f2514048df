"""How a JSON document becomes the record tantivy indexes (the ingest hot path), by the
mapping's fields (schema.Field)."""

from __future__ import annotations

from base64 import b64encode
from typing import TYPE_CHECKING, Any

import orjson

from .datefmt import nanos_to_ms
from .errors import ESError
from .fieldtypes import convert
from .schema import _I64, KEYWORD, LONG, NONE, TEXT, Field, get_path

if TYPE_CHECKING:
    from .dynamic_mapping import DynamicMapper


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
    if type(value) is str and field.plain and field.kind in (KEYWORD, TEXT):
        return value
    return convert(field, value)


_ABSENT = object()
# A pruning tree (dynamic_mapping.prune_tree): (dynamic, {key: subtree, or None for a leaf}).
PruneTree = tuple[bool, dict[str, Any]]


class RecordBuilder:
    """Builds the JSON line that tantivy's `add_json` indexes for one document.

    The hot path of ingest. tantivy's indexing cost grows with the record, so each typed
    value is moved into its own field and out of `doc` (fast: any other path can be
    aggregated), and `_all` gets only the strings that no typed field holds (a bare query term
    also searches the typed keyword and text fields, see `Translator.default_fields`).
    `message` and other text fields stay in `doc` too, so `exists` works on them (a text field
    is not fast). Only the objects on a typed path are copied. A document with dotted keys
    (`{"log.level": "info"}`) keeps everything in `doc` and `_all`. The record must stay one
    line: it is also the WAL line. Values that need a check (ip, formats, ranges, ...) take
    `_index_value`; with `dynamic: false` somewhere, `prune` drops the unmapped fields.
    """

    def __init__(
        self,
        fields: dict[str, Field],
        prune: PruneTree | None = None,
        mapper: DynamicMapper | None = None,
    ) -> None:
        self.fields = fields
        self.prune = prune
        self.mapper = mapper
        own = [f for f in fields.values() if f.copy_of is None and not f.meta]
        self.plan = [
            (f.parts, f.parts[:-1], f.parts[-1], f.name, f.kind if f.plain else "", f) for f in own
        ]
        # multi-fields: (name, parent path, ignore_above, None for a string copy or the field)
        self.multi = [
            (f.name, f.copy_of, f.ignore_above, None if f.kind in (KEYWORD, TEXT) else f)
            for f in fields.values()
            if f.copy_of is not None
        ]
        # every object on a typed path, parents first: (path, parent's path, key)
        objects = sorted({f.parts[:n] for f in own for n in range(1, len(f.parts))})
        self.objects = [(path, path[:-1], path[-1]) for path in sorted(objects, key=len)]
        # _dotted's reads, every field in order: (field, the path it reads, a multi-field's
        # string copy, a string that is indexed as it comes)
        self.dotted_plan = [
            (
                f,
                f.copy_of or f.path,
                f.copy_of is not None and f.kind in (KEYWORD, TEXT),
                f.copy_of is None and f.plain and f.kind in (KEYWORD, TEXT),
            )
            for f in fields.values()
            if not f.meta
        ]

    def __call__(
        self, src: dict[str, Any], raw: bytes, doc_id: str, version: int, seq: int
    ) -> bytes:
        rec: dict[str, Any] = {
            "_id": doc_id,
            "_source": b64encode(raw).decode("ascii"),
            "_version": version,
            "_seq": seq,
        }
        ignored: list[str] = []
        for name, copy_of, above, typed in self.multi:
            if typed is None:
                value = get_path(src, copy_of)
                if type(value) is str:  # inline: message.keyword on every log line
                    if above is None or len(value) <= above:
                        rec[name] = value
                elif value is not None:
                    _copy(rec, name, value, above)
            else:  # a date, numeric, ... multi-field: its own conversion
                value = get_path(src, copy_of)
                if value is not None:
                    _index_value(rec, typed, value, ignored)
        # Copy the objects on typed paths (only those), so popping typed values from `rest`
        # leaves the caller's document intact.
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
            value = node.pop(leaf, _ABSENT)
            if value is None or value is _ABSENT:
                if value is _ABSENT or field.null_value is None:
                    continue
                value = field.null_value
            vtype = type(value)
            if (
                (vtype is str and kind in (KEYWORD, TEXT))
                or (vtype is int and kind == LONG and -_I64 <= value < _I64)
                or (vtype is list and kind == KEYWORD and all(type(v) is str for v in value))
            ):
                rec[name] = value
            else:
                _index_value(rec, field, value, ignored)
            if kind == TEXT:
                texts.append((parts, value))
        if ignored:
            rec["_ignored"] = ignored
        for path, parent_path, key in reversed(self.objects):  # objects left empty
            node = copies[path]
            if node is not None and not node:
                del copies[parent_path][key]
        mapper = self.mapper
        if mapper is not None:  # what the document maps dynamically: only its untyped part
            if rest:
                mapper.observe(rest)
            if mapper.unseen:
                for name in mapper.unseen.keys() & rec.keys():
                    mapper.see(name)
        if self.prune is not None:
            _prune(rest, self.prune)
        if "." in "".join(rest):  # a dotted key on top (the shipper's lines): no need to scan
            return self._dotted(src, rec)
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
        if self.mapper is not None:
            self.mapper.observe(src)
        ignored: list[str] = []
        for field, path, string_copy, as_it_comes in self.dotted_plan:
            value = src[path] if path in src else get_path(src, path)
            if string_copy:
                _copy(rec, field.name, value, field.ignore_above)
            elif as_it_comes and type(value) is str:  # what _index_value does, inline
                rec[field.name] = value
            elif value is not None:
                _index_value(rec, field, value, ignored)
        if ignored:
            rec["_ignored"] = ignored
        strings: list[str] = []
        _scan(src, strings)
        if strings:
            rec["_all"] = " ".join(strings)
        rec["doc"] = src
        return orjson.dumps(rec)


def _copy(rec: dict[str, Any], name: str, value: Any, above: int | None) -> None:
    """A multi-field's copy of its parent's strings (not those longer than ignore_above)."""
    if type(value) is str:
        if above is None or len(value) <= above:
            rec[name] = value
    elif type(value) is list:
        kept = [v for v in value if type(v) is str and (above is None or len(v) <= above)]
        if kept:
            rec[name] = kept


def _index_value(rec: dict[str, Any], field: Field, value: Any, ignored: list[str]) -> None:
    """A value that needs converting or checking; a malformed one is skipped and named in
    `ignored` when the field has ignore_malformed, else the document is refused."""
    if field.kind == NONE:  # enabled: false: kept in _source only
        return
    try:
        converted = _typed(field, value)
    except ESError:
        if not field.ignore_malformed:
            raise
        ignored.append(field.path)
        return
    if converted is None or converted == []:
        return
    if field.nanos:
        rec[field.ns_name] = converted
        converted = (
            [nanos_to_ms(v) for v in converted]
            if isinstance(converted, list)
            else nanos_to_ms(converted)
        )
    rec[field.name] = converted


def _prune(obj: dict[str, Any], tree: PruneTree) -> None:
    """Drop what `dynamic: false` leaves unmapped (kept in _source, not indexed, as in ES)."""
    dynamic, children = tree
    for key in list(obj):
        if key not in children:
            if not dynamic:
                del obj[key]
            continue
        child = children[key]
        value = obj[key]
        if child is not None and type(value) is dict:
            obj[key] = dict(value)
            _prune(obj[key], child)


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
