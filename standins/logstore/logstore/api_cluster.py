"""`_cluster/health` and `_cluster/settings`.

Health: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cluster-health.html
Settings: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cluster-update-settings.html

One node holds every primary shard: an index is green, or yellow when it asks for replicas
(`index.number_of_replicas` > 0), which a single node never assigns. A closed index counts as
an open one (ES replicates closed indices since 7.2).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from . import cluster_settings, indexopts
from .datemath import parse_interval_ms
from .errors import ESError
from .http import Ctx

_RANK = {"green": 0, "yellow": 1, "red": 2}
_PRIORITIES = ("immediate", "urgent", "high", "normal", "low", "languid")
_NODES = re.compile(r"(>=|<=|>|<|ge\(|le\(|gt\(|lt\()?(\d+)\)?")


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


def shard_counts(index: Any) -> tuple[int, int]:
    """(primary shards, replicas per primary) as the index's settings ask."""
    settings = index.meta.settings
    shards = int(settings.get("index.number_of_shards", "1") or 1)
    replicas = int(settings.get("index.number_of_replicas", "0") or 0)
    expand = settings.get("index.auto_expand_replicas", "false")
    if expand not in ("false", ""):  # "0-1", "0-all": the low bound is all one node gets
        replicas = int(expand.split("-")[0] or 0)
    return shards, replicas


def index_health(index: Any, level: str = "indices") -> dict[str, Any]:
    shards, replicas = shard_counts(index)
    status = "yellow" if replicas else "green"
    out: dict[str, Any] = {
        "status": status,
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "active_primary_shards": shards,
        "active_shards": shards,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": shards * replicas,
    }
    if level == "shards":
        one = {"status": status, "primary_active": True, "active_shards": 1}
        one |= {"relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": replicas}
        out["shards"] = {str(n): dict(one) for n in range(shards)}
    return out


def health(indices: list[Any], *, missing: bool = False) -> dict[str, Any]:
    """The cluster's health over `indices`; `missing`: a named index does not exist (red)."""
    per = [index_health(i) for i in indices]
    active = sum(h["active_shards"] for h in per)
    unassigned = sum(h["unassigned_shards"] for h in per)
    status = max((h["status"] for h in per), key=_RANK.__getitem__, default="green")
    total = active + unassigned
    return {
        "cluster_name": "logstore",
        "status": "red" if missing else status,
        "timed_out": False,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": sum(h["active_primary_shards"] for h in per),
        "active_shards": active,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": unassigned,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0 if total == 0 else 100.0 * active / total,
    }


def _select(ctx: Ctx) -> tuple[list[Any], bool]:
    """The indices the request names (every index, hidden and closed ones too, by default, as
    ES's cluster health), and whether one it names by name is missing."""
    expr = ctx.request.path_params.get("index", "_all")
    try:
        found = indexopts.resolve(ctx, expr, default_states="all", forbid_closed=False)
    except ESError as exc:
        if exc.type != "index_not_found_exception":
            raise
        return [], True
    return found, False


def _nodes_ok(spec: str) -> bool:
    match = _NODES.fullmatch(spec.strip())
    if match is None:
        raise ESError(
            400, "illegal_argument_exception", f"cannot parse wait_for_nodes value [{spec}]"
        )
    op, wanted = (match.group(1) or "").rstrip("("), int(match.group(2))
    nodes = 1
    checks = {"": nodes == wanted, ">=": nodes >= wanted, "<=": nodes <= wanted}
    checks |= {">": nodes > wanted, "<": nodes < wanted}
    aliases = {"ge": ">=", "le": "<=", "gt": ">", "lt": "<"}
    return checks[aliases.get(op, op)]


def _conditions_met(ctx: Ctx, body: dict[str, Any], missing: bool) -> bool:
    wanted = ctx.param("wait_for_status")
    if wanted and _RANK[body["status"]] > _RANK[wanted]:
        return False
    nodes = ctx.param("wait_for_nodes")
    if nodes and not _nodes_ok(nodes):
        return False
    shards = ctx.param("wait_for_active_shards")
    if shards and shards != "0":
        total = body["active_shards"] + body["unassigned_shards"]
        need = total if shards == "all" else int(shards)
        if body["active_shards"] < need:
            return False
    return not missing


def _check_params(ctx: Ctx) -> None:
    level = ctx.param("level", "cluster")
    if level not in ("cluster", "indices", "shards"):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"level must be one of [cluster, indices, shards], got [{level}]",
        )
    status = ctx.param("wait_for_status")
    if status is not None and status not in _RANK:
        raise ESError(
            400, "illegal_argument_exception", f"unknown cluster health status [{status}]"
        )
    events = ctx.param("wait_for_events")
    if events is not None and events.lower() not in _PRIORITIES:
        raise ESError(400, "illegal_argument_exception", f"No enum constant Priority.{events}")
    shards = ctx.param("wait_for_active_shards")
    if shards is not None and shards != "all" and not shards.isdigit():
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Failed to parse value [{shards}] for wait_for_active_shards",
        )


async def cluster_health(ctx: Ctx) -> Any:
    """Waits (every 50 ms) for the `wait_for_*` conditions until `timeout` (30 s), then answers
    408 with `timed_out: true`, as ES does. Events never wait: logstore has no task queue."""
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    _check_params(ctx)
    timeout_ms = parse_interval_ms(ctx.param("timeout") or "30s", key="timeout")
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        indices, missing = _select(ctx)
        body = health(indices, missing=missing)
        if _conditions_met(ctx, body, missing):
            break
        if time.monotonic() >= deadline:
            body["timed_out"] = True
            break
        await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    level = ctx.param("level", "cluster")
    if level != "cluster":
        body["indices"] = {i.meta.name: index_health(i, str(level)) for i in indices}
    if body["timed_out"] and ctx.param("return_200_for_cluster_health_timeout") != "true":
        return 408, body
    return body


# -- _cluster/settings ------------------------------------------------------------------------


def _shape(flat: dict[str, str], as_flat: bool) -> dict[str, Any]:
    return dict(sorted(flat.items())) if as_flat else cluster_settings.nest(flat)


async def get_settings(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    settings = cluster_settings.of(_state(ctx).store)
    flat = ctx.flag("flat_settings")
    out = {
        "persistent": _shape(settings.persistent, flat),
        "transient": _shape(settings.transient, flat),
    }
    if ctx.flag("include_defaults"):
        defaults = {
            k: s.default
            for k, s in cluster_settings.SETTINGS.items()
            if k not in settings.persistent and k not in settings.transient
        }
        out["defaults"] = _shape(defaults, flat)
    return out


async def put_settings(ctx: Ctx) -> dict[str, Any]:
    _state(ctx).security.require_cluster(ctx.user, "manage")
    body = await ctx.json(required=True)
    for key in body:
        if key not in ("persistent", "transient"):
            raise ESError(
                400,
                "x_content_parse_exception",
                f"[1:2] [cluster_update_settings_request] unknown field [{key}]",
            )
    persistent, transient = body.get("persistent") or {}, body.get("transient") or {}
    if not isinstance(persistent, dict) or not isinstance(transient, dict):
        raise ESError(400, "illegal_argument_exception", "settings must be objects")
    if not persistent and not transient:
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: no settings to update;",
        )
    set_p, set_t = cluster_settings.of(_state(ctx).store).update(persistent, transient)
    flat = ctx.flag("flat_settings")
    return {
        "acknowledged": True,
        "persistent": _shape(set_p, flat),
        "transient": _shape(set_t, flat),
    }


G, PU = "GET", "PUT"
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_cluster/health", [G], cluster_health),
    ("/_cluster/health/{index}", [G], cluster_health),
    ("/_cluster/settings", [G], get_settings),
    ("/_cluster/settings", [PU], put_settings),
]
