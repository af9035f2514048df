"""The suite's reports: `mutants.json` (every mutant, its runs, its verdict) and `mutants.md`
(the table docs/grading.md shows), and the mutation score."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mutants.baseline import Baseline
from mutants.grading import RunResult
from mutants.runner import MutantResult, Options
from mutants.verdict import score

JSON_NAME = "mutants.json"
MARKDOWN_NAME = "mutants.md"


def unproven(results: Sequence[MutantResult], baseline: Baseline | None) -> list[MutantResult]:
    """Caught mutants whose item does not pass on the unmutated copy either."""
    if baseline is None:
        return []
    return [
        r
        for r in results
        if r.judgement.verdict == "caught" and baseline.status(r.mutant.item) != "PASS"
    ]


def score_line(results: Sequence[MutantResult], baseline: Baseline | None = None) -> str:
    caught, total = score([r.judgement.verdict for r in results])
    share = f" ({100 * caught / total:.0f}%)" if total else ""
    doubtful = len(unproven(results, baseline))
    note = f"; {doubtful} of them fail unmutated too" if doubtful else ""
    return f"mutation score: {caught}/{total} caught{share}{note}"


def _run(run: RunResult) -> dict[str, Any]:
    return {"status": run.status, "reason": run.reason, "seconds": round(run.seconds, 1)}


def as_json(
    results: Sequence[MutantResult],
    options: Options,
    *,
    started: datetime,
    finished: datetime,
    baseline: Baseline | None = None,
) -> dict[str, Any]:
    caught, total = score([r.judgement.verdict for r in results])
    return {
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "runs_per_mutant": options.runs,
        "offset": options.offset,
        "score": {"caught": caught, "total": total},
        "baseline": None
        if baseline is None
        else {
            "items": {item: _run(run) for item, run in baseline.items.items()},
            "seconds": round(baseline.seconds, 1),
            "error": baseline.error,
            "leftovers": baseline.leftovers,
        },
        "mutants": [
            {
                "id": r.mutant.id,
                "item": r.mutant.item,
                "class": r.mutant.kind,
                "why": r.mutant.why,
                "verdict": r.judgement.verdict,
                "detail": r.judgement.detail,
                "seconds": round(r.seconds, 1),
                "up_seconds": None if r.up_seconds is None else round(r.up_seconds, 1),
                "runs": [_run(run) for run in r.runs],
                "leftovers": r.leftovers,
            }
            for r in results
        ],
    }


def _cell(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def as_markdown(results: Sequence[MutantResult], baseline: Baseline | None = None) -> str:
    """The table; with a baseline, a column says how the item did on the unmutated copy."""
    extra = ("", "") if baseline is None else (" unmutated |", "---|")
    lines = [
        f"| mutant | item | class |{extra[0]} result per run | verdict | seconds |",
        f"|---|---|---|{extra[1]}---|---|---|",
    ]
    for r in results:
        per_run = ", ".join(run.status for run in r.runs) or "-"
        unmutated = "" if baseline is None else f" {baseline.status(r.mutant.item)} |"
        lines.append(
            f"| `{r.mutant.id}` | {r.mutant.item} | {r.mutant.kind} |{unmutated} {per_run} "
            f"| **{r.judgement.verdict}** | {r.seconds:.0f} |"
        )
    lines += ["", f"**{score_line(results, baseline)}**"]
    if baseline is not None and baseline.error:
        lines += ["", f"The unmutated copy could not be graded: {_cell(baseline.error, 400)}"]
    notes = [r for r in results if r.judgement.verdict != "caught"]
    if notes:
        lines += ["", "Not caught, and why:", ""]
        lines += [
            f"- `{r.mutant.id}` ({r.judgement.verdict}): {_cell(r.judgement.detail, 400)}"
            for r in notes
        ]
    doubtful = unproven(results, baseline)
    if doubtful and baseline is not None:
        lines += ["", "Caught, but the item fails on the unmutated copy too (proves nothing):", ""]
        lines += [
            f"- `{r.mutant.id}`: unmutated {baseline.status(r.mutant.item)}: "
            f"{_cell(baseline.reason(r.mutant.item), 300)}"
            for r in doubtful
        ]

    return "\n".join(lines) + "\n"


def write(
    results: Sequence[MutantResult],
    options: Options,
    *,
    started: datetime,
    finished: datetime,
    baseline: Baseline | None = None,
) -> list[Path]:
    options.report_dir.mkdir(parents=True, exist_ok=True)
    data = as_json(results, options, started=started, finished=finished, baseline=baseline)
    json_path = options.report_dir / JSON_NAME
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    md_path = options.report_dir / MARKDOWN_NAME
    md_path.write_text(as_markdown(results, baseline), encoding="utf-8")
    return [json_path, md_path]
