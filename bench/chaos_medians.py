"""The medians of several chaos runs: each experiment's timings, read again from the journals
the runs wrote, as one table for docs/benchmarks.md. Not a test.

    ./nox -s chaos -- all      # three times; each run writes reports/chaos/<UTC time>/
    ./nox -s chaos -- run service-down --times 10     # or one experiment, many times
    .venv/bin/python -m bench.chaos_medians reports/chaos/<run 1> reports/chaos/<run 2> ...

A cell is `median (min to max) / budget` over the runs in which the experiment passed; the
`passed` column counts them. A run where an experiment deviated is left out of its medians
(its reasons are in that run's report.md). The verdicts are the runner's own (chaos/runner.py
judge_run: the journal, then the load against the experiment's floor), except a fault left
after the rollbacks, which only the run itself saw.
"""

from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path

from chaos.judge import Judgement
from chaos.report import COLUMNS
from chaos.runner import catalog, judge_run


def judgements(run: Path) -> list[Judgement]:
    """Every experiment run of one report folder (a `--times N` run holds `<name>-<round>`),
    judged as the runner judged it: the journal, then the load against its floor."""
    found = []
    experiments = catalog()
    for journal in sorted(run.glob("*/journal.json")):
        name = re.sub(r"-\d+$", "", journal.parent.name)
        judgement, _ = judge_run(name, experiments[name], journal.parent)
        found.append(judgement)
    return found


def cell(passed: list[Judgement], timing: str) -> str:
    """The medians of each timing of the kind, in the order the runs took them (an experiment
    may time two detections: a log alert's, then a metric alert's), `; ` between them."""
    per_run = [[t for t in j.timings if t.timing == timing] for j in passed]
    cells = []
    for i in range(max((len(found) for found in per_run), default=0)):
        seen = [found[i] for found in per_run if len(found) > i]
        values = [t.seconds for t in seen]
        middle = statistics.median(values)
        spread = f" ({min(values):.1f} to {max(values):.1f})" if len(values) > 1 else ""
        cells.append(f"{middle:.1f}{spread} / {seen[0].budget_s:.0f}")
    return "; ".join(cells) or "-"


def load_cell(ran: list[Judgement]) -> str:
    """The load's success ratio over every run, passed or not (a floor missed shows here)."""
    ratios = [j.load_success for j in ran if j.load_success is not None]
    if not ratios:
        return "-"
    middle = statistics.median(ratios)
    return (
        f"{middle:.2%} ({min(ratios):.2%} to {max(ratios):.2%})"
        if len(ratios) > 1
        else f"{middle:.2%}"
    )


def table(judged: list[Judgement]) -> str:
    names = list(dict.fromkeys(j.experiment for j in judged))
    head = ["experiment", "passed", *(f"{c} (s)" for c in COLUMNS), "lost data", "load ok"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        ran = [j for j in judged if j.experiment == name]
        passed = [j for j in ran if j.verdict == "passed"]
        lost = [j.lost for j in passed if j.lost is not None]
        lost_cell = f"{sum(n for n, _ in lost)} of {sum(of for _, of in lost)}" if lost else "-"
        cells = [f"`{name}`", f"{len(passed)} of {len(ran)}"]
        cells += [cell(passed, timing) for timing in COLUMNS]
        rows.append("| " + " | ".join([*cells, lost_cell, load_cell(ran)]) + " |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="reports/chaos/<UTC time> folders")
    args = parser.parse_args()
    print(table([j for run in args.runs for j in judgements(run)]))


if __name__ == "__main__":
    main()
