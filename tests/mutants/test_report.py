"""The suite's reports: the Markdown table docs/grading.md shows, the JSON, the score."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from mutants import report
from mutants.catalog import Mutant
from mutants.grading import RunResult
from mutants.runner import MutantResult, Options
from mutants.verdict import Judgement


def result(mutant_id: str, verdict: str, statuses: list[str], detail: str = "") -> MutantResult:
    mutant = Mutant(
        id=mutant_id,
        item="hc-status-page",
        kind="one-channel",
        why="the headline is hard-coded to All Systems Operational, whatever the rows say",
        patch=f"{mutant_id}.patch",
    )
    runs = [RunResult(s, "", 40.0) for s in statuses]  # type: ignore[arg-type]
    return MutantResult(mutant, Judgement(verdict, detail), runs, seconds=201.4)  # type: ignore[arg-type]


RESULTS = [
    result("status-polls-every-minute", "caught", ["FAIL", "FAIL"], "took 120 s"),
    result("status-headline-fixed", "missed", ["PASS", "PASS"], "PASS | no check of the headline"),
]


def test_the_markdown_table_has_a_row_per_mutant_and_the_score() -> None:
    text = report.as_markdown(RESULTS)
    assert "| mutant | item | class | result per run | verdict | seconds |" in text
    assert (
        "| `status-polls-every-minute` | hc-status-page | one-channel | FAIL, FAIL "
        "| **caught** | 201 |"
    ) in text
    assert "**mutation score: 1/2 caught (50%)**" in text
    assert "- `status-headline-fixed` (missed): PASS \\| no check of the headline" in text


def test_the_json_keeps_runs_verdicts_and_the_score(tmp_path: Path) -> None:
    options = Options(report_dir=tmp_path)
    at = datetime(2026, 12, 6, tzinfo=UTC)
    paths = report.write(RESULTS, options, started=at, finished=at)
    assert [p.name for p in paths] == ["mutants.json", "mutants.md"]
    data = json.loads((tmp_path / "mutants.json").read_text())
    assert data["score"] == {"caught": 1, "total": 2}
    first = data["mutants"][0]
    assert first["verdict"] == "caught" and first["class"] == "one-channel"
    assert first["runs"] == [{"status": "FAIL", "reason": "", "seconds": 40.0}] * 2


def test_with_a_baseline_a_catch_of_an_item_failing_unmutated_is_marked() -> None:
    from mutants.baseline import Baseline

    baseline = Baseline(items={"hc-status-page": RunResult("FAIL", "slow machine", 30.0)})
    text = report.as_markdown(RESULTS, baseline)
    assert "| mutant | item | class | unmutated | result per run | verdict | seconds |" in text
    assert "| one-channel | FAIL | FAIL, FAIL | **caught** |" in text
    assert "1/2 caught (50%); 1 of them fail unmutated too" in text
    assert "- `status-polls-every-minute`: unmutated FAIL: slow machine" in text
