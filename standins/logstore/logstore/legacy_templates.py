"""Legacy index templates (`/_template`): deprecated in ES 7.8, still served by ES 8, used
by older shippers. A new index takes them only when no composable template matches, merged
by ascending `order` (the highest wins), as ES does.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-templates-v1.html
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from . import index_settings
from .errors import ESError
from .http import Ctx
from .schema import fields_from_mapping
from .template_patterns import names_matching, required_patterns

_KEYS = {"index_patterns", "order", "version", "settings", "mappings", "aliases"}
Merge = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


def _untyped(mappings: Any) -> dict[str, Any]:
    """7.x clients may still wrap mappings in `_doc`."""
    if (
        isinstance(mappings, dict)
        and list(mappings) == ["_doc"]
        and isinstance(mappings["_doc"], dict)
    ):
        return dict(mappings["_doc"])
    return dict(mappings or {})


async def put_template(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    name = ctx.request.path_params["name"]
    body = await ctx.json(required=True)
    for key in body:
        if key not in _KEYS:
            raise ESError(400, "parse_exception", f"unknown key [{key}] in the template ")
    patterns = required_patterns(body)
    section = state.store.state.section("legacy_templates")
    if name in section and ctx.param("create") in ("", "true"):
        raise ESError(400, "illegal_argument_exception", f"index_template [{name}] already exists")
    order = ctx.param("order", body.get("order", 0))
    try:
        order_n = int(order)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Failed to parse int parameter [order] with value [{order}]",
        ) from None
    settings = index_settings.normalize(body.get("settings") or {})
    index_settings.check_values(settings)
    mappings = _untyped(body.get("mappings"))
    fields_from_mapping(mappings)  # refused now, not at the first index creation
    stored: dict[str, Any] = {
        "order": order_n,
        "index_patterns": [str(p) for p in patterns],
        "settings": {k: v for k, v in settings.items() if v is not None},
        "mappings": mappings,
        "aliases": body.get("aliases") or {},
    }
    if "version" in body:
        stored["version"] = body["version"]
    state.store.state.put("legacy_templates", name, stored)
    return {"acknowledged": True}


async def get_template(ctx: Ctx) -> Any:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    wanted = ctx.request.path_params.get("name", "*")
    section = state.store.state.section("legacy_templates")
    names = names_matching(section, wanted)
    # ES: 404 (with `{}`) when names were given and none matched, wildcards or not.
    status = 404 if not names and "name" in ctx.request.path_params else 200
    if ctx.request.method == "HEAD":
        return Response(b"", status)
    flat = ctx.param("flat_settings") in ("", "true")
    out = {}
    for name in names:
        t = dict(section[name])
        t["settings"] = t["settings"] if flat else index_settings.nest(t["settings"])
        out[name] = t
    return status, out  # ES answers a missing name with 404 and `{}`


async def delete_template(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    state.security.require_cluster(ctx.user, "manage_index_templates")
    wanted = ctx.request.path_params["name"]
    section = state.store.state.section("legacy_templates")
    names = names_matching(section, wanted)
    if not names:
        raise ESError(404, "index_template_missing_exception", f"index_template [{wanted}] missing")
    for name in names:
        state.store.state.delete("legacy_templates", name)
    return {"acknowledged": True}


def composed(cluster: Any, name: str, merge: Merge) -> dict[str, Any]:
    matching = sorted(
        (t for t in cluster.section("legacy_templates").values()
         if any(fnmatch.fnmatchcase(name, p) for p in t["index_patterns"])),
        key=lambda t: int(t.get("order", 0)),
    )  # fmt: skip
    settings: dict[str, Any] = {}
    mappings: dict[str, Any] = {}
    aliases: dict[str, Any] = {}
    for t in matching:
        settings.update(t.get("settings") or {})
        mappings = merge(mappings, t.get("mappings") or {})
        aliases.update(t.get("aliases") or {})
    return {"settings": settings, "mappings": mappings, "aliases": aliases}


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_template", ["GET"], get_template),
    ("/_template/{name}", ["PUT", "POST"], put_template),
    ("/_template/{name}", ["GET", "HEAD"], get_template),
    ("/_template/{name}", ["DELETE"], delete_template),
]
