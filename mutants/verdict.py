"""From grading runs to a verdict on a mutant: did the grader catch the mistake?

- caught: its item FAILed in every run;
- missed: its item never failed (PASS, or NOT COVERED: the grader did not judge it);
- flaky: it failed in some runs only (a grader that catches a mistake now and then has not
  caught it, so it counts as a miss in the score);
- error: the mutated stack did not come up, or the grader wrote no report (the reason says);
- stale: the patch no longer applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mutants.grading import RunResult

Verdict = Literal["caught", "missed", "flaky", "error", "stale"]
VERDICTS: tuple[Verdict, ...] = ("caught", "missed", "flaky", "error", "stale")


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    detail: str


def judge(runs: Sequence[RunResult]) -> Judgement:
    if not runs:
        return Judgement("error", "no grading run finished")
    broken = [r for r in runs if r.status == "NO REPORT"]
    if broken:
        return Judgement("error", f"run {runs.index(broken[0]) + 1}: {broken[0].reason}")
    failed = [r for r in runs if r.status == "FAIL"]
    if len(failed) == len(runs):
        return Judgement("caught", failed[0].reason)
    if failed:
        passed = next(r for r in runs if r.status != "FAIL")
        return Judgement(
            "flaky",
            f"failed in {len(failed)} of {len(runs)} runs; a run without failure: "
            f"{passed.status} {passed.reason}".strip(),
        )
    reasons = sorted({r.reason for r in runs if r.reason})
    return Judgement(
        "missed",
        f"never failed ({', '.join(r.status for r in runs)})" + "".join(f"; {r}" for r in reasons),
    )



def score(verdicts: Sequence[Verdict]) -> tuple[int, int]:
    """(caught, total): every mutant counts, whatever its verdict."""
    return sum(1 for v in verdicts if v == "caught"), len(verdicts)
