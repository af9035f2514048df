"""What the chaos experiments' actions and probes share: the target and its controls, the fault
ledger, and the run's clock.

Timings: an action marks the moment it broke or repaired something (`fault`, `repair`) in the
run's clock file; a probe that waits for a consequence returns how long after the mark it
came, with its budget, and raises when it came late or not at all. A raised probe is a failed
activity in the journal, which the runner reports as a deviation naming it.

Every provider takes `configuration` (Chaos Toolkit passes it by name): `target_file`, the
target profile, and `run_dir`, where the clock file lives; both are set by the runner.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from grader.target import Target, load_target
from stack.control import Controls, connect
from stack.ledger import Ledger, Undo
from stack.paths import DataDir

Configuration = dict[str, Any]
FAULT_MAX_S = 300.0  # a fault left behind undoes itself after this long (five minutes)


class ChaosFailed(Exception):
    """What the experiment waited for did not happen, or came over its budget."""


def target_of(configuration: Configuration) -> Target:
    return load_target(Path(configuration["target_file"]))


def ledger_of(target: Target) -> Ledger:
    if target.control.data_dir is None:
        raise ChaosFailed(
            f"target {target.name!r} has no control.data_dir: the fault ledger lives there"
        )
    return Ledger(DataDir(target.control.data_dir))


def controls_of(target: Target) -> Controls:
    return connect(target.control)


def record_fault(
    configuration: Configuration,
    target: Target,
    what: str,
    undo: list[Undo],
    mark: str = "fault",
    max_s: float = FAULT_MAX_S,
) -> dict[str, Any]:
    """Write the fault in the ledger, then mark it on the run's clock (`fault`, or another
    name when an experiment injects a second fault): call it just before injecting the fault.
    Returns the fault's id and the mark's time."""
    fault = ledger_of(target).record(what, undo, max_s)
    return {"fault": fault.id, "at": set_mark(configuration, mark, fault=fault.id)["at"]}


def patience(budget_s: float) -> float:
    """How long a probe waits for what it times: well past the budget (a late event is
    reported with its delay), never under a minute (a slow machine is not a missing alert)."""
    return max(3 * budget_s, 60.0)


def clock_file(configuration: Configuration) -> Path:
    return Path(configuration["run_dir"]) / "clock.json"


def read_marks(configuration: Configuration) -> dict[str, dict[str, Any]]:
    path = clock_file(configuration)
    return json.loads(path.read_text()) if path.exists() else {}


def set_mark(configuration: Configuration, name: str, **extra: Any) -> dict[str, Any]:
    marks = read_marks(configuration)
    marks[name] = {"at": time.time(), **extra}
    path = clock_file(configuration)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(marks))
    return marks[name]


def mark_time(configuration: Configuration, mark: str) -> tuple[float, datetime]:
    """(Unix time of the mark, the same as a UTC datetime); an unmarked clock is a mistake of
    the experiment (a probe placed before its action)."""
    marks = read_marks(configuration)
    if mark not in marks:
        raise ChaosFailed(f"no `{mark}` mark on the clock: put the probe after its action")
    at = float(marks[mark]["at"])
    return at, datetime.fromtimestamp(at, UTC)


def timed(
    configuration: Configuration, timing: str, mark: str, what: str, wait: Any, budget_s: float
) -> dict[str, Any]:
    """Run `wait` (it returns once `what` happened, or raises), and judge its delay from
    `mark` against the budget."""
    at, _ = mark_time(configuration, mark)
    try:
        detail = wait()
    except Exception as exc:
        raise ChaosFailed(f"{what}: never happened ({exc})") from None
    return judged(timing, mark, what, round(time.time() - at, 1), budget_s, detail)


def judged(
    timing: str, mark: str, what: str, seconds: float, budget_s: float, detail: Any
) -> dict[str, Any]:
    """The result of a timed probe: what happened `seconds` after `mark`; raises when that is
    over the budget."""
    result = {
        "timing": timing,
        "from": mark,
        "what": what,
        "seconds": seconds,
        "budget_s": budget_s,
        "detail": detail,
    }
    if seconds > budget_s:
        raise ChaosFailed(f"{what}: {seconds} s after the {mark}, over its budget of {budget_s} s")
    return result


def gateway_of(target: Target) -> httpx.Client:
    """A client of the target's gateway, as the public reaches it."""
    return httpx.Client(base_url=target.url("gateway", "main"), timeout=5)
