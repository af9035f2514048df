"""Snapshot lifecycle management: policies, `_execute`, and retention applied on execute.

Policy shape: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-api-put-policy.html
Get shape: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-api-get-policy.html
Retention: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-retention.html

The `schedule` (an ES cron expression, see cron.py) is run by a background thread
(lifecycle_jobs), and `_execute` takes a snapshot at once; retention runs after every snapshot
(ES runs it on its own `slm.retention_schedule`).
"""

from __future__ import annotations

import logging
import re
import secrets
import string
import threading
import time
from datetime import UTC, datetime
from typing import Any

from . import api_snapshots, cron, snapshots
from .datemath import format_ms, parse_interval_ms
from .errors import ESError

log = logging.getLogger("logstore")
_DATE_MATH = re.compile(r"\{now[^{}]*(\{[^{}]*\})?\}")
_EXECUTING = threading.Lock()  # the scheduler and `_execute` take one snapshot at a time


def validate(name: str, body: dict[str, Any]) -> dict[str, Any]:
    for key in ("schedule", "name", "repository"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise ESError(
                400,
                "action_request_validation_exception",
                f"Validation Failed: 1: invalid {key}: must not be empty;",
            )
    cron.parse(body["schedule"])
    retention = body.get("retention") or {}
    if "expire_after" in retention:
        parse_interval_ms(str(retention["expire_after"]), key="retention.expire_after")
    for key in ("min_count", "max_count"):
        if key in retention and not isinstance(retention[key], int):
            raise ESError(400, "illegal_argument_exception", f"retention.{key} must be an integer")
    known = {"schedule", "name", "repository", "config", "retention"}
    extra = set(body) - known
    if extra:
        raise ESError(
            400,
            "x_content_parse_exception",
            f"[put_snapshot_lifecycle] unknown field [{min(extra)}]",
        )
    return body


def snapshot_name(template: str, now_ms: int | None = None) -> str:
    """`<nightly-{now/d}>` becomes `nightly-2024.03.01-<random>`, as SLM names snapshots."""
    now = datetime.fromtimestamp((now_ms or time.time() * 1000) / 1000, tz=UTC)
    base = template[1:-1] if template.startswith("<") and template.endswith(">") else template
    base = _DATE_MATH.sub(now.strftime("%Y.%m.%d"), base)
    suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(22))
    return f"{base.lower()}-{suffix}"


def next_execution_ms(entry: dict[str, Any], now_ms: int | None = None) -> int | None:
    """When the policy's schedule fires next, after now (epoch ms)."""
    now = datetime.fromtimestamp((now_ms or time.time() * 1000) / 1000, tz=UTC)
    try:
        fire = cron.parse(entry["policy"]["schedule"]).next_after(now)
    except ESError:  # stored before schedules were validated; the scheduler logs it
        return None
    return None if fire is None else int(fire.timestamp() * 1000)


def describe(name: str, entry: dict[str, Any], *, human: bool = False) -> dict[str, Any]:
    """https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-api-get-policy.html"""
    out: dict[str, Any] = {
        "version": entry["version"],
        "modified_date_millis": entry["modified_date_millis"],
        "modified_date": format_ms(entry["modified_date_millis"]),
        "policy": entry["policy"],
        "stats": {
            "policy": name,
            "snapshots_taken": entry.get("taken", 0),
            "snapshots_failed": entry.get("failed", 0),
            "snapshots_deleted": entry.get("deleted", 0),
            "snapshot_deletion_failures": 0,
        },
    }
    for key in ("last_success", "last_failure"):
        last = entry.get(key)
        if not last:
            continue
        record: dict[str, Any] = {"snapshot_name": last["snapshot_name"]}
        for field in ("start_time", "time"):
            value = last.get(field)
            if value is None and field == "start_time":  # stored before logstore kept start_time
                value = last.get("snapshot_start_millis")
            if value is None:
                continue
            if human:
                record[field + "_string"] = format_ms(value)
            record[field] = value
        if key == "last_failure" and last.get("details"):
            record["details"] = last["details"]
        out[key] = record
    upcoming = next_execution_ms(entry)
    if upcoming is not None:
        if human:
            out["next_execution"] = format_ms(upcoming)
        out["next_execution_millis"] = upcoming
    return out


def execute(state: Any, name: str) -> str:
    with _EXECUTING:
        return _execute(state, name)


def _execute(state: Any, name: str) -> str:
    cluster = state.store.state
    entry = cluster.section("slm").get(name)
    if entry is None:
        raise ESError(
            404, "resource_not_found_exception", f"snapshot lifecycle policy not found: {name}"
        )
    policy = entry["policy"]
    snap = snapshot_name(policy["name"])
    started = int(time.time() * 1000)
    config = dict(policy.get("config") or {})
    metadata = {**(config.pop("metadata", None) or {}), "policy": name}
    try:
        info = api_snapshots.take_snapshot(state, policy["repository"], snap, config, metadata)
    except ESError as exc:
        entry["failed"] = entry.get("failed", 0) + 1
        entry["last_failure"] = {
            "snapshot_name": snap,
            "start_time": started,
            "time": int(time.time() * 1000),
            "details": exc.reason,
        }
        cluster.put("slm", name, entry)
        raise
    entry["taken"] = entry.get("taken", 0) + 1
    entry["last_success"] = {
        "snapshot_name": snap,
        "start_time": started,
        "snapshot_start_millis": started,  # ILM's wait_for_snapshot reads this
        "time": int(time.time() * 1000),
        "indices": info["indices"],
    }
    cluster.put("slm", name, entry)
    deleted = apply_retention(state, name, policy)
    if deleted:
        entry["deleted"] = entry.get("deleted", 0) + len(deleted)
        cluster.put("slm", name, entry)
    return snap


def apply_retention(state: Any, name: str, policy: dict[str, Any]) -> list[str]:
    """Delete this policy's snapshots past `expire_after` or beyond `max_count`, keeping
    `min_count` (ES's rules)."""
    retention = policy.get("retention") or {}
    if not retention:
        return []
    repo = policy["repository"]
    location = api_snapshots.repo_path(state, repo)
    mine = [
        s
        for s in snapshots.list_snapshots(location)
        if (s.get("metadata") or {}).get("policy") == name
    ]
    now = int(time.time() * 1000)
    min_count = int(retention.get("min_count", 0))
    max_count = retention.get("max_count")
    doomed: list[str] = []
    if "expire_after" in retention:
        limit = parse_interval_ms(str(retention["expire_after"]), key="retention.expire_after")
        for snap in mine:
            if len(mine) - len(doomed) <= min_count:
                break
            if now - snap["start_time_in_millis"] > limit:
                doomed.append(snap["snapshot"])
    if max_count is not None:
        left = [s["snapshot"] for s in mine if s["snapshot"] not in doomed]
        doomed.extend(left[: max(0, len(left) - int(max_count))])
    for snap_name in doomed:
        snapshots.delete(repo, location, snap_name)
        log.info("SLM policy %s: retention deleted snapshot %s", name, snap_name)
    return doomed
