"""One grading run of one checklist item against a mutated copy: the unmutated grader's own
CLI (`pytest checks -k <item> --target ... --report-dir ...`), run from this checkout, and the
item's status read back from its grading.json."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mutants.processes import run_limited
from stack.paths import REPO_ROOT

GRADING_JSON = "grading.json"
RunStatus = Literal["PASS", "FAIL", "NOT COVERED", "NO REPORT"]


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    reason: str
    seconds: float


def grade_item(
    item: str,
    *,
    target_file: Path,
    report_dir: Path,
    env: Mapping[str, str],
    timeout: float,
) -> RunResult:
    """The grader's verdict on `item`; NO REPORT when it wrote none (it crashed or ran out of
    time), with the reason."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / GRADING_JSON).unlink(missing_ok=True)
    argv = [
        sys.executable, "-m", "pytest", "checks",
        "-p", "no:cacheprovider",
        "-k", item,
        "--target", str(target_file),
        "--report-dir", str(report_dir),
    ]  # fmt: skip
    done = run_limited(
        argv, cwd=REPO_ROOT, env=env, timeout=timeout, log=report_dir / "pytest.log"
    )
    if done.returncode is None:
        return RunResult("NO REPORT", f"the grader ran out of its {timeout:.0f} s", done.seconds)
    # A negative exit status is the signal that ended it (SIGKILL from outside: -9).
    said = f"(exit status {done.returncode}) {done.tail(8)}"
    return RunResult(*read_item(report_dir / GRADING_JSON, item, said), done.seconds)



def read_item(path: Path, item: str, output_tail: str = "") -> tuple[RunStatus, str]:
    """(status, reason) of `item` in a grading.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return "NO REPORT", f"no readable {path.name} ({exc}); the grader said: {output_tail}"
    items = {str(i.get("id")): i for i in data.get("items", []) if isinstance(i, dict)}
    if item not in items:
        return "NO REPORT", f"{path} has no item {item!r}"
    found = items[item]
    status = str(found.get("status"))
    if status not in ("PASS", "FAIL", "NOT COVERED"):
        return "NO REPORT", f"{path}: item {item!r} has the unknown status {status!r}"
    return status, str(found.get("reason") or "")  # type: ignore[return-value]
