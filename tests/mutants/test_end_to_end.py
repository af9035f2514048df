"""Integration: one cheap mutant for real. Its copy comes up at its own port offset, the
unmutated grader grades its item, and the copy is brought down and deleted, leaving no process.

auth-health-checks-nothing changes something observable: auth's /health lists no checks at
all, where the code of this checkout lists its postgres check. Seeing that on the running
copy proves the copy's code ran, not the editable install of this checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from grader.target import load_target
from mutants import runner
from mutants.catalog import load_catalog
from mutants.grading import RunResult
from mutants.processes import processes_of
from mutants.runner import Options, run_mutant

OFFSET = 1500  # collides with no other suite's stack (mutants/runner.py DEFAULT_OFFSET's note)
MUTANT = "auth-health-checks-nothing"


def test_a_mutant_runs_its_copys_code_is_caught_and_leaves_nothing(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    grade = runner.grade_item

    def observe_then_grade(item: str, *, target_file: Path, **kwargs: Any) -> RunResult:
        seen["copy"] = target_file.parent.parent
        auth = load_target(target_file).component("auth")
        seen["health"] = httpx.get(str(getattr(auth.probe, "url", "")), timeout=10).json()
        return grade(item, target_file=target_file, **kwargs)

    monkeypatch.setattr(runner, "grade_item", observe_then_grade)
    catalog = load_catalog()
    (mutant,) = catalog.select([MUTANT])
    options = Options(
        runs=1, offset=OFFSET, workdir=workdir, report_dir=tmp_path / "reports"
    )
    result = run_mutant(catalog, mutant, options, lambda line: None)

    assert result.judgement.verdict == "caught", result.judgement.detail
    assert "no database check" in result.judgement.detail
    assert seen["health"]["status"] == "pass" and seen["health"]["checks"] == {}, seen["health"]
    assert not seen["copy"].exists()
    assert processes_of(seen["copy"]) == []
    assert result.leftovers == []
    assert (options.report_dir / MUTANT / "run-1" / "grading.json").is_file()
