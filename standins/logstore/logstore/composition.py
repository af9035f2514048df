"""What a new index gets from the templates: its matching composable template with the
component templates it is composed of, else the legacy templates that match; then the create
request's own settings, mappings and aliases. Mappings merge as ES merges them.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/index-templates.html#multiple-component-templates
"""

from __future__ import annotations

import copy
import fnmatch
from typing import Any

from . import index_settings, legacy_templates


def patterns_of(template: dict[str, Any]) -> list[str]:
    """A stored template's patterns (one stored before logstore kept a list may be a string)."""
    patterns = template.get("index_patterns") or []
    return [patterns] if isinstance(patterns, str) else list(patterns)


def _expand_dots(props: dict[str, Any]) -> dict[str, Any]:
    """`{"a.b": spec}` as `{"a": {"properties": {"b": spec}}}`, as ES reads mappings."""
    out: dict[str, Any] = {}
    for key, spec in props.items():
        if isinstance(spec, dict) and isinstance(spec.get("properties"), dict):
            spec = {**spec, "properties": _expand_dots(spec["properties"])}
        parts = key.split(".")
        for part in reversed(parts[1:]):
            spec = {"properties": {part: spec}}
        out = _merge_properties(out, {parts[0]: spec})
    return out


def _is_object(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("type", "object") == "object"


def _merge_properties(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for name, spec in extra.items():
        old = out.get(name)
        merged = _is_object(old) and _is_object(spec)
        out[name] = merge_mappings(old, spec) if merged and isinstance(old, dict) else spec
    return out


def merge_mappings(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, as ES merges template mappings: objects field by field, a field
    defined again replaced whole, dynamic templates by name."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        old = out.get(key)
        if key == "properties" and isinstance(value, dict):
            out[key] = _merge_properties(_expand_dots(old or {}), _expand_dots(value))
        elif key == "dynamic_templates" and isinstance(value, list) and isinstance(old, list):
            named = {next(iter(d)): d for d in old if isinstance(d, dict) and d}
            named.update({next(iter(d)): d for d in value if isinstance(d, dict) and d})
            out[key] = list(named.values())
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = merge_mappings(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def composed(cluster: Any, template: dict[str, Any]) -> dict[str, Any]:
    """Component templates in `composed_of` order, then the index template's own."""
    components = cluster.section("component_templates")
    parts = [
        components[c]["template"] for c in template.get("composed_of") or [] if c in components
    ]
    parts.append(template.get("template") or {})
    settings: dict[str, Any] = {}
    mappings: dict[str, Any] = {}
    aliases: dict[str, Any] = {}
    for part in parts:
        settings.update(index_settings.normalize(part.get("settings") or {}))
        mappings = merge_mappings(mappings, part.get("mappings") or {})
        aliases.update(part.get("aliases") or {})
    return {"settings": settings, "mappings": mappings, "aliases": aliases}


def best_template(cluster: Any, name: str) -> dict[str, Any] | None:
    """The highest-priority composable template whose patterns match `name`."""
    best: dict[str, Any] | None = None
    for tmpl in cluster.section("templates").values():
        if any(fnmatch.fnmatchcase(name, p) for p in patterns_of(tmpl)) and (
            best is None or int(tmpl.get("priority") or 0) > int(best.get("priority") or 0)
        ):
            best = tmpl
    return best


def for_new_index(cluster: Any, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Settings (flat), mappings and aliases of a new index: its matching composable template
    (composed), else the legacy templates that match, then the request's own."""
    template = best_template(cluster, name)
    if template is not None:
        result = composed(cluster, template)
    else:
        result = legacy_templates.composed(cluster, name, merge_mappings)
    result["settings"].update(index_settings.normalize(body.get("settings") or {}))
    result["settings"] = {k: v for k, v in result["settings"].items() if v is not None}
    index_settings.check_values(result["settings"])
    result["mappings"] = merge_mappings(result["mappings"], body.get("mappings") or {})
    result["aliases"].update(body.get("aliases") or {})
    return result
