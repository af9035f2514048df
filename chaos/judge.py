"""A verdict from a Chaos Toolkit journal, read field by field.

`chaos run`'s exit code says too little: it is 0 when an action raised (the step is marked
failed and the run goes on), and 0 when the steady state did not hold before the method (the
method is skipped). So the journal is read: the steady state before, every step of the method
and of the rollbacks, the steady state after, and the status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chaos.phases import Phase

Verdict = Literal["passed", "deviated", "refused", "error"]


@dataclass(frozen=True)
class Timing:
    timing: str  # detect | notify | show | resolve | ...
    what: str
    seconds: float
    budget_s: float
    mark: str = "fault"  # what it is timed from: fault | repair


@dataclass
class Judgement:
    experiment: str
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    duration_s: float = 0.0
    load_success: float | None = None  # the share of load requests answered without a 5xx
    # (items lost, items counted) where the experiment counts data (events, log lines, users)
    lost: tuple[int, int] | None = None
    load_phases: dict[str, Phase] = field(default_factory=dict)  # before, during, after

    def deviate(self, reason: str) -> None:
        """Add a reason; a pass becomes a deviation (a refusal or an error stays what it is)."""
        if self.verdict == "passed":
            self.verdict = "deviated"
        self.reasons.append(reason)


def _last_line(entry: dict[str, Any]) -> str:
    lines = [line.strip() for line in entry.get("exception") or [] if line.strip()]
    text = lines[-1] if lines else "no exception recorded"
    # chaoslib wraps what a provider raised as "chaoslib.exceptions.ActivityFailed: Type: msg"
    text = text.removeprefix("chaoslib.exceptions.ActivityFailed: ")
    return text.removeprefix("chaos.context.")


def _name(entry: dict[str, Any]) -> str:
    return str(entry.get("activity", {}).get("name", "?"))


def _probe_problems(state: dict[str, Any] | None) -> list[str]:
    if not state:
        return []
    problems = []
    for probe in state.get("probes", []):
        if probe.get("status") != "succeeded":
            problems.append(f"{_name(probe)}: {_last_line(probe)}")
        elif not probe.get("tolerance_met", True):
            problems.append(f"{_name(probe)}: answered {probe.get('output')!r}, out of tolerance")
    return problems


def timings_of(journal: dict[str, Any]) -> list[Timing]:
    found = []
    for entry in journal.get("run", []):
        output = entry.get("output")
        if isinstance(output, dict) and "timing" in output:
            found.append(
                Timing(
                    str(output["timing"]),
                    str(output["what"]),
                    float(output["seconds"]),
                    float(output["budget_s"]),
                    str(output.get("from", "fault")),
                )
            )
    return found


def lost_of(journal: dict[str, Any]) -> tuple[int, int] | None:
    """What the counting probes counted (`counted`) and found lost (`lost`), summed; a count
    that never finished is in the deviation's reason instead."""
    lost = counted = 0
    found = False
    for entry in journal.get("run", []):
        detail = (entry.get("output") or {}).get("detail") if entry.get("output") else None
        if isinstance(detail, dict) and "counted" in detail and "lost" in detail:
            found = True
            lost += int(detail["lost"])
            counted += int(detail["counted"])
    return (lost, counted) if found else None


def judge(name: str, journal: dict[str, Any] | None, *, why_missing: str = "") -> Judgement:
    if journal is None:
        return Judgement(name, "error", [f"no journal was written: {why_missing}"])
    result = Judgement(
        name,
        "passed",
        timings=timings_of(journal),
        duration_s=float(journal.get("duration", 0)),
        lost=lost_of(journal),
    )
    before = (journal.get("steady_states") or {}).get("before")
    if before is not None and not before.get("steady_state_met"):
        problems = _probe_problems(before) or ["the steady state was not met"]
        result.verdict = "refused"
        result.reasons = [f"before any fault: {p}" for p in problems]
        return result
    reasons = []
    status = journal.get("status")
    if status != "completed":
        reasons.append(f"the run ended {status}")
    for entry in journal.get("run", []):
        if entry.get("status") is None:
            reasons.append(f"{_name(entry)}: never finished (the run was stopped)")
        elif entry["status"] != "succeeded":
            reasons.append(f"{_name(entry)}: {_last_line(entry)}")
    after = (journal.get("steady_states") or {}).get("after")
    if journal.get("deviated") or (after is not None and not after.get("steady_state_met")):
        problems = _probe_problems(after) or ["the steady state was not met"]
        reasons.extend(f"after the experiment: {p}" for p in problems)
    for entry in journal.get("rollbacks", []):
        if entry.get("status") != "succeeded":
            reasons.append(f"rollback {_name(entry)}: {_last_line(entry)}")
    if reasons:
        result.verdict = "deviated"
        result.reasons = reasons
    return result
