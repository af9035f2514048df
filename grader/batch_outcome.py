"""One target's gradebook row, from how its grading run ended and the grading.json it wrote.

`graded`: the checks ran and scored the target, whatever the points. `unreachable`: every
component failed its health probe (`checks/test_components.py`), so nothing was really graded;
0 points. `timed out`: stopped at the time limit. `invalid profile`: the profile did not load.
`error`: pytest ended without a report (its log says why).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.batch_plan import Job
from grader.gradebook import Row
from grader.timed_run import RunResult

REPORT_NAME = "grading.json"
COMPONENT_CHECK = "test_components.py::"  # the prerequisites: each component answers its probe
_UNHEALTHY = ("failed", "error")
_PYTEST_EXITS = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests ran"}
_MAX_NOTE = 500


def invalid_row(job: Job, *, possible: float, graded_at: str, report_dir: str) -> Row:
    return Row(
        target=job.name,
        profile=str(job.profile),
        status="invalid profile",
        possible=possible,
        duration_s=0.0,
        graded_at=graded_at,
        report_dir=report_dir,
        note=one_line(job.problem.replace(str(job.profile), job.profile.name)),
    )


def run_row(
    job: Job,
    result: RunResult,
    *,
    folder: Path,
    log: Path,
    modules: Sequence[str],
    possible: float,
    time_limit: float,
    graded_at: str,
) -> Row:
    """The row of a target whose pytest ran, its reports in `folder` (named in the row)."""
    common: dict[str, Any] = {
        "target": job.name,
        "profile": str(job.profile),
        "possible": possible,
        "duration_s": round(result.seconds, 1),
        "graded_at": graded_at,
        "report_dir": folder.name,
    }
    grade, unreadable = read_report(folder / REPORT_NAME)
    if result.timed_out:
        partial = "; its folder holds the partial report" if grade else ""
        note = f"stopped at the {time_limit:g} s time limit{partial}"
        return Row(status="timed out", note=note, **common)
    if grade is None:
        exit_meaning = _PYTEST_EXITS.get(result.returncode, "")
        what = f"pytest exited {result.returncode}" + (f" ({exit_meaning})" if exit_meaning else "")
        note = f"{what} without a usable report ({unreadable}); last output: {last_line(log)}"
        return Row(status="error", note=one_line(note), **common)
    probes = [run for run in grade.get("prerequisites") or [] if COMPONENT_CHECK in run["nodeid"]]
    down = [run for run in probes if run["outcome"] in _UNHEALTHY]
    if probes and len(down) == len(probes):
        note = f"none of its {len(probes)} components answered its health probe"
        points = dict.fromkeys(modules, 0.0)
        return Row(status="unreachable", points=points, total=0.0, note=note, **common)
    notes = []
    if down:
        names = ", ".join(_component(run["nodeid"]) for run in down)
        notes.append(f"{len(down)} of {len(probes)} components not healthy: {names}")
    if result.returncode in _PYTEST_EXITS:
        notes.append(f"pytest exited {result.returncode} ({_PYTEST_EXITS[result.returncode]})")
    earned = grade["modules"]
    common["possible"] = float(grade["points_possible"])
    return Row(
        status="graded",
        points={m: float(earned[m]["points_earned"]) for m in modules if m in earned},
        total=float(grade["points_earned"]),
        note=one_line("; ".join(notes)),
        **common,
    )


def read_report(path: Path) -> tuple[dict[str, Any] | None, str]:
    """grading.json when it is there and has the keys the gradebook reads; else why not."""
    try:
        grade = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no {path.name}"
    except (OSError, ValueError) as exc:
        return None, f"{path.name} unreadable: {exc}"
    if not _has_gradebook_keys(grade):
        return None, f"{path.name} lacks points_earned, points_possible, modules or prerequisites"
    return grade, ""


def _has_gradebook_keys(grade: Any) -> bool:
    if not isinstance(grade, Mapping):
        return False
    modules, prerequisites = grade.get("modules"), grade.get("prerequisites")
    return (
        isinstance(grade.get("points_earned"), int | float)
        and isinstance(grade.get("points_possible"), int | float)
        and isinstance(modules, Mapping)
        and all(isinstance(m, Mapping) and "points_earned" in m for m in modules.values())
        and isinstance(prerequisites, list)
        and all(isinstance(r, Mapping) and {"nodeid", "outcome"} <= r.keys() for r in prerequisites)
    )


def _component(nodeid: str) -> str:
    """`checks/test_components.py::test_component_is_healthy[users]` -> `users`."""
    found = re.search(r"\[(.+)\]$", nodeid)
    return found.group(1) if found else nodeid


def last_line(log: Path) -> str:
    """The last non-empty line the run printed: pytest's summary or its error."""
    try:
        with log.open("rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no output)"
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def one_line(text: str) -> str:
    """A note fits a spreadsheet cell: the message's lines joined, clipped."""
    parts: list[str] = []
    for line in (line.strip() for line in text.splitlines()):
        if line:
            joiner = " " if not parts or parts[-1].endswith(":") else "; "
            parts.append(joiner + line if parts else line)
    joined = "".join(parts)
    return joined if len(joined) <= _MAX_NOTE else joined[: _MAX_NOTE - 1] + "…"
