"""`_cat/health` and `_cat/indices` (the table itself: cattable.py).

cat health: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cat-health.html
cat indices: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cat-indices.html
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from . import api_cluster, indexopts
from .cattable import Bytes, Cell, Column, answer
from .datemath import format_ms
from .errors import ESError, unsupported
from .http import Ctx

_HEALTH_COLUMNS = [
    Column("epoch", ("t", "time"), "seconds since 1970-01-01 00:00:00"),
    Column("timestamp", ("ts", "hms", "hhmmss"), "time in HH:MM:SS"),
    Column("cluster", ("cl",), "cluster name"),
    Column("status", ("st",), "health status"),
    Column("node.total", ("nt", "nodeTotal"), "total number of nodes", right=True),
    Column("node.data", ("nd", "nodeData"), "number of nodes that can store data", right=True),
    Column(
        "shards", ("t", "sh", "shards.total", "shardsTotal"), "total number of shards", right=True
    ),
    Column("pri", ("p", "shards.primary", "shardsPrimary"), "number of primary shards", right=True),
    Column(
        "relo",
        ("r", "shards.relocating", "shardsRelocating"),
        "number of relocating nodes",
        right=True,
    ),
    Column(
        "init",
        ("i", "shards.initializing", "shardsInitializing"),
        "number of initializing nodes",
        right=True,
    ),
    Column(
        "unassign",
        ("u", "shards.unassigned", "shardsUnassigned"),
        "number of unassigned shards",
        right=True,
    ),
    Column("pending_tasks", ("pt", "pendingTasks"), "number of pending tasks", right=True),
    Column(
        "max_task_wait_time",
        ("mtwt", "maxTaskWaitTime"),
        "wait time of longest task pending",
        right=True,
    ),
    Column(
        "active_shards_percent",
        ("asp", "activeShardsPercent"),
        "active number of shards in percent",
        right=True,
    ),
]

_INDICES_COLUMNS = [
    Column("health", ("h",), "current health status"),
    Column("status", ("s",), "open/close status"),
    Column("index", ("i", "idx"), "index name"),
    Column("uuid", ("id", "uuid"), "index uuid"),
    Column("pri", ("p", "shards.primary", "shardsPrimary"), "number of primary shards", right=True),
    Column("rep", ("r", "shards.replica", "shardsReplica"), "number of replica shards", right=True),
    Column("docs.count", ("dc", "docsCount"), "available docs", right=True),
    Column("docs.deleted", ("dd", "docsDeleted"), "deleted docs", right=True),
    Column("creation.date", ("cd",), "index creation date (millisecond value)", default=False),
    Column("creation.date.string", ("cds",), "index creation date (as string)", default=False),
    Column(
        "store.size",
        ("ss", "storeSize"),
        "store size of primaries & replicas",
        right=True,
        sibling="pri",
    ),
    Column("pri.store.size", (), "store size of primaries", right=True),
    Column("dataset.size", (), "total size of dataset", default=False, right=True),
]
# ES's other _cat/indices columns (statistics logstore does not keep): refused by name.
_UNSERVED = (
    "completion.", "fielddata.", "query_cache.", "request_cache.", "flush.", "get.",
    "indexing.", "merges.", "refresh.", "search.", "segments.", "warmer.", "suggest.",
    "memory.", "bulk.", "dense_vector.", "sparse_vector.",
)  # fmt: skip


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


async def cat_health(ctx: Ctx) -> Any:
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    h = api_cluster.health(list(_state(ctx).store.indices.values()))
    now = int(time.time())
    row: dict[str, Cell] = {
        "epoch": now,
        "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)),
        "cluster": h["cluster_name"],
        "status": h["status"],
        "node.total": 1,
        "node.data": 1,
        "shards": h["active_shards"],
        "pri": h["active_primary_shards"],
        "relo": 0,
        "init": 0,
        "unassign": h["unassigned_shards"],
        "pending_tasks": 0,
        "max_task_wait_time": "-",
        "active_shards_percent": f"{h['active_shards_percent_as_number']:.1f}%",
    }
    return answer(ctx, _HEALTH_COLUMNS, [row])


def _row(index: Any, size: int | None) -> dict[str, Cell]:
    meta = index.meta
    shards, replicas = api_cluster.shard_counts(index)
    closed = meta.is_closed
    row: dict[str, Cell] = {
        "health": "yellow" if replicas else "green",
        "status": "close" if closed else "open",
        "index": meta.name,
        "uuid": meta.uuid,
        "pri": shards,
        "rep": replicas,
        "docs.count": None if closed else index.doc_count(),
        "docs.deleted": None if closed else 0,
        "creation.date": meta.creation_date,
        "creation.date.string": format_ms(meta.creation_date),
    }
    if size is not None:  # one copy of each shard: the primaries' size is the whole size
        row |= {"store.size": Bytes(size), "pri.store.size": Bytes(size)}
        row["dataset.size"] = Bytes(size)
    return row


def _states(expr: str) -> str:
    """ES's default for _cat/indices (open and closed, not hidden); a wildcard starting with a
    dot also matches the hidden indices whose names start with one (as in ES), so when every
    wildcard of the expression does, hidden indices are in."""
    wildcards = [p.strip() for p in expr.split(",") if "*" in p or "?" in p]
    if wildcards and all(p.startswith(".") for p in wildcards):
        return "open,closed,hidden"
    return "open,closed"


async def cat_indices(ctx: Ctx) -> Any:
    state = _state(ctx)
    expr = ctx.request.path_params.get("index", "_all")
    health = ctx.param("health")
    if health is not None and health not in ("green", "yellow", "red"):
        raise ESError(
            400, "illegal_argument_exception", f"[health] must be green, yellow or red: [{health}]"
        )
    if ctx.param("include_unloaded_segments") in ("", "true"):
        raise unsupported("include_unloaded_segments (logstore has no frozen indices)")
    indices = [
        i
        for i in indexopts.resolve(ctx, expr, default_states=_states(expr), forbid_closed=False)
        if state.security.allowed_index(ctx.user, "monitor", i.meta.name)
        or state.security.allowed_index(ctx.user, "read", i.meta.name)
    ]
    rows = []
    for index in sorted(indices, key=lambda i: i.meta.name):
        closed = index.meta.is_closed
        size = None if closed else await run_in_threadpool(index.size_bytes)
        row = _row(index, size)
        if health is None or row["health"] == health:
            rows.append(row)
    return answer(ctx, _INDICES_COLUMNS, rows, unserved=_UNSERVED)


async def cat_root(ctx: Ctx) -> str:
    """`GET /_cat`: the _cat endpoints logstore serves."""
    _state(ctx).security.require_cluster(ctx.user, "monitor")
    return "=^.^=\n/_cat/health\n/_cat/indices\n/_cat/indices/{index}\n"


async def cat_other(ctx: Ctx) -> Any:
    raise unsupported(f"_cat/{ctx.request.path_params['what']}")


G = "GET"
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_cat", [G], cat_root),
    ("/_cat/health", [G], cat_health),
    ("/_cat/indices", [G], cat_indices),
    ("/_cat/indices/{index}", [G], cat_indices),
    ("/_cat/{what}", [G], cat_other),
    ("/_cat/{what}/{rest:path}", [G], cat_other),
]
