"""The snapshot status API's answer for a finished snapshot (logstore snapshots synchronously:
none is ever in progress). Each index is one shard, stored as one part of the archive (its
size: that part uncompressed). Nothing is shared with earlier snapshots, so the incremental
counts are the totals.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-status-api.html
"""

from __future__ import annotations

from typing import Any


def _stats(files: int, size: int, start: int, took: int) -> dict[str, Any]:
    counts = {"file_count": files, "size_in_bytes": size}
    return {
        "incremental": dict(counts),
        "total": dict(counts),
        "start_time_in_millis": start,
        "time_in_millis": took,
    }


def _shards_stats(n: int) -> dict[str, int]:
    return {"initializing": 0, "started": 0, "finalizing": 0, "done": n, "failed": 0, "total": n}


def status(info: dict[str, Any]) -> dict[str, Any]:
    start, took = info["start_time_in_millis"], info["duration_in_millis"]
    names = info["indices"]
    sizes = info.get("_index_bytes") or {}
    # Snapshots taken before per-index sizes were kept: the archive shared evenly.
    even = info.get("_bytes", 0) // max(1, len(names))
    indices = {}
    for name in names:
        size = int(sizes.get(name, even))
        shard = {"stage": "DONE", "stats": _stats(1, size, start, took)}
        indices[name] = {
            "shards_stats": _shards_stats(1),
            "stats": _stats(1, size, start, took),
            "shards": {"0": shard},
        }
    total = sum(int(sizes.get(n, even)) for n in names)
    return {
        "snapshot": info["snapshot"],
        "repository": info["repository"],
        "uuid": info["uuid"],
        "state": info["state"],
        "include_global_state": info.get("include_global_state", False),
        "shards_stats": _shards_stats(len(names)),
        "stats": _stats(len(names), total, start, took),
        "indices": indices,
    }
