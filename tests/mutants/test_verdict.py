"""From grading runs to a verdict, and the grader's report read back."""

from __future__ import annotations

import json
from pathlib import Path

from mutants.grading import RunResult, read_item
from mutants.verdict import Judgement, judge, score


def run(status: str, reason: str = "") -> RunResult:
    return RunResult(status, reason, 1.0)  # type: ignore[arg-type]


def test_failed_in_every_run_is_caught_with_the_first_reason() -> None:
    judgement = judge([run("FAIL", "expected 503, got 200"), run("FAIL", "other")])
    assert (judgement.verdict, judgement.detail) == ("caught", "expected 503, got 200")


def test_passed_or_not_covered_in_every_run_is_missed() -> None:
    assert judge([run("PASS"), run("PASS")]) == Judgement("missed", "never failed (PASS, PASS)")
    missed = judge([run("NOT COVERED", "target has no control driver")])
    assert missed == Judgement(
        "missed", "never failed (NOT COVERED); target has no control driver"
    )


def test_failed_in_some_runs_only_is_flaky() -> None:
    judgement = judge([run("FAIL", "x"), run("PASS")])
    assert judgement.verdict == "flaky"
    assert "failed in 1 of 2 runs" in judgement.detail


def test_a_run_without_report_is_an_error_naming_the_run() -> None:
    judgement = judge([run("FAIL"), run("NO REPORT", "the grader ran out of its 60 s")])
    assert judgement.verdict == "error"
    assert judgement.detail == "run 2: the grader ran out of its 60 s"
    assert judge([]).verdict == "error"


def test_score_counts_only_caught_among_all() -> None:
    assert score(["caught", "missed", "flaky", "error", "stale", "caught"]) == (2, 6)


def write_grading(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"items": items}))
    return path


def test_read_item_gives_status_and_reason(tmp_path: Path) -> None:
    path = write_grading(
        tmp_path / "grading.json",
        [
            {"id": "hc-health-endpoint", "status": "FAIL", "reason": "no database check"},
            {"id": "hc-status-page", "status": "NOT COVERED", "reason": None},
        ],
    )
    assert read_item(path, "hc-health-endpoint") == ("FAIL", "no database check")
    assert read_item(path, "hc-status-page") == ("NOT COVERED", "")


def test_read_item_without_a_usable_report_says_why(tmp_path: Path) -> None:
    status, reason = read_item(tmp_path / "grading.json", "x", "ImportError: boom")
    assert status == "NO REPORT" and "ImportError: boom" in reason
    path = write_grading(tmp_path / "g.json", [{"id": "other", "status": "PASS"}])
    assert read_item(path, "x") == ("NO REPORT", f"{path} has no item 'x'")
    odd = write_grading(tmp_path / "odd.json", [{"id": "x", "status": "MAYBE"}])
    assert read_item(odd, "x")[0] == "NO REPORT"
