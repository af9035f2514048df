"""Index lifecycle management: policies, the phase an index is in, and the actions due.

Policy shape: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-put-lifecycle.html
Explain shape: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-explain-lifecycle.html
Lifecycle date (`index.lifecycle.origination_date`, epoch ms, else the creation date):
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-settings.html

logstore keeps no per-index execution state: the phase follows from the index's age, so an
index whose origination date is set in the past is at once in the phase that age implies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .datemath import format_ms, parse_interval_ms
from .engine import LogIndex
from .errors import ESError

PHASES = ("hot", "warm", "cold", "frozen", "delete")
# The actions logstore can carry out, per phase; any other is refused when the policy is put.
ACTIONS: dict[str, set[str]] = {
    "hot": {"rollover", "set_priority"},
    "warm": {"set_priority"},
    "cold": {"set_priority"},
    "frozen": set(),
    "delete": {"delete", "wait_for_snapshot"},
}
ROLLOVER_CONDITIONS = ("max_age", "max_docs", "max_primary_shard_docs")


def _ms(value: object, key: str) -> int:
    if value in (None, "0", 0):
        return 0
    return parse_interval_ms(str(value), key=key)


def validate_policy(name: str, body: dict[str, Any]) -> dict[str, Any]:
    policy = body.get("policy")
    if not isinstance(policy, dict):
        raise ESError(400, "parse_exception", "request body is required and must hold [policy]")
    phases = policy.get("phases")
    if not isinstance(phases, dict):
        raise ESError(400, "x_content_parse_exception", "[policy] requires [phases]")
    for phase, spec in phases.items():
        if phase not in PHASES:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Timeseries lifecycle does not support phase [{phase}]",
            )
        if not isinstance(spec, dict):
            raise ESError(400, "x_content_parse_exception", f"phase [{phase}] must be an object")
        _ms(spec.get("min_age"), f"{phase}.min_age")
        for action, conf in (spec.get("actions") or {}).items():
            if action not in ACTIONS[phase]:
                raise ESError(
                    400,
                    "illegal_argument_exception",
                    f"invalid action [{action}] defined in phase [{phase}] (logstore supports "
                    f"{sorted(ACTIONS[phase])}; see docs/logstore.md)",
                )
            if action == "rollover":
                if not any(c in (conf or {}) for c in ROLLOVER_CONDITIONS):
                    raise ESError(
                        400,
                        "illegal_argument_exception",
                        "rollover in logstore needs one of " + ", ".join(ROLLOVER_CONDITIONS),
                    )
                _ms(conf.get("max_age"), "rollover.max_age")
    if name.startswith("_") or "," in name or " " in name:
        raise ESError(400, "illegal_argument_exception", f"invalid policy name [{name}]")
    return policy


@dataclass
class Status:
    """Where one managed index stands, and what the background job should do with it."""

    explain: dict[str, Any]
    due: str | None = None  # "delete" or "rollover"
    extra: dict[str, Any] = field(default_factory=dict)


def lifecycle_date(index: LogIndex) -> int:
    origin = index.meta.settings.get("index.lifecycle.origination_date")
    if origin not in (None, "", "-1"):
        try:
            return int(str(origin))
        except ValueError:
            pass
    return index.meta.creation_date


def _age(ms: int) -> str:
    seconds = ms / 1000
    if seconds >= 86400:
        return f"{seconds / 86400:.2f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.2f}h"
    if seconds >= 60:
        return f"{seconds / 60:.2f}m"
    return f"{seconds:.2f}s"


def _stamp(out: dict[str, Any], key: str, ms: int) -> None:
    out[f"{key}_millis"] = ms
    out[key] = format_ms(ms)


def explain(
    index: LogIndex,
    policies: dict[str, Any],
    streams: dict[str, Any],
    slm: dict[str, Any],
    created: dict[str, int],
    now_ms: int | None = None,
) -> Status:
    """`created` maps index names to creation dates (for the rollover date of a backing index)."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    name = index.meta.name
    policy_name = index.meta.settings.get("index.lifecycle.name")
    if not policy_name:
        return Status({"index": name, "managed": False})
    out: dict[str, Any] = {"index": name, "managed": True, "policy": policy_name}
    _stamp(out, "index_creation_date", index.meta.creation_date)
    out["time_since_index_creation"] = _age(now_ms - index.meta.creation_date)
    stored = policies.get(policy_name)
    if stored is None:
        out.update(
            step="ERROR",
            step_info={
                "type": "illegal_argument_exception",
                "reason": f"policy [{policy_name}] does not exist",
            },
        )
        return Status(out)
    phases: dict[str, Any] = stored["policy"]["phases"]
    date = _rollover_date(index, streams, created) or lifecycle_date(index)
    _stamp(out, "lifecycle_date", date)
    age = now_ms - date
    out["age"] = _age(age)
    current, entered = "new", date
    for phase in PHASES:
        if phase in phases:
            start = date + _ms(phases[phase].get("min_age"), "min_age")
            if start <= now_ms:
                current, entered = phase, start
    # A rollover in hot must finish before the index may move on, as in ES.
    hot_rollover = (phases.get("hot", {}).get("actions") or {}).get("rollover")
    status = Status(out)
    if hot_rollover is not None and current != "new":
        blocked = _rollover_step(index, hot_rollover, streams, now_ms, status)
        if blocked:
            current, entered = "hot", date + _ms(phases["hot"].get("min_age"), "min_age")
            _phase(out, "hot", entered, policy_name, stored, phases)
            return status
    _phase(out, current, entered, policy_name, stored, phases)
    if current == "delete":
        actions = phases["delete"].get("actions") or {}
        wait = actions.get("wait_for_snapshot")
        if wait is not None and not _snapshotted(name, wait.get("policy", ""), slm, entered):
            out.update(action="wait_for_snapshot", step="wait-for-snapshot")
            out["step_info"] = {
                "message": f"waiting for policy '{wait.get('policy')}' to be executed since "
                f"{format_ms(entered)}"
            }
        elif "delete" in actions:
            out.update(action="delete", step="delete")
            status.due = "delete"
        else:
            out.update(action="complete", step="complete")
    elif "action" not in out:
        out.update(action="complete", step="complete")
    return status


def _phase(
    out: dict[str, Any],
    phase: str,
    entered: int,
    policy_name: str,
    stored: dict[str, Any],
    phases: dict[str, Any],
) -> None:
    out["phase"] = phase
    _stamp(out, "phase_time", entered)
    if phase in phases:
        out["phase_execution"] = {
            "policy": policy_name,
            "phase_definition": phases[phase],
            "version": stored["version"],
            "modified_date_in_millis": stored["modified_date_millis"],
        }


def _rollover_date(index: LogIndex, streams: dict[str, Any], created: dict[str, int]) -> int:
    """A rolled-over backing index ages from its rollover: the next generation's creation."""
    ds = index.meta.data_stream
    if not ds or "index.lifecycle.origination_date" in index.meta.settings:
        return 0
    backing = streams.get(ds, {}).get("indices", [])
    if index.meta.name in backing[:-1]:
        return created.get(backing[backing.index(index.meta.name) + 1], 0)
    return 0


def _rollover_step(
    index: LogIndex, conf: dict[str, Any], streams: dict[str, Any], now_ms: int, status: Status
) -> bool:
    """True while the index still waits in hot for its rollover."""
    out = status.explain
    ds = index.meta.data_stream
    if not ds:
        out.update(
            action="rollover",
            step="ERROR",
            failed_step="check-rollover-ready",
            step_info={
                "type": "illegal_argument_exception",
                "reason": f"setting [index.lifecycle.rollover_alias] for index [{index.meta.name}] "
                "is empty or not defined (logstore rolls over data streams only)",
            },
        )
        return True
    backing = streams.get(ds, {}).get("indices", [])
    if backing and backing[-1] != index.meta.name:
        return False
    out.update(action="rollover", step="check-rollover-ready")
    max_age = conf.get("max_age")
    max_docs = conf.get("max_docs", conf.get("max_primary_shard_docs"))
    old_enough = max_age is not None and now_ms - index.meta.creation_date >= _ms(
        max_age, "max_age"
    )
    big_enough = max_docs is not None and index.doc_count() >= int(max_docs)
    if old_enough or big_enough:
        status.due = "rollover"
    status.extra["data_stream"] = ds
    return True


def _snapshotted(index: str, slm_policy: str, slm: dict[str, Any], since: int) -> bool:
    """ES's wait_for_snapshot: a snapshot of the policy, holding the index, started since."""
    info = slm.get(slm_policy, {})
    last = info.get("last_success") or {}
    return bool(last.get("snapshot_start_millis", 0) >= since and index in last.get("indices", []))
