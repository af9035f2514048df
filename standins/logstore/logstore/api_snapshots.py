"""Snapshot repository and snapshot endpoints (storage in snapshots.py).

Put repository: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/put-snapshot-repo-api.html
Get repository: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-repo-api.html
Create snapshot: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/create-snapshot-api.html
Get snapshot: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-api.html
Delete snapshot: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/delete-snapshot-api.html
Restore: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/restore-snapshot-api.html
Status: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-status-api.html
Clone: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/clone-snapshot-api.html
"""

from __future__ import annotations

import fnmatch
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from . import recovery, snapshot_copy, snapshot_global, snapshot_status, snapshots
from .errors import ESError, unsupported
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
    _check_body(body)
    location = repo_path(state, repo)
    wanted = body.get("indices", "*")
    expr = wanted if isinstance(wanted, str) else ",".join(wanted)
    expand = body.get("expand_wildcards", "all")  # ES's default: open, closed and hidden
    with state.lifecycle_lock:
        if body.get("ignore_unavailable"):
            parts = [p for p in expr.split(",") if _available(state, p.strip())]
            expr = ",".join(parts)
        indices = state.store.resolve(
            expr,
            expand_wildcards=expand if isinstance(expand, str) else ",".join(expand),
            forbid_closed=False,
        )
        # ES's default is to include the global state
        keep_global = body.get("include_global_state", True) not in (False, "false")
        return snapshots.create(
            state.store,
            repo,
            location,
            snap,
            indices,
            metadata or body.get("metadata"),
            snapshot_global.capture(state.store) if keep_global else None,
        )


_CREATE_KEYS = {"indices", "ignore_unavailable", "include_global_state", "metadata"}
# `partial`: every shard is always there, so a partial snapshot never happens
_CREATE_KEYS |= {"partial", "expand_wildcards", "feature_states"}


def _check_body(body: dict[str, Any]) -> None:
    for key in body:
        if key not in _CREATE_KEYS:
            raise ESError(
                400, "illegal_argument_exception", f"Unknown key for create snapshot [{key}]"
            )
    states = body.get("feature_states") or []
    if [s for s in ([states] if isinstance(states, str) else states) if s != "none"]:
        raise unsupported("create snapshot [feature_states] (logstore has no feature states)")


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


# get snapshots' paging and filtering options: not served (logstore answers every snapshot)
_GET_UNSERVED = (
    "sort", "size", "order", "after", "offset", "from_sort_value", "slm_policy_filter",
    "index_details", "include_repository",
)  # fmt: skip


async def _matching(ctx: Ctx, repo: str, wanted: str) -> list[dict[str, Any]]:
    """The snapshots `wanted` names (names, wildcards, `_all`); a missing name is
    snapshot_missing_exception unless `ignore_unavailable`."""
    location = repo_path(_state(ctx), repo)
    every = await run_in_threadpool(snapshots.list_snapshots, location)
    if wanted in ("_all", "*"):
        return every
    patterns = wanted.split(",")
    found = [s for s in every if any(fnmatch.fnmatchcase(s["snapshot"], p) for p in patterns)]
    if ctx.param("ignore_unavailable") not in ("", "true"):
        for p in patterns:
            if "*" not in p and not any(s["snapshot"] == p for s in found):
                raise ESError(404, "snapshot_missing_exception", f"[{repo}:{p}] is missing")
    return found


async def get_snapshot(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "create_snapshot")
    for key in _GET_UNSERVED:
        if ctx.param(key) is not None:
            raise unsupported(f"get snapshots [{key}]")
    repo = ctx.request.path_params["repo"]
    found = await _matching(ctx, repo, ctx.request.path_params["snap"])
    verbose = ctx.param("verbose") not in ("false",)
    return {
        "snapshots": [snapshots.public(s, verbose=verbose) for s in found],
        "total": len(found),
        "remaining": 0,
    }


async def get_status(ctx: Ctx) -> dict[str, Any]:
    """Without a snapshot name: the snapshots in progress, never any here (they are taken
    synchronously)."""
    state = _state(ctx)
    try:  # ES's monitor_snapshot, which both monitor and create_snapshot grant
        state.security.require_cluster(ctx.user, "monitor")
    except ESError:
        state.security.require_cluster(ctx.user, "create_snapshot")
    repo = ctx.request.path_params.get("repo")
    wanted = ctx.request.path_params.get("snap")
    if repo is not None:
        repo_path(state, repo)
    if repo is None or wanted is None:
        return {"snapshots": []}
    if "*" in wanted:  # as ES: status takes names, not patterns
        raise ESError(
            400, "illegal_argument_exception", f"status does not support wildcards [{wanted}]"
        )
    found = await _matching(ctx, repo, wanted)
    return {"snapshots": [snapshot_status.status(s) for s in found]}


def _clone(state: Any, repo: str, source: str, target: str, indices: Any) -> dict[str, Any]:
    location = repo_path(state, repo)
    with state.lifecycle_lock:
        return snapshot_copy.clone(repo, location, source, target, indices)


async def clone_snapshot(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "create_snapshot")
    params = ctx.request.path_params
    body = await ctx.json(required=True)
    extra = set(body) - {"indices"}
    if extra:
        raise ESError(
            400,
            "x_content_parse_exception",
            f"[1:2] [clone_snapshot_request] unknown field [{sorted(extra)[0]}]",
        )
    await run_in_threadpool(
        _clone, state, params["repo"], params["snap"], params["target"], body.get("indices")
    )
    return {"acknowledged": True}


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
    global_state = info.get("_global_state")
    if body.get("include_global_state") in (True, "true") and global_state is None:
        raise snapshots.restore_error(
            repo, info, "cannot restore global state: the snapshot does not include it"
        )
    started = int(time.time() * 1000)
    with state.lifecycle_lock:
        result = snapshots.restore(state.store, repo, location, info, body)
        if body.get("include_global_state") in (True, "true"):
            snapshot_global.restore(state.store, global_state or {})
    stopped, restore_id = int(time.time() * 1000), uuid.uuid4().hex[:22]
    for index_uuid, size in result.pop("_restored").items():
        done = recovery.Restored(repo, snap, restore_id, size, started, stopped)
        recovery.record(index_uuid, done)
    return result


async def restore_snapshot(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage")
    repo, snap = ctx.request.path_params["repo"], ctx.request.path_params["snap"]
    body = await ctx.json()
    for key in ("partial", "feature_states"):
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
    # Before /{repo} and /{repo}/{snap}: ES reserves `_status` (no repository or snapshot
    # can be called so).
    ("/_snapshot/_status", [G], get_status),
    ("/_snapshot/{repo}/_status", [G], get_status),
    ("/_snapshot/{repo}/{snap}/_status", [G], get_status),
    ("/_snapshot/{repo}/{snap}/_clone/{target}", [PU], clone_snapshot),
    *recovery.ROUTES,
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
