"""Cluster, index administration, templates, data streams and security endpoints.

Root: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/rest-api-root.html
(cluster health and settings: api_cluster.py; _cat: api_cat.py)
"""

from __future__ import annotations

import fnmatch
import socket
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from . import api_aliases, cluster_settings, datemath, index_settings, indexopts
from .errors import ESError, index_not_found
from .http import Ctx, shards

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


async def put_index(ctx: Ctx) -> dict[str, Any]:
    name = datemath.index_name(ctx.request.path_params["index"])
    _state(ctx).security.require_index(ctx.user, "create_index", [name])
    body = await ctx.json()
    await run_in_threadpool(_state(ctx).store.create_index, name, body)
    return {"acknowledged": True, "shards_acknowledged": True, "index": name}


async def head_index(ctx: Ctx) -> Response:
    try:
        found = bool(indexopts.resolve(ctx, ctx.request.path_params["index"]))
    except ESError:
        found = False
    return Response(b"", 200 if found else 404, media_type="application/json")


def _concrete(ctx: Ctx, privilege: str, default_states: str = "open") -> list[Any]:
    """The indices the path names, with the request's expand_wildcards, ignore_unavailable and
    allow_no_indices; a closed index is answered (metadata APIs), not refused."""
    state = _state(ctx)
    path = ctx.request.path_params.get("index", "_all")
    indices = indexopts.resolve(ctx, path, default_states=default_states)
    state.security.require_index(ctx.user, privilege, [i.meta.name for i in indices])
    return list(indices)


async def get_index(ctx: Ctx) -> dict[str, Any]:
    out = {}
    for index in _concrete(ctx, "view_index_metadata"):
        out[index.meta.name] = {
            "aliases": _state(ctx).store.aliases.rendered(index.meta.name),
            "mappings": index.mapping(),
            **index_settings.render(
                index,
                flat=indexopts.flag(ctx, "flat_settings"),
                defaults=indexopts.flag(ctx, "include_defaults"),
            ),
        }
    return out


async def put_mapping(ctx: Ctx) -> dict[str, Any]:
    """https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-put-mapping.html"""
    indices = _concrete(ctx, "manage")
    body = await ctx.json(required=True)
    for index in indices:
        await run_in_threadpool(_state(ctx).store.put_mapping, index.meta.name, body)
    return {"acknowledged": True}


async def get_mapping(ctx: Ctx) -> dict[str, Any]:
    return {i.meta.name: {"mappings": i.mapping()} for i in _concrete(ctx, "view_index_metadata")}


async def delete_index(ctx: Ctx) -> dict[str, Any]:
    expr = ctx.request.path_params["index"]
    cluster_settings.refuse_wildcards(_state(ctx).store, expr)
    for index in api_aliases.deletable(ctx, expr):  # an alias's name: ES's error
        await run_in_threadpool(_state(ctx).store.delete_index, index.meta.name)
    return {"acknowledged": True}


async def refresh(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    expr = ctx.request.path_params.get("index") or "_all"  # `POST //_refresh`: every index
    indices = [
        i
        for i in indexopts.resolve(ctx, expr, forbid_closed=True)
        if state.security.allowed_index(ctx.user, "read", i.meta.name)
        or state.security.allowed_index(ctx.user, "write", i.meta.name)
    ]
    for index in indices:
        await run_in_threadpool(index.refresh)
    counts = [index_settings.shard_counts(i) for i in indices]
    total, started = sum(c[0] for c in counts), sum(c[1] for c in counts)
    # On one node an index's replicas are never started: ES counts them as not successful.
    return {"_shards": {"total": total, "successful": started, "failed": 0}}


# Index templates: templates.py; settings: index_settings.py; _close/_open: closing.py.


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
