"""Dynamic mapping as Elasticsearch reports it, and the mapping GET _mapping answers.

An index's mapping is what was mapped explicitly (mapping_params.normalize) plus what its
documents introduced, mapped the way ES 8 maps new fields: a string is `text` with a
`keyword` multi-field (`ignore_above: 256`), or a `date` when it reads as one
(`date_detection`), an integer `long`, a fraction `float`, `true`/`false` `boolean`, an
object its `properties`; `dynamic_templates` apply by `match_mapping_type`, `match`, `unmatch`,
`path_match` and `path_unmatch`. logstore's own typed fields (the ECS fields the stack's
queries rely on, schema.ECS_FIELDS) are reported with their real type once a document has
them. A dynamically mapped field is not given a typed tantivy field (the schema is fixed at
creation): it is searched in the dynamic `doc` field (docs/logstore.md).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/dynamic-field-mapping.html
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from .datefmt import parse_format
from .errors import ESError
from .records import PruneTree
from .schema import KEYWORD, LONG, MULTI_FIELDS, TEXT, Field

_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
    r"|\d{4}/\d{2}/\d{2}(?: \d{2}:\d{2}:\d{2})?(?: [+-]\d{4})?"
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
# The shapes of documents that mapped nothing new, kept to skip their walk (a log source writes
# a handful); the set starts over when full.
SHAPES_KEPT = 4096
_SCALARS = frozenset({str, int, float, bool, type(None)})


class _Node:
    """An object of the mapping as the walker knows it: its `dynamic` and its children (a
    _Node for an object, None for a leaf field)."""

    __slots__ = ("children", "dynamic", "objects", "props")

    def __init__(self, dynamic: str, props: dict[str, Any]) -> None:
        self.dynamic = dynamic
        self.props = props  # the dynamic mapping's properties at this level (added to)
        self.children: dict[str, _Node | None] = {}
        self.objects: dict[str, _Node] = {}  # the children that are objects

    def put(self, key: str, child: _Node | None) -> None:
        self.children[key] = child
        if child is None:
            self.objects.pop(key, None)
        else:
            self.objects[key] = child


class DynamicMapper:
    """Notes the fields documents introduce, refuses them under `dynamic: strict`. Called by
    schema.RecordBuilder on what a document leaves untyped (`observe`: a walk that finds every
    key known in the common case) and for each of logstore's own typed fields a record first
    holds (`unseen`, `see`); `changed` tells the index to save its metadata."""

    def __init__(
        self, explicit: dict[str, Any], dynamic: dict[str, Any], fields: dict[str, Field]
    ) -> None:
        self.explicit = explicit
        self.dynamic = dynamic  # {"properties": {...}}: the part documents introduced
        self.fields = fields
        self.templates = [
            next(iter(t.items()))
            for t in explicit.get("dynamic_templates") or []
            if isinstance(t, dict) and len(t) == 1
        ]
        self.date_detection = explicit.get("date_detection", True) is not False
        formats = explicit.get("dynamic_date_formats")
        self.date_formats = (
            [parse_format(f, field="dynamic_date_formats") for f in formats]
            if isinstance(formats, list)
            else None
        )
        self.numeric_detection = explicit.get("numeric_detection", False) is True
        self.root = _Node(_dyn(explicit.get("dynamic")), dynamic.setdefault("properties", {}))
        _learn(self.root, explicit.get("properties", {}))
        _learn(self.root, self.dynamic["properties"])
        self.changed = False
        # Shapes (`shape_of`) whose walk mapped nothing, since the mapping last grew: a walk
        # depends only on the mapping and a document's shape, so theirs would map nothing again.
        self.mapped_nothing: set[Any] = set()
        # logstore's typed fields no document has shown yet: tantivy name -> path
        self.unseen = {
            f.name: f.path
            for f in fields.values()
            if f.copy_of is None and not f.meta and not self._known(f.path)
        }

    def observe(self, src: dict[str, Any]) -> None:
        # Only a document with dotted keys is worth a shape: the walk splits each such key into
        # objects, while walking a nested document costs about what its shape would.
        shape = shape_of(src) if "." in "".join(src) else None
        if shape is not None and shape in self.mapped_nothing:
            return
        if self._walk(src, self.root, ""):
            self.changed = True
            self.mapped_nothing.clear()
        elif shape is not None:
            if len(self.mapped_nothing) >= SHAPES_KEPT:
                self.mapped_nothing.clear()
            self.mapped_nothing.add(shape)

    def see(self, name: str) -> None:
        """A record holds logstore's typed field `name`: map it as what it is."""
        self.mapped_nothing.clear()  # the mapping may grow
        path = self.unseen.pop(name)
        node = self.root
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.objects.get(part)
            if child is None:
                if part in node.children:
                    return  # a leaf where the path needs an object: nothing to add
                spec: dict[str, Any] = {"properties": {}}
                node.props[part] = spec
                child = _Node(node.dynamic, spec["properties"])
                node.put(part, child)
            node = child
        if node.dynamic == "true" and parts[-1] not in node.children:
            node.props[parts[-1]] = _builtin(self.fields[path], self.fields)
            node.put(parts[-1], None)
            self.changed = True

    def _date_format(self, text: str) -> str | None:
        """None: not a date; "": ES's default date detection; else the matching format
        of `dynamic_date_formats` (ES maps the field with it)."""
        if self.date_formats is None:
            return "" if _DATE.fullmatch(text) else None
        for fmt in self.date_formats:
            try:
                fmt.nanos(text, "dynamic_date_formats")
            except ESError:
                continue
            return fmt.text
        return None

    def _known(self, path: str) -> bool:
        node: _Node | None = self.root
        for part in path.split("."):
            if node is None or part not in node.children:
                return False
            node = node.children[part]
        return True

    def _walk_value(self, value: Any, node: _Node, prefix: str) -> bool:
        """Walk a known object's value: an object, or each object of an array."""
        if type(value) is dict:
            return self._walk(value, node, prefix)
        changed = False
        if type(value) is list:
            for item in value:
                if type(item) is dict:
                    changed = self._walk(item, node, prefix) or changed
        return changed

    def _walk(self, obj: dict[str, Any], node: _Node, prefix: str) -> bool:
        changed = False
        children = node.children
        if children.keys() >= obj.keys():  # every key known (the common case): objects only
            objects = node.objects
            keys = objects if len(objects) < len(obj) else obj
            for key in keys:
                child = objects.get(key)
                value = obj.get(key)
                if child is None or value is None:
                    continue
                changed = self._walk_value(value, child, prefix + key + ".") or changed
            return changed
        for key, value in obj.items():
            if key in children:
                child = children[key]
                if child is None:
                    continue
                changed = self._walk_value(value, child, prefix + key + ".") or changed
                continue
            if "." in key and key.strip("."):
                head, _, tail = key.partition(".")
                changed = self._walk({head: {tail: value}}, node, prefix) or changed
                continue
            changed = self._add(node, key, value, prefix) or changed
        return changed

    def _add(self, node: _Node, key: str, value: Any, prefix: str) -> bool:
        if value is None or value == []:
            return False  # ES maps nothing for a null or an empty array
        path = prefix + key
        if node.dynamic == "strict":
            where = prefix[:-1] or "_doc"
            raise ESError(
                400,
                "strict_dynamic_mapping_exception",
                f"[1:2] mapping set to strict, dynamic introduction of [{key}] within "
                f"[{where}] is not allowed",
            )
        if node.dynamic == "false":
            return False
        first = value[0] if isinstance(value, list) else value
        if isinstance(first, list):
            first = next((v for v in first if v is not None), None)
        if isinstance(first, dict):
            spec: dict[str, Any] = {"properties": {}}
            node.props[key] = spec
            child = _Node(node.dynamic, spec["properties"])
            node.put(key, child)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    self._walk(item, child, path + ".")
            return True
        found = self._leaf(path, key, first)
        if found is None:
            return False
        node.props[key] = found
        node.put(key, None)
        return True

    def _leaf(self, path: str, key: str, value: Any) -> dict[str, Any] | None:
        typed = self.fields.get(path)
        if typed is not None and typed.copy_of is None:
            return _builtin(typed, self.fields)
        if isinstance(value, bool):
            kind = "boolean"
        elif isinstance(value, int):
            kind = "long"
        elif isinstance(value, float):
            kind = "double"
        elif isinstance(value, str):
            fmt = self._date_format(value) if self.date_detection else None
            if fmt:
                return {"type": "date", "format": fmt}
            if fmt is not None:
                kind = "date"
            elif self.numeric_detection and _NUMBER.fullmatch(value):
                kind = "long" if value.lstrip("-").isdigit() else "double"
            else:
                kind = "string"
        else:
            return None
        for _, template in self.templates:
            if _template_matches(template, kind, key, path):
                return _from_template(template.get("mapping", {}), key, kind)
        default: dict[str, Any] = _DEFAULTS[kind]()
        return default


def shape_of(obj: dict[str, Any]) -> Any:
    """What a walk of `obj` reads: its keys, the kinds of their values and, for each object
    and list among them in order, the object's own shape or the list's emptiness and first
    item's kind (what `_add` maps). None for a list holding objects or lists (such documents
    are always walked)."""
    kinds = tuple(map(type, obj.values()))
    if dict not in kinds and list not in kinds:
        return tuple(obj), kinds
    details: list[Any] = []
    for value in [v for v in obj.values() if type(v) is dict or type(v) is list]:
        if type(value) is dict:
            inner = shape_of(value)
            if inner is None:
                return None
            details.append(inner)
        else:
            items = tuple(map(type, value))
            if not _SCALARS.issuperset(items):
                return None
            details.append(items[:1])
    return tuple(obj), kinds, tuple(details)


_DEFAULTS: dict[str, Any] = {
    "boolean": lambda: {"type": "boolean"},
    "long": lambda: {"type": "long"},
    "double": lambda: {"type": "float"},  # ES maps a JSON fraction as float
    "date": lambda: {"type": "date"},
    "string": lambda: {
        "type": "text",
        "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
    },
}


def _template_matches(template: dict[str, Any], kind: str, key: str, path: str) -> bool:
    wanted = template.get("match_mapping_type", "*")
    if wanted not in ("*", kind) and not (wanted == "string" and kind == "string"):
        return False
    checks = [("match", key, True), ("unmatch", key, False)]
    checks += [("path_match", path, True), ("path_unmatch", path, False)]
    for name, subject, positive in checks:
        pattern = template.get(name)
        if pattern is None:
            continue
        patterns = pattern if isinstance(pattern, list) else [pattern]
        hit = any(fnmatch.fnmatchcase(subject, p) for p in patterns)
        if hit != positive:
            return False
    return True


def _from_template(mapping: dict[str, Any], key: str, kind: str) -> dict[str, Any]:
    es_kind = {"string": "text", "double": "float"}.get(kind, kind)
    out: dict[str, Any] = {}
    for name, value in mapping.items():
        if isinstance(value, str):
            value = value.replace("{name}", key).replace("{dynamic_type}", es_kind)
        out[name] = value
    out.setdefault("type", es_kind)
    return out


def _builtin(field: Field, fields: dict[str, Field]) -> dict[str, Any]:
    """One of logstore's typed fields, as GET _mapping reports it."""
    out: dict[str, Any] = {"type": "long" if field.kind == LONG else field.es_type or field.kind}
    subs = {
        f.path.removeprefix(field.path + "."): f
        for f in fields.values()
        if f.copy_of == field.path and f.path in MULTI_FIELDS
    }
    if subs:
        out["fields"] = {
            name: {"type": KEYWORD if sub.kind == KEYWORD else TEXT}
            | ({"ignore_above": sub.ignore_above} if sub.ignore_above is not None else {})
            for name, sub in subs.items()
        }
    return out


def _learn(node: _Node, props: Any) -> None:
    """The walker's view of a mapping's properties (objects with `enabled: false` and every
    leaf end the walk)."""
    if not isinstance(props, dict):
        return
    for key, spec in props.items():
        if not isinstance(spec, dict):
            continue
        if "properties" in spec and spec.get("enabled", True) is not False:
            child = node.children.get(key)
            if child is None:
                child = _Node(_dyn(spec.get("dynamic", node.dynamic)), _props_of(node, key))
                node.put(key, child)
            _learn(child, spec["properties"])
        elif spec.get("type", "object") == "object" and spec.get("enabled", True) is not False:
            node.put(key, _Node(_dyn(spec.get("dynamic", node.dynamic)), _props_of(node, key)))
        else:
            node.put(key, None)


def _dyn(value: Any) -> str:
    """`dynamic` as a string (a mapping stored by an older logstore may hold a boolean)."""
    return str(value).lower() if isinstance(value, bool | str) else "true"


def _props_of(node: _Node, key: str) -> dict[str, Any]:
    """Where fields new under `key` are noted in the dynamic mapping."""
    spec = node.props.get(key)
    if not isinstance(spec, dict) or "properties" not in spec:
        spec = node.props[key] = {"properties": {}}
    props: dict[str, Any] = spec["properties"]
    return props


def prune_tree(explicit: dict[str, Any]) -> PruneTree | None:
    """What RecordBuilder drops: None when every object is dynamic (the common case)."""
    text = repr(explicit)
    if not any(f"'dynamic': {v}" in text for v in ("'false'", "'strict'", "False")):
        return None
    return _tree(explicit.get("properties", {}), _dyn(explicit.get("dynamic")))


def _tree(props: dict[str, Any], dynamic: str) -> PruneTree:
    children: dict[str, Any] = {}
    for key, spec in props.items():
        if isinstance(spec, dict) and "properties" in spec:
            children[key] = _tree(spec["properties"], _dyn(spec.get("dynamic", dynamic)))
        else:
            children[key] = None
    return dynamic == "true", children


def render(explicit: dict[str, Any], dynamic: dict[str, Any]) -> dict[str, Any]:
    """GET _mapping's `mappings`: `{}` for an index nothing was mapped in."""
    out = {k: v for k, v in explicit.items() if k != "properties"}
    if "dynamic" in out:  # an index made by an older logstore may keep a boolean
        out["dynamic"] = _dyn(out["dynamic"])
    props = _merged(explicit.get("properties", {}), dynamic.get("properties", {}))
    if props:
        out["properties"] = props
    return out


def _merged(explicit: dict[str, Any], dynamic: dict[str, Any]) -> dict[str, Any]:
    out = dict(explicit)
    for key, spec in dynamic.items():
        mine = out.get(key)
        if mine is None:  # an object no field was seen in yet: ES names its type
            out[key] = {"type": "object"} if spec.get("properties") == {} else _sorted(spec)
        elif "properties" in spec and "properties" in mine:
            out[key] = {**mine, "properties": _merged(mine["properties"], spec["properties"])}
        elif "properties" in spec and mine.get("type") == "object" and spec["properties"]:
            rest = {k: v for k, v in mine.items() if k != "type"}
            out[key] = {**rest, "properties": _merged({}, spec["properties"])}
    return dict(sorted(out.items()))


def _sorted(spec: dict[str, Any]) -> dict[str, Any]:
    if "properties" in spec:
        return {**spec, "properties": _merged({}, spec["properties"])}
    return spec
