"""The batch with fakes in place of the stack and the grader: a verdict per mutant, and the copy
brought down and deleted whatever happens (stale patch, failed up, Ctrl-C, the time limit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mutants import baseline, runner
from mutants.catalog import Catalog, Mutant
from mutants.errors import StackDidNotComeUp, StalePatch
from mutants.grading import RunResult
from mutants.processes import Finished
from mutants.runner import Options, run_all, run_mutant


def mutant(mutant_id: str = "auth-health-checks-nothing") -> Mutant:
    return Mutant(
        id=mutant_id,
        item="hc-health-endpoint",
        kind="exists-not-works",
        why="auth's /health checks nothing, so it passes without a database.",
        patch=f"{mutant_id}.patch",
    )


@dataclass
class Fakes:
    """What the runner did: copies made, stacks up and down, grading runs."""

    statuses: list[str] = field(default_factory=lambda: ["FAIL", "FAIL"])
    stale: bool = False
    up_fails: bool = False
    interrupt_in_run: int | None = None
    copies: list[Path] = field(default_factory=list)
    ups: list[Path] = field(default_factory=list)
    downs: list[Path] = field(default_factory=list)
    graded: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    found = Fakes()

    def copy_repository(repo: Path, into: Path) -> int:
        found.copies.append(into)
        (into / "marker").write_text("copied")
        return 1

    def apply_patch(copy: Path, patch: Path) -> None:
        if found.stale:
            raise StalePatch(f"{patch.name} no longer applies: context differs")

    def up(self: Any, *, timeout: float, log: Path) -> Finished:
        found.ups.append(self.copy)
        if found.up_fails:
            raise StackDidNotComeUp("`python -m stack up` exited with 1: port 24001 taken")
        return Finished(0, 12.5, log)

    def down(self: Any, *, log: Path, timeout: float = 1) -> list[str]:
        found.downs.append(self.copy)
        return ["4242 python -m uvicorn"]

    def grade_item(item: str, **kwargs: Any) -> RunResult:
        found.graded.append({"item": item, **kwargs})
        n = len(found.graded)
        if found.interrupt_in_run == n:
            raise KeyboardInterrupt
        return RunResult(found.statuses[n - 1], f"reason {n}", 3.0)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "copy_repository", copy_repository)
    monkeypatch.setattr(runner, "apply_patch", apply_patch)
    monkeypatch.setattr(runner.MutatedStack, "up", up)
    monkeypatch.setattr(runner.MutatedStack, "down", down)
    monkeypatch.setattr(runner, "grade_item", grade_item)
    monkeypatch.setattr(baseline, "grade_item", grade_item)
    return found


@pytest.fixture
def options(tmp_path: Path, workdir: Path) -> Options:
    return Options(runs=2, offset=22300, workdir=workdir, report_dir=tmp_path / "r")


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(mutants=[mutant(), mutant("users-breaker-never-opens")], directory=tmp_path)


def said() -> tuple[list[str], Any]:
    lines: list[str] = []
    return lines, lines.append


def test_a_caught_mutant_is_graded_each_run_then_brought_down_and_deleted(
    fakes: Fakes, options: Options, catalog: Catalog
) -> None:
    lines, say = said()
    result = run_mutant(catalog, catalog.mutants[0], options, say)
    assert result.judgement.verdict == "caught"
    assert [r.status for r in result.runs] == ["FAIL", "FAIL"]
    assert result.up_seconds == 12.5
    (copy,) = fakes.copies
    assert fakes.ups == [copy] and fakes.downs == [copy]
    assert not copy.exists()
    assert result.leftovers == ["4242 python -m uvicorn"]
    first = fakes.graded[0]
    assert first["item"] == "hc-health-endpoint"
    assert first["target_file"] == copy / ".stack" / "target.yaml"
    assert first["report_dir"] == options.report_dir / "auth-health-checks-nothing" / "run-1"
    assert first["env"]["STACK_PORT_POSTGRES"] == "27732"  # 5432 + 22300
    assert any("run 2: hc-health-endpoint FAIL" in line for line in lines)


def test_a_pass_then_a_fail_is_flaky(fakes: Fakes, options: Options, catalog: Catalog) -> None:
    fakes.statuses = ["PASS", "FAIL"]
    assert run_mutant(catalog, catalog.mutants[0], options, said()[1]).judgement.verdict == "flaky"


def test_a_stale_patch_is_reported_and_nothing_is_brought_up(
    fakes: Fakes, options: Options, catalog: Catalog
) -> None:
    fakes.stale = True
    result = run_mutant(catalog, catalog.mutants[0], options, said()[1])
    assert result.judgement.verdict == "stale"
    assert "no longer applies" in result.judgement.detail
    assert fakes.ups == [] and fakes.graded == []
    assert not fakes.copies[0].exists()


def test_a_stack_that_does_not_come_up_is_an_error_saying_why_and_is_cleaned_up(
    fakes: Fakes, options: Options, catalog: Catalog
) -> None:
    fakes.up_fails = True
    result = run_mutant(catalog, catalog.mutants[0], options, said()[1])
    assert result.judgement.verdict == "error"
    assert "port 24001 taken" in result.judgement.detail
    assert fakes.downs == fakes.copies and not fakes.copies[0].exists()


def test_ctrl_c_during_grading_still_brings_the_copy_down_and_deletes_it(
    fakes: Fakes, options: Options, catalog: Catalog
) -> None:
    fakes.interrupt_in_run = 1
    with pytest.raises(KeyboardInterrupt):
        run_mutant(catalog, catalog.mutants[0], options, said()[1])
    assert fakes.downs == fakes.copies and not fakes.copies[0].exists()


def test_the_time_limit_ends_the_mutant_as_an_error(
    fakes: Fakes, options: Options, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = iter([0.0, 0.0, 100.0, 100.0, 100.0, 100.0])
    monkeypatch.setattr(runner.time, "monotonic", lambda: next(ticks, 100.0))
    limited = Options(runs=2, workdir=options.workdir, report_dir=options.report_dir,
                      time_limit_s=50.0)
    result = run_mutant(catalog, catalog.mutants[0], limited, said()[1])
    assert result.judgement.verdict == "error"
    assert "time limit of 50 s reached before grading run 1" in result.judgement.detail
    assert fakes.downs == fakes.copies and not fakes.copies[0].exists()


def test_run_all_runs_each_mutant_in_turn(fakes: Fakes, options: Options, catalog: Catalog) -> None:
    fakes.statuses = ["FAIL", "FAIL", "PASS", "PASS"]
    results = list(run_all(catalog, catalog.mutants, options, said()[1]))
    assert [r.judgement.verdict for r in results] == ["caught", "missed"]
    assert len(fakes.copies) == 2 and len(fakes.downs) == 2


def test_the_baseline_grades_each_item_once_on_an_unpatched_copy(
    fakes: Fakes, options: Options
) -> None:
    fakes.statuses = ["PASS", "FAIL"]
    found = baseline.run_baseline(["hc-health-endpoint", "ms-independent"], options, said()[1])
    assert [g["item"] for g in fakes.graded] == ["hc-health-endpoint", "ms-independent"]
    assert found.status("hc-health-endpoint") == "PASS"
    assert found.status("ms-independent") == "FAIL"
    assert found.status("elk-logs-collected") == "-"
    assert fakes.graded[1]["report_dir"] == options.report_dir / "unmutated" / "ms-independent"
    assert fakes.downs == fakes.copies and not fakes.copies[0].exists()
    assert found.error == "" and found.leftovers == ["4242 python -m uvicorn"]

