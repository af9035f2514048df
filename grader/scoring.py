"""Scoring: from test outcomes to item statuses to module points. Plain functions, no pytest.

An item passes when it has at least one check and every one of its checks passed. An item
with no check, or whose checks were all skipped (e.g. the target has no control driver), is
NOT COVERED and scores 0, like a failed one: the grader gives points only for what it saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from grader.evidence import Evidence
from grader.visibility import Visibility

if TYPE_CHECKING:
    from grader.checklist import Checklist

ScoringMode = Literal["all-or-nothing", "proportional"]
Outcome = Literal["passed", "failed", "error", "skipped"]
Status = Literal["PASS", "FAIL", "NOT COVERED"]

NO_CHECK = "no check covers this item"
DESELECTED = "its checks were not selected in this run"
NOT_RUN = "its checks did not run (the run stopped early)"


class CheckRun(BaseModel):
    """One pytest test, summarised over its setup, call and teardown phases."""

    nodeid: str
    outcome: Outcome
    duration: float
    message: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class ItemResult(BaseModel):
    id: str
    module: str
    text: str
    status: Status
    reason: str
    tests: list[CheckRun]
    advice: str = Field(default="", description="for the student: what to fix (the checklist's)")
    visibility: Visibility = "visible"
    points_possible: float = Field(default=0.0, description="the item's share of its module")
    points_earned: float = Field(
        default=0.0, description="its part of the module's points; they add up to the module's"
    )


class ModuleResult(BaseModel):
    title: str
    points_possible: int
    points_earned: float
    items_passed: int
    items_total: int


def item_status(tests: Sequence[CheckRun], *, no_test: str = NO_CHECK) -> tuple[Status, str]:
    """The status of one item and the reason shown beside it (`no_test` when it has none)."""
    if not tests:
        return "NOT COVERED", no_test
    failed = [t for t in tests if t.outcome in ("failed", "error")]
    if failed:
        first = failed[0]
        prefix = f"{first.nodeid}: " if len(tests) > 1 else ""
        return "FAIL", prefix + (first.message or first.outcome)
    skipped = [t for t in tests if t.outcome == "skipped"]
    if skipped:
        return "NOT COVERED", skipped[0].message or "skipped"
    return "PASS", ""


def module_points(points: int, statuses: Sequence[Status], mode: ScoringMode) -> float:
    """`all-or-nothing`: every item must pass. `proportional`: points x passed / total."""
    if not statuses:
        return 0.0
    passed = sum(1 for status in statuses if status == "PASS")
    if mode == "all-or-nothing":
        return float(points) if passed == len(statuses) else 0.0
    return round(points * passed / len(statuses), 2)


def grade_items(
    checklist: Checklist,
    tests_by_item: Mapping[str, Sequence[CheckRun]],
    *,
    no_test_reasons: Mapping[str, str] | None = None,
) -> list[ItemResult]:
    """`no_test_reasons` says why an item has no test run when it is not `NO_CHECK`."""
    reasons = no_test_reasons or {}
    results = []
    for item in checklist.items:
        tests = list(tests_by_item.get(item.id, ()))
        status, reason = item_status(tests, no_test=reasons.get(item.id, NO_CHECK))
        results.append(
            ItemResult(
                id=item.id,
                module=item.module,
                text=item.text,
                status=status,
                reason=reason,
                tests=tests,
                advice=item.advice,
            )
        )
    return results


def grade_modules(
    checklist: Checklist, items: Sequence[ItemResult], mode: ScoringMode
) -> dict[str, ModuleResult]:
    modules = {}
    for name, module in checklist.modules.items():
        statuses = [item.status for item in items if item.module == name]
        modules[name] = ModuleResult(
            title=module.title,
            points_possible=module.points,
            points_earned=module_points(module.points, statuses, mode),
            items_passed=statuses.count("PASS"),
            items_total=len(statuses),
        )
    return modules


def summarise_runs(
    phases: Sequence[tuple[str, Outcome, float, str]],
    nodeid: str,
    *,
    evidence: Sequence[Evidence] = (),
) -> CheckRun:
    """Fold a test's phase reports (when, outcome, duration, message) into one run.

    A failure in any phase fails the test (setup or teardown failures are `error`);
    otherwise a skip in any phase skips it; otherwise it passed.
    """
    duration = round(sum(phase[2] for phase in phases), 3)
    run = CheckRun(nodeid=nodeid, outcome="passed", duration=duration, evidence=list(evidence))
    for when, outcome, _, message in phases:
        if outcome in ("failed", "error"):
            kind: Outcome = "failed" if when == "call" else "error"
            return run.model_copy(update={"outcome": kind, "message": message})
    for _, outcome, _, message in phases:
        if outcome == "skipped":
            return run.model_copy(update={"outcome": "skipped", "message": message})
    return run


def credit_items(
    items: Sequence[ItemResult], modules: Mapping[str, ModuleResult]
) -> list[ItemResult]:
    """Each item's share of its module's points, and its part of what the module earned.

    The module's earned points are split evenly among its passing items, so the items' points
    add up to the module's in either mode: under all-or-nothing, the passing items of a module
    that earned nothing earn nothing. Reports per item (Gradescope, GitHub Classroom, JUnit)
    read these, so that their totals match the grade.
    """
    credited = []
    for name, module in modules.items():
        own = [item for item in items if item.module == name]
        passing = [item.id for item in own if item.status == "PASS"]
        share = round(module.points_possible / len(own), 4) if own else 0.0
        each = round(module.points_earned / len(passing), 4) if passing else 0.0
        last = round(module.points_earned - each * (len(passing) - 1), 4) if passing else 0.0
        for item in own:
            earned = 0.0
            if item.id in passing:
                earned = last if item.id == passing[-1] else each
            update = {"points_possible": share, "points_earned": earned}
            credited.append(item.model_copy(update=update))
    order = {item.id: index for index, item in enumerate(items)}
    return sorted(credited, key=lambda item: order[item.id])
