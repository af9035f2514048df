"""Integration (slow: a whole mutated stack, backup periods and a DR drill): graded against a
stack whose backups hold the schema but no rows, the backup items fail and the stack keeps its
data; the grader's before/after record finds every table with at least its rows, every marker,
and no component down, and so does the test itself.

Two variants. `backup-dumps-schema-only` alone: the backup service's own restore test marks the
empty backups unverified, so the checks wait in vain and nothing is dropped. With
`backup-verified-without-restore` as well, the empty backups pass as verified: the drill drops
auth's database and restores the empty one, which fails, and the drill's rollback puts back the
safety copy it took before the drop (never the empty backup again).

About 8 minutes for both variants on two cores, so it runs only when asked (not in the project's
test session): `STACK_SLOW_TESTS=1 pytest tests/mutants/test_grading_leaves_stack_intact.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from grader.journeys import PASSWORD
from grader.target import load_target
from mutants.catalog import load_catalog
from mutants.grading import grade_item
from mutants.runner import Options, copy_of_repository
from mutants.scratch import apply_patch

MUTANT = "backup-dumps-schema-only"
VERIFIED_ANYWAY = "backup-verified-without-restore"
ITEMS = ("hc-backups-restorable", "hc-recovery-tested")
pytestmark = pytest.mark.skipif(
    not os.environ.get("STACK_SLOW_TESTS"),
    reason="slow (two mutated stacks, about 8 minutes): STACK_SLOW_TESTS=1 runs it",
)
OFFSET = 3700  # no port of the default stack's nor of another suite's (1500, 17000, 19000, 22300)


def status_of(stack_env: dict[str, str], copy: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "stack", "status", "--json"],
        cwd=copy, env=stack_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    facts: dict[str, Any] = json.loads(done.stdout)
    return facts


@pytest.mark.integration
@pytest.mark.parametrize("drill_drops", [False, True], ids=["unverified", "verified-anyway"])
def test_empty_backups_fail_their_items_and_the_stack_keeps_its_data(
    tmp_path: Path, workdir: Path, drill_drops: bool
) -> None:
    catalog = load_catalog()
    (mutant,) = catalog.select([MUTANT])
    (also,) = catalog.select([VERIFIED_ANYWAY])
    options = Options(runs=1, offset=OFFSET, workdir=workdir, report_dir=tmp_path / "reports")
    safety_dir = tmp_path / "safety"
    started = time.monotonic()
    with copy_of_repository(mutant.id, catalog.patch_path(mutant), options) as scratch:
        stack = scratch.stack
        if drill_drops:
            apply_patch(stack.copy, catalog.patch_path(also))
        up = stack.up(timeout=900, log=tmp_path / "up.log")
        report_dir = tmp_path / "grading"
        run = grade_item(
            " or ".join(ITEMS),
            target_file=stack.target_file,
            report_dir=report_dir,
            env={**stack.grader_env(), "GRADER_SAFETY_DIR": str(safety_dir)},
            timeout=2400,
        )
        grade = json.loads((report_dir / "grading.json").read_text())
        status = status_of(stack.stack_env(), stack.copy)
        gateway = load_target(stack.target_file).url("gateway", "main")
        markers = grade["intact"]["before"]["markers"]
        winner = next(m for m in markers if m.startswith("auth: ")).split()[1]
        login = httpx.post(
            f"{gateway}/api/auth/login", json={"username": winner, "password": PASSWORD}
        )
    took = time.monotonic() - started
    print(f"up {up.seconds:.0f} s, grading {run.seconds:.0f} s, all {took:.0f} s")

    statuses = {item["id"]: (item["status"], item["reason"]) for item in grade["items"]}
    for item in ITEMS:
        assert statuses[item][0] == "FAIL", statuses[item]
    intact = grade["intact"]
    assert intact["intact"], intact["differences"]
    before, after = intact["before"], intact["after"]
    assert before["rows"]["auth"] and all(
        after["rows"]["auth"][table] >= rows for table, rows in before["rows"]["auth"].items()
    ), (before["rows"], after["rows"])
    assert before["markers"] == after["markers"] and all(before["markers"].values()), markers
    # Seen by the test itself, not only by the grader's own record:
    assert login.status_code == 200, login.text
    down = [c["name"] for c in status["components"] if not (c["health"] or {}).get("ok")]
    assert down == [] and status["open_faults"] == [], status
    if drill_drops:  # the drill ran, failed, and was rolled back from its safety copy
        assert list(safety_dir.rglob("auth-*.dump")), "the drill took no safety copy of auth"
        assert "safety copy" in statuses["hc-recovery-tested"][1], statuses["hc-recovery-tested"]
    else:  # nothing verified, nothing dropped
        assert not safety_dir.exists()
