"""Snapshot repository and snapshot endpoints (storage in snapshots.py).

Put repository: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/put-snapshot-repo-api.html
Get repository: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-repo-api.html
Create snapshot: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/create-snapshot-api.html
Get snapshot: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-api.html
Delete snapshot: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/delete-snapshot-api.html
Restore: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/restore-snapshot-api.html
"""

from __future__ import annotations

import fnmatch
import socket
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from . import snapshots
from .errors import ESError
from .http import Ctx


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


def repo_path(state: Any, repo: str) -> Path:
    info = state.store.state.section("repos").get(repo)
    if not isinstance(info, dict):
        raise ESError(404, "repository_missing_exception", f"[{repo}] missing")
    return Path(info["location"])


def take_snapshot(
    state: Any, repo: str, snap: str, body: dict[str, Any], metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Runs in a worker thread; holds the lifecycle lock so ILM does not delete meanwhile."""
    location = repo_path(state, repo)
    wanted = body.get("indices", "*")
    expr = wanted if isinstance(wanted, str) else ",".join(wanted)
    with state.lifecycle_lock:
        if body.get("ignore_unavailable"):
            parts = [p for p in expr.split(",") if _available(state, p.strip())]
            expr = ",".join(parts)
        indices = state.store.resolve(expr)
        return snapshots.create(
            state.store, repo, location, snap, indices, metadata or body.get("metadata")
        )


def _available(state: Any, part: str) -> bool:
    if "*" in part or "?" in part or part.startswith("-"):
        return True
    return part in state.store.indices or part in state.store.state.section("data_streams")


async def put_repo(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage")
    name = ctx.request.path_params["repo"]
    body = await ctx.json(required=True)
    location = await run_in_threadpool(snapshots.repo_location, name, body, state.snapshot_allow)
    entry = {"type": "fs", "settings": body.get("settings", {}), "location": str(location)}
    state.store.state.put("repos", name, entry)
    return {"acknowledged": True}


def _repos(state: Any) -> dict[str, Any]:
    return {k: v for k, v in state.store.state.section("repos").items() if isinstance(v, dict)}


async def get_repo(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "create_snapshot")
    wanted = ctx.request.path_params.get("repo", "_all")
    patterns = ["*"] if wanted in ("_all", "*") else wanted.split(",")
    out = {
        name: {"type": info["type"], "settings": info["settings"]}
        for name, info in _repos(state).items()
        if any(fnmatch.fnmatchcase(name, p) for p in patterns)
    }
    missing = [p for p in patterns if "*" not in p and p not in out]
    if missing:
        raise ESError(404, "repository_missing_exception", f"[{missing[0]}] missing")
    return out


async def delete_repo(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage")
    name = ctx.request.path_params["repo"]
    repo_path(state, name)
    state.store.state.delete("repos", name)
    return {"acknowledged": True}


async def create_snapshot(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "create_snapshot")
    repo, snap = ctx.request.path_params["repo"], ctx.request.path_params["snap"]
    body = await ctx.json()
    info = await run_in_threadpool(take_snapshot, state, repo, snap, body)
    # logstore always snapshots synchronously; without wait_for_completion ES answers
    # {"accepted": true} before the snapshot is done, which is still true here.
    if ctx.flag("wait_for_completion"):
        return {"snapshot": snapshots.public(info)}
    return {"accepted": True}


async def get_snapshot(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "create_snapshot")
    repo = ctx.request.path_params["repo"]
    wanted = ctx.request.path_params["snap"]
    location = repo_path(state, repo)
    every = await run_in_threadpool(snapshots.list_snapshots, location)
    if wanted in ("_all", "*"):
        found = every
    else:
        patterns = wanted.split(",")
        found = [s for s in every if any(fnmatch.fnmatchcase(s["snapshot"], p) for p in patterns)]
        for p in patterns:
            if "*" not in p and not any(s["snapshot"] == p for s in found):
                raise ESError(404, "snapshot_missing_exception", f"[{repo}:{p}] is missing")
    return {
        "snapshots": [snapshots.public(s) for s in found],
        "total": len(found),
        "remaining": 0,
    }


async def delete_snapshot(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage")
    repo = ctx.request.path_params["repo"]
    location = repo_path(state, repo)
    for snap in ctx.request.path_params["snap"].split(","):
        await run_in_threadpool(snapshots.delete, repo, location, snap)
    return {"acknowledged": True}


async def verify_repo(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage")
    repo = ctx.request.path_params["repo"]
    await run_in_threadpool(snapshots.verify, repo, repo_path(state, repo))
    return {"nodes": {state.cluster_uuid: {"name": socket.gethostname()}}}


def _cleanup(state: Any, repo: str) -> tuple[int, int]:
    location = repo_path(state, repo)
    with state.lifecycle_lock:  # no snapshot is half-written meanwhile
        return snapshots.cleanup(location)


async def cleanup_repo(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage")
    deleted_bytes, deleted_blobs = await run_in_threadpool(
        _cleanup, state, ctx.request.path_params["repo"]
    )
    return {"results": {"deleted_bytes": deleted_bytes, "deleted_blobs": deleted_blobs}}


def _restore(state: Any, repo: str, snap: str, body: dict[str, Any]) -> dict[str, Any]:
    location = repo_path(state, repo)
    info = snapshots.read_snapshot(repo, location, snap)
    with state.lifecycle_lock:
        return snapshots.restore(state.store, repo, location, info, body)


async def restore_snapshot(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage")
    repo, snap = ctx.request.path_params["repo"], ctx.request.path_params["snap"]
    body = await ctx.json()
    for key in ("include_aliases", "partial", "include_global_state", "feature_states"):
        if body.get(key):
            raise ESError(
                400, "illegal_argument_exception", f"[{key}] is not supported by logstore restore"
            )
    result = await run_in_threadpool(_restore, state, repo, snap, body)
    if ctx.flag("wait_for_completion"):
        return {"snapshot": result}
    return {"accepted": True}


G, P, PU, D = "GET", "POST", "PUT", "DELETE"
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_snapshot", [G], get_repo),
    ("/_snapshot/{repo}", [PU, P], put_repo),
    ("/_snapshot/{repo}", [G], get_repo),
    ("/_snapshot/{repo}", [D], delete_repo),
    # Before /{snap}: ES reserves these names (a snapshot cannot be called _verify).
    ("/_snapshot/{repo}/_verify", [P], verify_repo),
    ("/_snapshot/{repo}/_cleanup", [P], cleanup_repo),
    ("/_snapshot/{repo}/{snap}/_restore", [P], restore_snapshot),
    ("/_snapshot/{repo}/{snap}", [PU, P], create_snapshot),
    ("/_snapshot/{repo}/{snap}", [G], get_snapshot),
    ("/_snapshot/{repo}/{snap}", [D], delete_snapshot),
]
