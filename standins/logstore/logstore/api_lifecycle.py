"""ILM and SLM endpoints; snapshot endpoints live in api_snapshots.py.

ILM put: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-put-lifecycle.html
ILM get: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-get-lifecycle.html
ILM delete: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-delete-lifecycle.html
ILM explain: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-explain-lifecycle.html
SLM put: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-api-put-policy.html
SLM get: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-api-get-policy.html
SLM execute: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-api-execute-lifecycle.html
"""

from __future__ import annotations

import fnmatch
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from . import api_snapshots, lifecycle, slm
from .datemath import format_ms
from .errors import ESError
from .http import Ctx


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


def _require_any(ctx: Ctx, *privileges: str) -> None:
    security = _state(ctx).security
    for privilege in privileges[:-1]:
        try:
            security.require_cluster(ctx.user, privilege)
            return
        except ESError:
            continue
    security.require_cluster(ctx.user, privileges[-1])


# -- ILM ---------------------------------------------------------------------------------------


async def put_ilm(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "manage_ilm")
    name = ctx.request.path_params["name"]
    policy = lifecycle.validate_policy(name, await ctx.json(required=True))
    cluster = _state(ctx).store.state
    old = cluster.section("ilm").get(name)
    now = int(time.time() * 1000)
    entry = {
        "version": (old["version"] + 1) if old else 1,
        "modified_date_millis": now,
        "policy": policy,
    }
    cluster.put("ilm", name, entry)
    return {"acknowledged": True}


def _in_use(state: Any, name: str) -> dict[str, list[str]]:
    indices = sorted(
        n
        for n, i in state.store.indices.items()
        if i.meta.settings.get("index.lifecycle.name") == name
    )
    templates = sorted(
        t
        for t, body in state.store.state.section("templates").items()
        if _template_policy(body) == name
    )
    streams = sorted(
        {state.store.indices[i].meta.data_stream for i in indices} - {None},
    )
    return {"indices": indices, "data_streams": streams, "composable_templates": templates}


def _template_policy(body: dict[str, Any]) -> str | None:
    from .store import flat_settings

    settings = flat_settings(body.get("template", {}).get("settings", {}))
    return settings.get("index.lifecycle.name")


async def get_ilm(ctx: Ctx) -> dict[str, Any]:
    _require_any(ctx, "read_ilm", "manage_ilm")
    state = _state(ctx)
    wanted = ctx.request.path_params.get("name", "*")
    out = {}
    for name, entry in state.store.state.section("ilm").items():
        if any(fnmatch.fnmatchcase(name, w) for w in wanted.split(",")):
            out[name] = {
                "version": entry["version"],
                "modified_date": format_ms(entry["modified_date_millis"]),
                "policy": entry["policy"],
                "in_use_by": _in_use(state, name),
            }
    if not out and "*" not in wanted:
        raise ESError(404, "resource_not_found_exception", f"Lifecycle policy not found: {wanted}")
    return out


async def delete_ilm(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "manage_ilm")
    state = _state(ctx)
    name = ctx.request.path_params["name"]
    if name not in state.store.state.section("ilm"):
        raise ESError(404, "resource_not_found_exception", f"Lifecycle policy not found: {name}")
    used = _in_use(state, name)["indices"]
    if used:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Cannot delete policy [{name}]. It is in use by one or more indices: "
            f"[{', '.join(used)}]",
        )
    state.store.state.delete("ilm", name)
    return {"acknowledged": True}


def statuses(state: Any, indices: list[Any]) -> list[lifecycle.Status]:
    cluster = state.store.state
    created = {n: i.meta.creation_date for n, i in state.store.indices.items()}
    return [
        lifecycle.explain(
            i,
            cluster.section("ilm"),
            cluster.section("data_streams"),
            cluster.section("slm"),
            created,
        )
        for i in indices
    ]


async def explain_ilm(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    indices = state.store.resolve(ctx.request.path_params["index"])
    names = [i.meta.name for i in indices]
    if not all(state.security.allowed_index(ctx.user, "manage_ilm", n) for n in names):
        state.security.require_index(ctx.user, "view_index_metadata", names)
    found = await run_in_threadpool(statuses, state, indices)
    out = {s.explain["index"]: s.explain for s in found}
    if ctx.flag("only_managed") or ctx.flag("only_errors"):
        out = {k: v for k, v in out.items() if v["managed"]}
    if ctx.flag("only_errors"):
        out = {k: v for k, v in out.items() if v.get("step") == "ERROR"}
    return {"indices": out}


# -- SLM ---------------------------------------------------------------------------------------


async def put_slm(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "manage_slm")
    state = _state(ctx)
    name = ctx.request.path_params["name"]
    policy = slm.validate(name, await ctx.json(required=True))
    api_snapshots.repo_path(state, policy["repository"])
    old = state.store.state.section("slm").get(name) or {}
    entry = {
        **old,
        "version": old.get("version", 0) + 1,
        "modified_date_millis": int(time.time() * 1000),
        "policy": policy,
    }
    state.store.state.put("slm", name, entry)
    return {"acknowledged": True}


async def get_slm(ctx: Ctx) -> dict[str, Any]:
    _require_any(ctx, "read_slm", "manage_slm")
    wanted = ctx.request.path_params.get("name", "*")
    out = {
        name: slm.describe(name, entry, human=ctx.flag("human"))
        for name, entry in _state(ctx).store.state.section("slm").items()
        if any(fnmatch.fnmatchcase(name, w) for w in wanted.split(","))
    }
    if not out and "*" not in wanted:
        raise ESError(
            404,
            "resource_not_found_exception",
            f"snapshot lifecycle policy or policies [{wanted}] not found",
        )
    return out


async def delete_slm(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "manage_slm")
    name = ctx.request.path_params["name"]
    if not _state(ctx).store.state.delete("slm", name):
        raise ESError(
            404, "resource_not_found_exception", f"snapshot lifecycle policy not found: {name}"
        )
    return {"acknowledged": True}


async def execute_slm(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "manage_slm")
    name = ctx.request.path_params["name"]
    snap = await run_in_threadpool(slm.execute, _state(ctx), name)
    return {"snapshot_name": snap}


G, P, PU, D = "GET", "POST", "PUT", "DELETE"
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_ilm/policy", [G], get_ilm),
    ("/_ilm/policy/{name}", [PU], put_ilm),
    ("/_ilm/policy/{name}", [G], get_ilm),
    ("/_ilm/policy/{name}", [D], delete_ilm),
    ("/{index}/_ilm/explain", [G, P], explain_ilm),
    ("/_slm/policy", [G], get_slm),
    ("/_slm/policy/{name}", [PU], put_slm),
    ("/_slm/policy/{name}", [G], get_slm),
    ("/_slm/policy/{name}", [D], delete_slm),
    ("/_slm/policy/{name}/_execute", [PU, P], execute_slm),
    *api_snapshots.ROUTES,
]
