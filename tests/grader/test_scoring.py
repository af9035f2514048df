from __future__ import annotations

from pathlib import Path

import pytest

from grader.checklist import Checklist, parse_checklist
from grader.evidence import Evidence
from grader.scoring import (
    DESELECTED,
    NO_CHECK,
    CheckRun,
    Outcome,
    ScoringMode,
    Status,
    credit_items,
    grade_items,
    grade_modules,
    item_status,
    module_points,
    summarise_runs,
)


def run(outcome: Outcome, message: str = "", nodeid: str = "checks/t.py::t") -> CheckRun:
    return CheckRun(nodeid=nodeid, outcome=outcome, duration=0.1, message=message)


@pytest.fixture
def checklist() -> Checklist:
    raw = {
        "modules": {"a": {"title": "A", "points": 2}, "b": {"title": "B", "points": 1}},
        "items": [
            {"id": "a-one", "module": "a", "text": "One"},
            {"id": "a-two", "module": "a", "text": "Two"},
            {"id": "a-three", "module": "a", "text": "Three"},
            {"id": "b-one", "module": "b", "text": "Four"},
        ],
    }
    return parse_checklist(raw, source=Path("checklist.yaml"))


def test_an_item_passes_only_when_all_its_tests_pass() -> None:
    assert item_status([run("passed")]) == ("PASS", "")
    assert item_status([run("passed"), run("passed")]) == ("PASS", "")
    status, reason = item_status([run("passed"), run("failed", "expected 3, got 2", "t.py::b")])
    assert (status, reason) == ("FAIL", "t.py::b: expected 3, got 2")
    assert item_status([run("error", "fixture broke")]) == ("FAIL", "fixture broke")


def test_an_item_without_tests_or_with_only_skips_is_not_covered() -> None:
    assert item_status([]) == ("NOT COVERED", NO_CHECK)
    assert item_status([], no_test=DESELECTED) == ("NOT COVERED", DESELECTED)
    reason = "target has no control driver"
    assert item_status([run("skipped", reason)]) == ("NOT COVERED", reason)
    assert item_status([run("passed"), run("skipped", reason)]) == ("NOT COVERED", reason)
    assert item_status([run("skipped", reason), run("failed", "boom")])[0] == "FAIL"


@pytest.mark.parametrize(
    ("statuses", "all_or_nothing", "proportional"),
    [
        (["PASS", "PASS", "PASS"], 2.0, 2.0),
        (["PASS", "FAIL", "PASS"], 0.0, 1.33),
        (["PASS", "NOT COVERED", "FAIL"], 0.0, 0.67),
        (["FAIL", "NOT COVERED", "FAIL"], 0.0, 0.0),
        ([], 0.0, 0.0),
    ],
)
def test_module_points_in_both_modes(
    statuses: list[Status], all_or_nothing: float, proportional: float
) -> None:
    assert module_points(2, statuses, "all-or-nothing") == all_or_nothing
    assert module_points(2, statuses, "proportional") == proportional


def test_grading_a_checklist(checklist: Checklist) -> None:
    tests = {
        "a-one": [run("passed")],
        "a-two": [run("passed")],
        "a-three": [run("failed", "observed 500, expected 200")],
        "b-one": [run("passed")],
    }
    items = grade_items(checklist, tests, no_test_reasons={"a-three": DESELECTED})
    assert [i.status for i in items] == ["PASS", "PASS", "FAIL", "PASS"]
    assert items[2].reason == "observed 500, expected 200"
    strict = grade_modules(checklist, items, "all-or-nothing")
    assert (strict["a"].points_earned, strict["b"].points_earned) == (0.0, 1.0)
    assert (strict["a"].items_passed, strict["a"].items_total) == (2, 3)
    lenient = grade_modules(checklist, items, "proportional")
    assert (lenient["a"].points_earned, lenient["b"].points_earned) == (1.33, 1.0)


def test_items_without_tests_get_their_reason(checklist: Checklist) -> None:
    items = grade_items(checklist, {}, no_test_reasons={"a-two": DESELECTED})
    assert [i.reason for i in items] == [NO_CHECK, DESELECTED, NO_CHECK, NO_CHECK]


def test_summarise_runs_folds_phases() -> None:
    ok = summarise_runs([("setup", "passed", 0.1, ""), ("call", "passed", 0.2, "")], "n")
    assert (ok.outcome, ok.duration) == ("passed", 0.3)
    broken_setup = summarise_runs([("setup", "error", 0.1, "no db")], "n")
    assert (broken_setup.outcome, broken_setup.message) == ("error", "no db")
    failed = summarise_runs(
        [("setup", "passed", 0, ""), ("call", "failed", 0, "x"), ("teardown", "error", 0, "y")],
        "n",
    )
    assert (failed.outcome, failed.message) == ("failed", "x")
    teardown = summarise_runs(
        [("setup", "passed", 0, ""), ("call", "passed", 0, ""), ("teardown", "error", 0, "y")],
        "n",
    )
    assert (teardown.outcome, teardown.message) == ("error", "y")
    skipped = summarise_runs(
        [("setup", "skipped", 0, "no control"), ("teardown", "passed", 0, "")], "n"
    )
    assert (skipped.outcome, skipped.message) == ("skipped", "no control")
    kept = [Evidence(label="rto_s", value=12.3)]
    failed_with_evidence = summarise_runs([("call", "failed", 0, "x")], "n", evidence=kept)
    assert (failed_with_evidence.outcome, failed_with_evidence.evidence) == ("failed", kept)


@pytest.mark.parametrize(
    ("mode", "a_statuses", "a_points"),
    [
        ("all-or-nothing", ["passed", "passed", "failed"], [0, 0, 0]),
        ("all-or-nothing", ["passed", "passed", "passed"], [0.6667, 0.6667, 0.6666]),
        ("proportional", ["passed", "failed", "passed"], [0.665, 0, 0.665]),
    ],
)
def test_items_share_their_module_points_and_add_up_to_them(
    checklist: Checklist, mode: ScoringMode, a_statuses: list[Outcome], a_points: list[float]
) -> None:
    tests = {i: [run(o)] for i, o in zip(["a-one", "a-two", "a-three"], a_statuses, strict=True)}
    items = grade_items(checklist, tests | {"b-one": [run("passed")]})
    modules = grade_modules(checklist, items, mode)
    credited = credit_items(items, modules)
    assert [i.id for i in credited] == checklist.ids
    assert [i.points_possible for i in credited] == [0.6667, 0.6667, 0.6667, 1]
    assert [i.points_earned for i in credited[:3]] == a_points
    assert sum(i.points_earned for i in credited[:3]) == pytest.approx(modules["a"].points_earned)
    assert credited[3].points_earned == 1
