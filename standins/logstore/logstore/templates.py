"""Composable index templates, component templates, and what a new index gets from them.

Index templates: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/index-templates.html
Put: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-put-template.html
Component: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-component-template.html

Stored as ES keeps them: `index_patterns` a list, `template.settings` flat and as strings
(given back nested, or flat with `flat_settings`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from starlette.responses import Response

from . import index_settings, legacy_templates
from .composition import composed, merge_mappings, patterns_of
from .errors import ESError
from .http import Ctx
from .schema import fields_from_mapping
from .template_patterns import names_matching, required_patterns

_INDEX_TEMPLATE_KEYS = {
    "index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream",
    "allow_auto_create", "ignore_missing_component_templates", "deprecated",
}  # fmt: skip
_COMPONENT_KEYS = {"template", "version", "_meta", "deprecated"}
_TEMPLATE_KEYS = {"settings", "mappings", "aliases", "lifecycle"}


def _unknown(kind: str, key: str) -> ESError:
    return ESError(400, "x_content_parse_exception", f"[{kind}] unknown field [{key}]")


def _normal_template(kind: str, given: Any) -> dict[str, Any]:
    """The `template` object: settings flat (validated), mappings checked now, not at the
    first index creation."""
    if not isinstance(given, dict):
        raise ESError(
            400, "x_content_parse_exception", f"[{kind}] failed to parse field [template]"
        )
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in _TEMPLATE_KEYS:
            raise _unknown("template", key)
        if key == "lifecycle":
            raise ESError(
                400,
                "illegal_argument_exception",
                "[template.lifecycle (data stream lifecycle)] is not supported by logstore (a "
                "single-node stand-in); see docs/logstore.md",
            )
        out[key] = value
    if "settings" in out:
        settings = index_settings.normalize(out["settings"] or {})
        index_settings.check_values(settings)
        out["settings"] = {k: v for k, v in settings.items() if v is not None}
    if "mappings" in out:
        fields_from_mapping(merge_mappings({}, out["mappings"] or {}))
    if isinstance(out.get("aliases"), dict):
        out["aliases"] = {a: _normal_alias(spec) for a, spec in out["aliases"].items()}
    return out


def _normal_alias(spec: Any) -> Any:
    """ES keeps an alias's `routing` as both `index_routing` and `search_routing`."""
    if not isinstance(spec, dict) or "routing" not in spec:
        return spec
    out = {k: v for k, v in spec.items() if k != "routing"}
    out.setdefault("index_routing", spec["routing"])
    out.setdefault("search_routing", spec["routing"])
    return out


def _rendered_template(stored: dict[str, Any], flat: bool) -> dict[str, Any]:
    out = dict(stored)
    if "settings" in out:
        settings = index_settings.normalize(out["settings"])  # older stored forms too
        out["settings"] = settings if flat else index_settings.nest(settings)
    return out


# -- composable index templates -------------------------------------------------------------


def _patterns_overlap(a: str, b: str) -> bool:
    """Whether some index name matches both wildcard patterns."""

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return meet(i + 1, j) or (j < len(b) and meet(i, j + 1))
        if j < len(b) and b[j] == "*":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        return i < len(a) and j < len(b) and a[i] == b[j] and meet(i + 1, j + 1)

    return meet(0, 0)


def _java_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


async def put_index_template(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    name = ctx.request.path_params["name"]
    body = await ctx.json(required=True)
    for key in body:
        if key not in _INDEX_TEMPLATE_KEYS:
            raise _unknown("index_template", key)
    patterns = required_patterns(body)
    stored: dict[str, Any] = {**body, "index_patterns": [str(p) for p in patterns]}
    composed_of = body.get("composed_of") or []
    if not isinstance(composed_of, list) or not all(isinstance(c, str) for c in composed_of):
        raise ESError(
            400, "x_content_parse_exception", "[index_template] failed to parse field [composed_of]"
        )
    stored["composed_of"] = composed_of
    if "template" in body:
        stored["template"] = _normal_template("index_template", body["template"])
    templates = state.store.state.section("templates")
    if name in templates and _flag(ctx, "create"):
        raise ESError(400, "illegal_argument_exception", f"index template [{name}] already exists")
    components = state.store.state.section("component_templates")
    optional = body.get("ignore_missing_component_templates") or []
    missing = [c for c in composed_of if c not in components and c not in optional]
    if body.get("allow_auto_create") is False:
        raise ESError(
            400,
            "illegal_argument_exception",
            "[allow_auto_create: false] is not supported by logstore (a single-node stand-in): it "
            "always creates a missing index on a write; see docs/logstore.md",
        )
    if missing:
        reason = f"index template [{name}] specifies component templates {_java_list(missing)} "
        raise ESError(
            400,
            "invalid_index_template_exception",
            f"index_template [{name}] invalid, cause [{reason}that do not exist]",
            name=name,
        )
    priority = _priority(body.get("priority"))
    if "priority" in body:
        stored["priority"] = priority  # ES keeps a number, whatever JSON type it was sent as
    clashes = {
        other: patterns_of(t)
        for other, t in templates.items()
        if other != name
        and _priority(t.get("priority")) == priority
        and any(_patterns_overlap(p, q) for p in stored["index_patterns"] for q in patterns_of(t))
    }
    if clashes:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"index template [{name}] has index patterns {_java_list(stored['index_patterns'])} "
            f"matching patterns from existing templates [{','.join(clashes)}] with patterns "
            f"({','.join(f'{n} => {_java_list(p)}' for n, p in clashes.items())}) that have the "
            f"same priority [{priority}], multiple index templates may not match during index "
            "creation, please use a different priority",
        )
    # The composed result must make a valid mapping, as ES checks at PUT time.
    fields_from_mapping(composed(state.store.state, stored)["mappings"])
    state.store.state.put("templates", name, stored)
    return {"acknowledged": True}


def _priority(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise ESError(
            400, "x_content_parse_exception", "[index_template] failed to parse field [priority]"
        ) from None


def _flag(ctx: Ctx, name: str) -> bool:
    value = ctx.param(name)
    return value is not None and value in ("", "true")


def _to_delete(ctx: Ctx, section: dict[str, Any], missing: Callable[[str], str]) -> list[str]:
    """The names a DELETE's comma-separated parts match; a part without a wildcard that names
    nothing is a 404 (reason `missing(part)`), checked first: nothing deleted, as in ES."""
    names: list[str] = []
    for part in ctx.request.path_params["name"].split(","):
        found = names_matching(section, part)
        if not found and "*" not in part:
            raise ESError(404, "resource_not_found_exception", missing(part))
        names += found
    return names


async def get_index_template(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    wanted = ctx.request.path_params.get("name", "*")
    templates = state.store.state.section("templates")
    names = names_matching(templates, wanted)
    if not names and "*" not in wanted:
        raise ESError(
            404, "resource_not_found_exception", f"index template matching [{wanted}] not found"
        )
    flat = _flag(ctx, "flat_settings")
    out = []
    for name in names:
        t = dict(templates[name])
        t["index_patterns"] = patterns_of(t)
        t.setdefault("composed_of", [])
        if "template" in t:
            t["template"] = _rendered_template(t["template"], flat)
        out.append({"name": name, "index_template": t})
    return {"index_templates": out}


async def delete_index_template(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    templates = state.store.state.section("templates")
    names = _to_delete(ctx, templates, lambda part: f"index_template [{part}] missing")
    streams = state.store.state.section("data_streams")
    using = sorted(s for s, info in streams.items() if info.get("template") in names)
    if using:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"unable to remove composable templates {_java_list(names)} as they are in use by a "
            f"data streams {_java_list(using)}",
        )
    for name in names:
        state.store.state.delete("templates", name)
    return {"acknowledged": True}


# -- component templates ---------------------------------------------------------------------


async def put_component_template(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    name = ctx.request.path_params["name"]
    body = await ctx.json(required=True)
    for key in body:
        if key not in _COMPONENT_KEYS:
            raise _unknown("component_template", key)
    if "template" not in body:
        raise ESError(400, "illegal_argument_exception", "Required [template]")
    components = state.store.state.section("component_templates")
    if name in components and _flag(ctx, "create"):
        raise ESError(
            400, "illegal_argument_exception", f"component template [{name}] already exists"
        )
    stored = {**body, "template": _normal_template("component_template", body["template"])}
    state.store.state.put("component_templates", name, stored)
    return {"acknowledged": True}


async def get_component_template(ctx: Ctx) -> Any:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    wanted = ctx.request.path_params.get("name", "*")
    components = state.store.state.section("component_templates")
    names = names_matching(components, wanted)
    if not names and "*" not in wanted:
        if ctx.request.method == "HEAD":
            return Response(b"", 404)
        raise ESError(
            404, "resource_not_found_exception", f"component template matching [{wanted}] not found"
        )
    if ctx.request.method == "HEAD":
        return Response(b"", 200)
    flat = _flag(ctx, "flat_settings")
    out = []
    for name in names:
        c = dict(components[name])
        c["template"] = _rendered_template(c["template"], flat)
        out.append({"name": name, "component_template": c})
    return {"component_templates": out}


async def delete_component_template(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    components = state.store.state.section("component_templates")
    names = _to_delete(ctx, components, lambda part: part)
    users = {
        t: [c for c in body.get("composed_of") or [] if c in names]
        for t, body in state.store.state.section("templates").items()
    }
    users = {t: used for t, used in users.items() if used}
    if users:
        used = sorted({c for cs in users.values() for c in cs})
        raise ESError(
            400,
            "illegal_argument_exception",
            f"component templates {_java_list(used)} cannot be removed as they are still in use "
            f"by index templates {_java_list(sorted(users))}",
        )
    for name in names:
        state.store.state.delete("component_templates", name)
    return {"acknowledged": True}


_G, _P, _PU, _D, _H = "GET", "POST", "PUT", "DELETE", "HEAD"
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_index_template", [_G], get_index_template),
    ("/_index_template/{name}", [_PU, _P], put_index_template),
    ("/_index_template/{name}", [_G], get_index_template),
    ("/_index_template/{name}", [_D], delete_index_template),
    ("/_component_template", [_G], get_component_template),
    ("/_component_template/{name}", [_PU, _P], put_component_template),
    ("/_component_template/{name}", [_G, _H], get_component_template),
    ("/_component_template/{name}", [_D], delete_component_template),
    *legacy_templates.ROUTES,
]
