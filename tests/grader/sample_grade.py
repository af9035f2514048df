"""A made-up grade with every case the outputs must handle, built by the real scoring functions:
a pass with evidence, a failure with evidence that is hidden from students, a not-covered item
shown after the due date, a module earning nothing under all-or-nothing although one of its items
passes, and a module earning all its points."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from grader.checklist import parse_checklist
from grader.evidence import Evidence
from grader.grade import Grade, TargetInfo
from grader.scoring import CheckRun, ScoringMode, credit_items, grade_items, grade_modules
from grader.visibility import Visibility

CHECKLIST = parse_checklist(
    {
        "modules": {
            "alpha": {"title": "Alpha", "points": 2},
            "beta": {"title": "Beta", "points": 1},
            "gamma": {"title": "Gamma", "points": 1},
        },
        "items": [
            {"id": "alpha-one", "module": "alpha", "text": "First works", "advice": "Fix one."},
            {
                "id": "alpha-two",
                "module": "alpha",
                "text": "Second works",
                "advice": "Make the second thing answer 401 to strangers.",
            },
            {"id": "beta-one", "module": "beta", "text": "Third works", "advice": "Fix three."},
            {
                "id": "beta-two",
                "module": "beta",
                "text": "Fourth recovers",
                "advice": "Rehearse the recovery of the fourth thing.",
            },
            {"id": "gamma-one", "module": "gamma", "text": "Fifth works", "advice": "Fix five."},
        ],
    },
    source=Path("checklist.yaml"),
)

FAILURE = "expected HTTP 401 | observed 200 <secret-ish & detail>"
HIDDEN_EVIDENCE = "observed status codes"
VISIBLE_EVIDENCE = "emails received"

RUNS = {
    "alpha-one": [
        CheckRun(
            nodeid="checks/test_a.py::test_one",
            outcome="passed",
            duration=1.25,
            evidence=[
                Evidence(label=VISIBLE_EVIDENCE, value=["[FIRING:1] ServiceDown users"]),
                Evidence(label="rto_s", value=12.3),
            ],
        )
    ],
    "alpha-two": [
        CheckRun(
            nodeid="checks/test_a.py::test_two",
            outcome="failed",
            duration=0.5,
            message=FAILURE,
            evidence=[Evidence(label=HIDDEN_EVIDENCE, value={"anonymous": 200, "wrong": 200})],
        )
    ],
    "beta-one": [CheckRun(nodeid="checks/test_b.py::test_three", outcome="passed", duration=2)],
    "beta-two": [
        CheckRun(
            nodeid="checks/test_b.py::test_four",
            outcome="skipped",
            duration=0,
            message="target has no control driver",
        )
    ],
    "gamma-one": [CheckRun(nodeid="checks/test_c.py::test_five", outcome="passed", duration=0.1)],
}

LEVELS: dict[str, Visibility] = {"alpha-two": "hidden", "beta-two": "after_due_date"}


def sample_grade(
    *, scoring: ScoringMode = "all-or-nothing", levels: dict[str, Visibility] | None = None
) -> Grade:
    items = grade_items(CHECKLIST, RUNS)
    modules = grade_modules(CHECKLIST, items, scoring)
    chosen = LEVELS if levels is None else levels
    items = [
        item.model_copy(update={"visibility": chosen.get(item.id, "visible")})
        for item in credit_items(items, modules)
    ]
    return Grade(
        target=TargetInfo(name="demo <stack>", runtime="local", control="none", profile=None),
        scoring=scoring,
        started=datetime(2025, 1, 1, 12, 0, tzinfo=UTC),
        finished=datetime(2025, 1, 1, 12, 5, 30, tzinfo=UTC),
        points_possible=CHECKLIST.points_possible,
        points_earned=round(sum(m.points_earned for m in modules.values()), 2),
        modules=modules,
        items=items,
        prerequisites=[
            CheckRun(nodeid="checks/test_components.py::test_up[db]", outcome="passed", duration=1),
            CheckRun(
                nodeid="checks/test_components.py::test_up[ghost]",
                outcome="failed",
                duration=1,
                message="timed out waiting for ghost",
            ),
        ],
    )
