"""Clone: a new snapshot of some indices of an existing one, in the same repository.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/clone-snapshot-api.html
"""

from __future__ import annotations

import fnmatch
import gzip
from pathlib import Path
from typing import Any

import orjson

from . import snapshots
from .errors import ESError


def _chosen(info: dict[str, Any], patterns: list[str]) -> list[str]:
    keep = [p.strip() for p in patterns if p.strip() and not p.strip().startswith("-")]
    drop = [p.strip()[1:] for p in patterns if p.strip().startswith("-")]
    return [
        n
        for n in info["indices"]
        if any(fnmatch.fnmatchcase(n, p) for p in keep)
        and not any(fnmatch.fnmatchcase(n, p) for p in drop)
    ]


def clone(repo: str, location: Path, source: str, target: str, indices: Any) -> dict[str, Any]:
    """The caller holds the lifecycle lock (no retention deletes the source meanwhile)."""
    if not indices:
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: indices patterns are empty;",
        )
    patterns = indices.split(",") if isinstance(indices, str) else [str(i) for i in indices]
    info = snapshots.read_snapshot(repo, location, source)
    if snapshots.meta_path(location, target).exists():
        raise ESError(
            400,
            "invalid_snapshot_name_exception",
            f"[{repo}:{target}] Invalid snapshot name [{target}], snapshot with the same name "
            "already exists",
        )
    names = _chosen(info, patterns)
    if not names:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"No indices in the source snapshot [{source}] matched requested pattern "
            f"[{', '.join(patterns)}]",
        )
    lines: list[bytes] = []
    sizes: dict[str, int] = {}
    for header in snapshots.load(repo, location, info):
        if header["index"] not in names:
            continue
        body = header.pop("lines")
        first = orjson.dumps(header)
        lines += [first, *body]
        sizes[header["index"]] = len(first) + 1 + sum(len(line) + 1 for line in body)
    data = gzip.compress(b"\n".join(lines) + b"\n", compresslevel=6)
    snapshots.atomic_write(snapshots.data_path(location, target), data)
    started = snapshots.next_start(location)
    return snapshots.describe(
        location,
        repo,
        target,
        names,
        data,
        sizes,
        started,
        info.get("metadata"),
        info.get("_global_state"),
    )
