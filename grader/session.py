"""The state of one grading run, shared by the plugin's hooks and the checks' fixtures.

Kept apart from `grader.plugin` so that `checks/conftest.py` can import these helpers
without importing the plugin module before pytest registers it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grader.checklist import Checklist
from grader.errors import GraderError
from grader.evidence import Evidence
from grader.grade import Grade, TargetInfo
from grader.scoring import (
    DESELECTED,
    NOT_RUN,
    CheckRun,
    Outcome,
    ScoringMode,
    credit_items,
    grade_items,
    grade_modules,
    summarise_runs,
)
from grader.target import Target
from grader.visibility import VisibilityOverrides, default_level, resolve

MARKER = "checklist"
NO_CONTROL_REASON = "target has no control driver"
SCORING_MODES: tuple[ScoringMode, ...] = ("all-or-nothing", "proportional")

Phase = tuple[str, Outcome, float, str]


@dataclass
class GradingState:
    checklist_path: Path
    report_dir: Path
    scoring_option: ScoringMode | None
    checklist: Checklist | None = None
    target: Target | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    checks: dict[str, list[str]] = field(default_factory=dict)  # nodeid -> checklist ids
    prerequisites: list[str] = field(default_factory=list)
    deselected: set[str] = field(default_factory=set)
    phases: dict[str, list[Phase]] = field(default_factory=dict)
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)  # nodeid -> evidence
    visibility: VisibilityOverrides = field(default_factory=VisibilityOverrides)
    grade: Grade | None = None
    written: list[Path] = field(default_factory=list)
    write_error: str | None = None

    @property
    def scoring(self) -> ScoringMode:
        if self.scoring_option is not None:
            return self.scoring_option
        return self.target.scoring if self.target else "all-or-nothing"


STATE = pytest.StashKey[GradingState]()


def state_of(config: pytest.Config) -> GradingState:
    try:
        return config.stash[STATE]
    except KeyError:
        raise GraderError("the grader plugin is not configured in this pytest run") from None


def target_of(config: pytest.Config) -> Target:
    """The loaded target profile (loaded once, at session start)."""
    target = state_of(config).target
    if target is None:
        raise GraderError("the target profile is not loaded yet (it loads at session start)")
    return target


def checklist_ids(item: pytest.Item) -> list[str]:
    return [str(arg) for mark in item.iter_markers(MARKER) for arg in mark.args]


def failure_message(exc: BaseException) -> str:
    """The first line of what went wrong, as a reader of the report wants to see it."""
    if isinstance(exc, pytest.skip.Exception):
        return exc.msg or "skipped"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, AssertionError):
        return first or "assertion failed"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def build_grade(state: GradingState) -> Grade:
    if state.checklist is None or state.target is None:
        raise GraderError("cannot grade: the checklist or the target profile did not load")
    runs = {
        nodeid: summarise_runs(phases, nodeid, evidence=state.evidence.get(nodeid, ()))
        for nodeid, phases in state.phases.items()
    }
    by_item: dict[str, list[CheckRun]] = {}
    reasons = dict.fromkeys(state.deselected, DESELECTED)
    for nodeid, ids in state.checks.items():
        for item_id in ids:
            if nodeid in runs:
                by_item.setdefault(item_id, []).append(runs[nodeid])
            else:
                reasons[item_id] = NOT_RUN
    items = grade_items(state.checklist, by_item, no_test_reasons=reasons)
    modules = grade_modules(state.checklist, items, state.scoring)
    target = state.target
    settings = target.grading.visibility
    levels = resolve(state.checklist.ids, settings, state.visibility)
    items = [
        item.model_copy(update={"visibility": levels[item.id]})
        for item in credit_items(items, modules)
    ]
    return Grade(
        target=TargetInfo(
            name=target.name,
            runtime=target.runtime,
            control=target.control.driver,
            profile=os.fspath(target.source) if target.source else None,
        ),
        scoring=state.scoring,
        started=state.started,
        finished=datetime.now(UTC),
        points_possible=state.checklist.points_possible,
        points_earned=round(sum(m.points_earned for m in modules.values()), 2),
        modules=modules,
        items=items,
        prerequisites=[runs[nodeid] for nodeid in state.prerequisites if nodeid in runs],
        visibility=default_level(settings, state.visibility),
    )
