"""`python -m mutants combine RUN.json...`: one table from several runs of the suite.

The suite may be run in parts at once, each at its own port offset and into its own report
folder (`--only`, `--offset`, `--report-dir`), or a part run again after a check was mended.
This reads each part's `mutants.json`, in the order given, and writes the reports of the
whole: where two parts ran the same mutant, or graded the same item unmutated, the later part
wins. Mutants of the catalog that no part ran are listed as such, and count as not caught.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from mutants.baseline import Baseline
from mutants.catalog import Catalog
from mutants.errors import MutantsError
from mutants.grading import RunResult
from mutants.runner import MutantResult
from mutants.verdict import VERDICTS, Judgement


def _run(raw: dict[str, Any]) -> RunResult:
    return RunResult(raw["status"], raw.get("reason", ""), float(raw.get("seconds", 0.0)))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MutantsError(f"{path}: not a mutants.json this suite wrote ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("mutants"), list):
        raise MutantsError(f"{path}: not a mutants.json this suite wrote (no `mutants` list)")
    return data


def combine(
    catalog: Catalog, paths: list[Path]
) -> tuple[list[MutantResult], Baseline, list[str], tuple[datetime, datetime]]:
    """The results in catalog order, the baseline, the ids no part ran, and the first start
    and last end of the parts."""
    by_id = {m.id: m for m in catalog.mutants}
    found: dict[str, MutantResult] = {}
    baseline = Baseline()
    starts, ends = [], []
    for path in paths:
        data = _read(path)
        starts.append(datetime.fromisoformat(data["started"]))
        ends.append(datetime.fromisoformat(data["finished"]))
        for item, run in ((data.get("baseline") or {}).get("items") or {}).items():
            baseline.items[item] = _run(run)
        for raw in data["mutants"]:
            mutant = by_id.get(raw.get("id"))
            if mutant is None:
                raise MutantsError(f"{path}: mutant {raw.get('id')!r} is not in the catalog")
            if raw.get("verdict") not in VERDICTS:
                raise MutantsError(f"{path}: {mutant.id} has no known verdict")
            found[mutant.id] = MutantResult(
                mutant,
                Judgement(raw["verdict"], raw.get("detail", "")),
                [_run(r) for r in raw.get("runs", [])],
                float(raw.get("seconds", 0.0)),
                raw.get("up_seconds"),
                list(raw.get("leftovers", [])),
            )
    if not starts:
        raise MutantsError("name at least one mutants.json to combine")
    missing = [m.id for m in catalog.mutants if m.id not in found]
    unrun = Judgement("error", "not run in any part")
    ordered = [found.get(m.id) or MutantResult(m, unrun) for m in catalog.mutants]
    return ordered, baseline, missing, (min(starts), max(ends))
