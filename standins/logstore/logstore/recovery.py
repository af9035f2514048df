"""`GET /{index}/_recovery`: how each shard (one per index) came to be: restored from a
snapshot (SNAPSHOT, with the bytes read), created empty in this process (EMPTY_STORE), or
found on disk at start-up (EXISTING_STORE).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-recovery.html
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from . import indexopts
from .errors import unsupported
from .http import Ctx

VERSION = "8.15.0"
_STARTED_MS = int(time.time() * 1000)


@dataclass(frozen=True)
class Restored:
    repository: str
    snapshot: str
    uuid: str  # the restore's id
    size: int
    start_ms: int
    stop_ms: int


_RESTORED: dict[str, Restored] = {}  # by index uuid, in this process
_LOCK = threading.Lock()


def record(index_uuid: str, restored: Restored) -> None:
    with _LOCK:
        _RESTORED[index_uuid] = restored


def _percent(done: int, total: int) -> str:
    return "0.0%" if total == 0 else f"{100.0 * done / total:.1f}%"


def _shard(ctx: Ctx, index: Any) -> dict[str, Any]:
    meta = index.meta
    restored = _RESTORED.get(meta.uuid)
    files = size = 0
    source: dict[str, Any] = {}
    if restored is not None:
        kind, files, size = "SNAPSHOT", 1, restored.size
        start, stop = restored.start_ms, restored.stop_ms
        source = {
            "repository": restored.repository,
            "snapshot": restored.snapshot,
            "version": VERSION,
            "index": meta.name,
            "restoreUUID": restored.uuid,
        }
    else:
        existed = meta.creation_date < _STARTED_MS
        kind = "EXISTING_STORE" if existed else "EMPTY_STORE"
        start = stop = max(meta.creation_date, _STARTED_MS) if existed else meta.creation_date
    host = ctx.request.url.hostname or "127.0.0.1"
    address = f"{host}:{ctx.request.url.port or 9200}"
    node = ctx.request.app.state.cluster_uuid
    return {
        "id": 0,
        "type": kind,
        "stage": "DONE",
        "primary": True,
        "start_time_in_millis": start,
        "stop_time_in_millis": stop,
        "total_time_in_millis": stop - start,
        "source": source,
        "target": {
            "id": node,
            "host": host,
            "transport_address": address,
            "ip": host,
            "name": socket.gethostname(),
        },
        "index": {
            "size": {
                "total_in_bytes": size,
                "reused_in_bytes": 0,
                "recovered_in_bytes": size,
                "percent": _percent(size, size) if size else "0.0%",
            },
            "files": {
                "total": files,
                "reused": 0,
                "recovered": files,
                "percent": _percent(files, files) if files else "0.0%",
            },
            "total_time_in_millis": stop - start,
            "source_throttle_time_in_millis": 0,
            "target_throttle_time_in_millis": 0,
        },
        "translog": {
            "recovered": 0,
            "total": 0,
            "percent": "100.0%",
            "total_on_start": 0,
            "total_time_in_millis": 0,
        },
        "verify_index": {"check_index_time_in_millis": 0, "total_time_in_millis": 0},
    }


async def get_recovery(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    if ctx.param("detailed") in ("", "true"):
        raise unsupported("_recovery?detailed (per-file details)")
    expr = ctx.request.path_params.get("index", "_all")
    indices = indexopts.resolve(ctx, expr, default_states="open", forbid_closed=False)
    state.security.require_index(ctx.user, "monitor", [i.meta.name for i in indices])
    if ctx.param("active_only") in ("", "true"):
        return {}  # every recovery here is done
    return {
        i.meta.name: {"shards": [_shard(ctx, i)]}
        for i in sorted(indices, key=lambda i: i.meta.name)
        if not i.meta.is_closed
    }


G = "GET"
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_recovery", [G], get_recovery),
    ("/{index}/_recovery", [G], get_recovery),
]
