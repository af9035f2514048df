"""Cluster, index administration, templates, data streams and security endpoints.

Root: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/rest-api-root.html
Health: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cluster-health.html
cat indices: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cat-indices.html
"""

from __future__ import annotations

import fnmatch
import socket
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from . import datemath
from .engine import check_settings
from .errors import ESError, index_not_found
from .http import Ctx, shards
from .schema import mapping_json
from .store import flat_settings

VERSION = "8.15.0"


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


async def root(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    return {
        "name": socket.gethostname(),
        "cluster_name": "logstore",
        "cluster_uuid": _state(ctx).cluster_uuid,
        "version": {
            "number": VERSION,
            "build_flavor": "default",
            "build_type": "tar",
            "build_hash": "logstore",
            "build_date": "2024-08-05T10:05:34.233336849Z",
            "build_snapshot": False,
            "lucene_version": "9.11.1",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    }


def _health(ctx: Ctx) -> dict[str, Any]:
    n = len(_state(ctx).store.indices)
    return {
        "cluster_name": "logstore",
        "status": "green",
        "timed_out": False,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": n,
        "active_shards": n,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0,
    }


async def cluster_health(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    health = _health(ctx)
    level = ctx.param("level", "cluster")
    if level not in ("cluster", "indices", "shards"):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"level must be one of [cluster, indices, shards], got [{level}]",
        )
    if level != "cluster":  # one primary shard per index, no replica: all green
        wanted = ctx.request.path_params.get("index", "_all")
        health["indices"] = {
            i.meta.name: _index_health(level) for i in _state(ctx).store.resolve(wanted)
        }
    return health


def _index_health(level: str) -> dict[str, Any]:
    shard = {"status": "green", "primary_active": True, "active_shards": 1}
    shard |= {"relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0}
    out: dict[str, Any] = {
        "status": "green",
        "number_of_shards": 1,
        "number_of_replicas": 0,
        "active_primary_shards": 1,
        "active_shards": 1,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
    }
    if level == "shards":
        out["shards"] = {"0": shard}
    return out


async def cat_health(ctx: Ctx) -> Any:
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    h = _health(ctx)
    now = int(time.time())
    row = {
        "epoch": str(now),
        "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)),
        "cluster": "logstore",
        "status": "green",
        "node.total": "1",
        "node.data": "1",
        "shards": str(h["active_shards"]),
        "pri": str(h["active_primary_shards"]),
        "relo": "0",
        "init": "0",
        "unassign": "0",
        "pending_tasks": "0",
        "max_task_wait_time": "-",
        "active_shards_percent": "100.0%",
    }
    return _cat_answer(ctx, [row], list(row))


def _human(n: int) -> str:
    for unit in ("b", "kb", "mb", "gb"):
        if n < 1024 or unit == "gb":
            return f"{n}{unit}" if unit == "b" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


async def cat_indices(ctx: Ctx) -> Any:
    state = _state(ctx)
    expr = ctx.request.path_params.get("index", "_all")
    indices = [
        i
        for i in state.store.resolve(expr)
        if state.security.allowed_index(ctx.user, "monitor", i.meta.name)
        or state.security.allowed_index(ctx.user, "read", i.meta.name)
    ]
    health = ctx.param("health")
    if health is not None and health not in ("green", "yellow", "red"):
        raise ESError(
            400, "illegal_argument_exception", f"[health] must be green, yellow or red: [{health}]"
        )
    if health in ("yellow", "red"):  # every logstore index is green: one node, no replicas
        indices = []
    rows = []
    for index in sorted(indices, key=lambda i: i.meta.name):
        size = _human(await run_in_threadpool(index.size_bytes))
        rows.append(
            {
                "health": "green",
                "status": "open",
                "index": index.meta.name,
                "uuid": index.meta.uuid,
                "pri": "1",
                "rep": "0",
                "docs.count": str(index.doc_count()),
                "docs.deleted": "0",
                "store.size": size,
                "pri.store.size": size,
                "dataset.size": size,
            }
        )
    return _cat_answer(ctx, rows, list(_CAT_INDICES_COLUMNS))


_CAT_INDICES_COLUMNS = [
    "health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted",
    "store.size", "pri.store.size", "dataset.size",
]  # fmt: skip


def _cat_answer(ctx: Ctx, rows: list[dict[str, str]], columns: list[str]) -> Any:
    """A _cat table as ES answers it: `h` picks and orders the columns (unknown ones are an
    error, as in ES), `v` adds the header line, `format=json` gives objects."""
    wanted = [c.strip() for c in (ctx.param("h") or "").split(",") if c.strip()] or columns
    unknown = [c for c in wanted if c not in columns]
    if unknown:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Unable to find column [{unknown[0]}]; the columns are {columns}",
        )
    picked = [{c: r[c] for c in wanted} for r in rows]
    if ctx.param("format") == "json":
        return picked
    lines = [wanted] if ctx.flag("v") else []
    lines += [[r[c] for c in wanted] for r in picked]
    return "".join(" ".join(line) + "\n" for line in lines)


async def put_index(ctx: Ctx) -> dict[str, Any]:
    name = datemath.index_name(ctx.request.path_params["index"])
    _state(ctx).security.require_index(ctx.user, "create_index", [name])
    body = await ctx.json()
    await run_in_threadpool(_state(ctx).store.create_index, name, body)
    return {"acknowledged": True, "shards_acknowledged": True, "index": name}


async def head_index(ctx: Ctx) -> Response:
    store = _state(ctx).store
    try:
        found = bool(store.resolve(ctx.request.path_params["index"], allow_no_indices=False))
    except ESError:
        found = False
    return Response(b"", 200 if found else 404, media_type="application/json")


def _concrete(ctx: Ctx, privilege: str) -> list[Any]:
    state = _state(ctx)
    indices = state.store.resolve(ctx.request.path_params.get("index", "_all"))
    state.security.require_index(ctx.user, privilege, [i.meta.name for i in indices])
    return list(indices)


async def get_index(ctx: Ctx) -> dict[str, Any]:
    out = {}
    for index in _concrete(ctx, "view_index_metadata"):
        out[index.meta.name] = {
            "aliases": {},
            "mappings": mapping_json(index.fields),
            "settings": _settings(index, flat=ctx.flag("flat_settings")),
        }
    return out


def _settings(index: Any, *, flat: bool = False, names: str | None = None) -> dict[str, Any]:
    """The index's settings, nested as ES answers them, or flat (`flat_settings`); `names`:
    the comma-separated keys or patterns of GET /{index}/_settings/{name}."""
    nested: dict[str, Any] = {}
    base = {
        "index.number_of_shards": "1",
        "index.number_of_replicas": "0",
        "index.uuid": index.meta.uuid,
        "index.creation_date": str(index.meta.creation_date),
        "index.provided_name": index.meta.name,
        "index.refresh_interval": "1s",
        **index.meta.settings,
    }
    if names is not None:
        patterns = names.split(",")
        base = {k: v for k, v in base.items() if any(fnmatch.fnmatchcase(k, p) for p in patterns)}
    if flat:
        return base
    for key, value in base.items():
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


async def put_mapping(ctx: Ctx) -> dict[str, Any]:
    """https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-put-mapping.html"""
    indices = _concrete(ctx, "manage")
    body = await ctx.json(required=True)
    for index in indices:
        await run_in_threadpool(_state(ctx).store.put_mapping, index.meta.name, body)
    return {"acknowledged": True}


async def get_mapping(ctx: Ctx) -> dict[str, Any]:
    return {
        i.meta.name: {"mappings": mapping_json(i.fields)}
        for i in _concrete(ctx, "view_index_metadata")
    }


async def get_settings(ctx: Ctx) -> dict[str, Any]:
    flat, names = ctx.flag("flat_settings"), ctx.request.path_params.get("name")
    return {
        i.meta.name: {"settings": _settings(i, flat=flat, names=names)}
        for i in _concrete(ctx, "view_index_metadata")
    }


async def put_settings(ctx: Ctx) -> dict[str, Any]:
    body = await ctx.json(required=True)
    changes = flat_settings(
        body.get("settings", body) if isinstance(body.get("settings", body), dict) else {}
    )
    allowed = (
        "index.refresh_interval",
        "index.search.idle.after",
        "index.translog.flush_threshold_size",
        "index.lifecycle.",
        "index.number_of_replicas",
        "index.blocks.",
    )
    for key in changes:
        if not key.startswith(allowed):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"setting [{key}] cannot be updated on an open index in logstore",
            )
    check_settings(changes)
    for index in _concrete(ctx, "manage"):
        index.meta.settings.update(changes)
        _state(ctx).store.save_meta(index)
    return {"acknowledged": True}


async def delete_index(ctx: Ctx) -> dict[str, Any]:
    expr = ctx.request.path_params["index"]
    if "*" in expr or expr == "_all":
        raise ESError(
            400,
            "illegal_argument_exception",
            "Wildcard expressions or all indices are not allowed "
            "(action.destructive_requires_name)",
        )
    for index in _concrete(ctx, "manage"):
        await run_in_threadpool(_state(ctx).store.delete_index, index.meta.name)
    return {"acknowledged": True}


async def refresh(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    expr = ctx.request.path_params.get("index", "_all")
    indices = [
        i
        for i in state.store.resolve(expr)
        if state.security.allowed_index(ctx.user, "read", i.meta.name)
        or state.security.allowed_index(ctx.user, "write", i.meta.name)
    ]
    for index in indices:
        await run_in_threadpool(index.refresh)
    return {"_shards": {"total": len(indices), "successful": len(indices), "failed": 0}}


# -- index templates: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/index-templates.html


async def put_template(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "manage_index_templates")
    body = await ctx.json(required=True)
    if not body.get("index_patterns"):
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: index patterns are missing;",
        )
    from .schema import fields_from_mapping

    fields_from_mapping(
        body.get("template", {}).get("mappings", {})
    )  # validate now, not at first write
    _state(ctx).store.state.put("templates", ctx.request.path_params["name"], body)
    return {"acknowledged": True}


async def get_template(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    _state(ctx).security.require_cluster(ctx.user, "manage_index_templates")
    wanted = ctx.request.path_params.get("name", "*")
    found = [
        {"name": n, "index_template": t}
        for n, t in _state(ctx).store.state.section("templates").items()
        if any(fnmatch.fnmatchcase(n, w) for w in wanted.split(","))
    ]
    if not found and "*" not in wanted:
        raise ESError(
            404, "resource_not_found_exception", f"index template matching [{wanted}] not found"
        )
    return 200, {"index_templates": found}


async def delete_template(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "manage_index_templates")
    names = ctx.request.path_params["name"].split(",")
    store = _state(ctx).store
    missing = [n for n in names if n not in store.state.section("templates")]
    if missing:  # checked first: a list with a missing name deletes nothing, as in ES
        raise ESError(404, "resource_not_found_exception", f"index_template [{missing[0]}] missing")
    for name in names:
        store.state.delete("templates", name)
    return {"acknowledged": True}


# -- data streams: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/data-streams.html


async def put_data_stream(ctx: Ctx) -> dict[str, Any]:
    name = ctx.request.path_params["name"]
    _state(ctx).security.require_index(ctx.user, "create_index", [name])
    await run_in_threadpool(_state(ctx).store.create_data_stream, name)
    return {"acknowledged": True}


async def get_data_stream(ctx: Ctx) -> dict[str, Any]:
    store = _state(ctx).store
    wanted = ctx.request.path_params.get("name", "*")
    out = []
    for name, info in store.state.section("data_streams").items():
        if not any(fnmatch.fnmatchcase(name, w) for w in wanted.split(",")):
            continue
        if not _state(ctx).security.allowed_index(ctx.user, "view_index_metadata", name):
            continue
        backing = [
            {"index_name": b, "index_uuid": store.indices[b].meta.uuid}
            for b in info["indices"]
            if b in store.indices
        ]
        tmpl = store.state.section("templates").get(info.get("template", ""), {})
        entry = {
            "name": name,
            "timestamp_field": {"name": "@timestamp"},
            "indices": backing,
            "generation": info["generation"],
            "status": "GREEN",
            "template": info.get("template", ""),
            "hidden": False,
            "system": False,
            "allow_custom_routing": False,
            "replicated": False,
        }
        policy = tmpl.get("template", {}).get("settings", {}).get("index.lifecycle.name")
        if policy:
            entry["ilm_policy"] = policy
        out.append(entry)
    if not out and "*" not in wanted:
        raise index_not_found(wanted)
    return {"data_streams": out}


async def metrics(ctx: Ctx) -> Response:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "monitor")
    text = await run_in_threadpool(state.metrics.render, state.store)
    return Response(text, 200, media_type="text/plain; version=0.0.4; charset=utf-8")


__all__ = ["shards"]


# Elasticsearch's free "basic" license, which is what logstore's features amount to: clients
# (Kibana, Logstash's monitoring, Beats) read these two before anything else.
_LICENSE_ISSUED = "2024-08-05T00:00:00.000Z"
_LICENSE_ISSUED_MS = 1722816000000
# What `_xpack` says logstore has (the rest answers as ES's basic license leaves it off).
_FEATURES = {"ilm": True, "security": True, "slm": True}
_ABSENT = ("ml", "watcher", "graph", "monitoring", "ccr", "transform", "rollup", "enrich")


def _license_uid(ctx: Ctx) -> str:
    return f"logstore-{_state(ctx).cluster_uuid}"


async def get_license(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    return {
        "license": {
            "status": "active",
            "uid": _license_uid(ctx),
            "type": "basic",
            "issue_date": _LICENSE_ISSUED,
            "issue_date_in_millis": _LICENSE_ISSUED_MS,
            "max_nodes": 1000,
            "max_resource_units": None,
            "issued_to": "logstore",
            "issuer": "elasticsearch",
            "start_date_in_millis": -1,
        }
    }


async def get_xpack(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    features = {name: {"available": True, "enabled": True} for name in _FEATURES}
    features.update({name: {"available": False, "enabled": False} for name in _ABSENT})
    return {
        "build": {"hash": "logstore", "date": "2024-08-05T10:05:34.233336849Z"},
        "license": {
            "uid": _license_uid(ctx),
            "type": "basic",
            "mode": "basic",
            "status": "active",
        },
        "features": features,
        "tagline": "You know, for X",
    }


async def nodes(ctx: Ctx) -> dict[str, Any]:
    """The one node, as GET /_nodes describes it: what clients read first (its version, its
    roles, its HTTP address). Other metrics are answered as ES answers an empty section."""
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    host, port = ctx.request.url.hostname or "127.0.0.1", ctx.request.url.port or 9200
    address = f"{host}:{port}"
    node = {
        "name": socket.gethostname(),
        "transport_address": address,
        "host": host,
        "ip": host,
        "version": VERSION,
        "build_flavor": "default",
        "build_type": "tar",
        "build_hash": "logstore",
        "roles": ["data", "ingest", "master"],
        "attributes": {},
        "http": {"bound_address": [address], "publish_address": address},
    }
    return {
        "_nodes": {"total": 1, "successful": 1, "failed": 0},
        "cluster_name": "logstore",
        "nodes": {_state(ctx).cluster_uuid: node},
    }
