"""The suite's reports: `mutants.json` (every mutant, its runs, its verdict) and `mutants.md`
(the table docs/grading.md shows), and the mutation score."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mutants.runner import MutantResult, Options
from mutants.verdict import score

JSON_NAME = "mutants.json"
MARKDOWN_NAME = "mutants.md"


def score_line(results: Sequence[MutantResult]) -> str:
    caught, total = score([r.judgement.verdict for r in results])
    share = f" ({100 * caught / total:.0f}%)" if total else ""
    return f"mutation score: {caught}/{total} caught{share}"


def as_json(
    results: Sequence[MutantResult], options: Options, *, started: datetime, finished: datetime
) -> dict[str, Any]:
    caught, total = score([r.judgement.verdict for r in results])
    return {
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "runs_per_mutant": options.runs,
        "offset": options.offset,
        "score": {"caught": caught, "total": total},
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
                "runs": [
                    {"status": run.status, "reason": run.reason, "seconds": round(run.seconds, 1)}
                    for run in r.runs
                ],
                "leftovers": r.leftovers,
            }
            for r in results
        ],
    }


def _cell(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def as_markdown(results: Sequence[MutantResult]) -> str:
    lines = [
        "| mutant | item | class | result per run | verdict | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        per_run = ", ".join(run.status for run in r.runs) or "-"
        lines.append(
            f"| `{r.mutant.id}` | {r.mutant.item} | {r.mutant.kind} | {per_run} "
            f"| **{r.judgement.verdict}** | {r.seconds:.0f} |"
        )
    lines += ["", f"**{score_line(results)}**"]
    notes = [r for r in results if r.judgement.verdict != "caught"]
    if notes:
        lines += ["", "Not caught, and why:", ""]
        lines += [f"- `{r.mutant.id}` ({r.judgement.verdict}): {_cell(r.judgement.detail, 400)}"
                  for r in notes]
    return "\n".join(lines) + "\n"


def write(
    results: Sequence[MutantResult],
    options: Options,
    *,
    started: datetime,
    finished: datetime,
) -> list[Path]:
    options.report_dir.mkdir(parents=True, exist_ok=True)
    data = as_json(results, options, started=started, finished=finished)
    json_path = options.report_dir / JSON_NAME
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    md_path = options.report_dir / MARKDOWN_NAME
    md_path.write_text(as_markdown(results), encoding="utf-8")
    return [json_path, md_path]
