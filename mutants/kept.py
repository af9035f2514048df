"""One mutated copy left up for someone else to grade (`python -m mutants up ID --offset N`),
and brought down again (`python -m mutants down ID`).

The copy lives at `<workdir>/<id>/`; `mutant.json` there records the offset, and
`grader.env` the environment the grader needs to grade it with its control driver: the
copy's STACK_PORT_* (a restarted component is probed at its own ports) and PYTHONPATH.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from mutants.catalog import Catalog
from mutants.errors import MutantsError
from mutants.mutated_stack import MutatedStack
from mutants.scratch import apply_patch, copy_repository, remove_copy
from stack.paths import REPO_ROOT

STATE_FILE = "mutant.json"
GRADER_ENV_FILE = "grader.env"


def copy_dir(workdir: Path, mutant_id: str) -> Path:
    return workdir / mutant_id


def up(catalog: Catalog, mutant_id: str, *, offset: int, workdir: Path, timeout: float) -> Path:
    """Bring the mutant up and return its target profile; on failure nothing is left."""
    (mutant,) = catalog.select([mutant_id])
    copy = copy_dir(workdir, mutant.id)
    if copy.exists():
        raise MutantsError(
            f"{copy} exists: mutant {mutant.id} is up already (or was not brought down); "
            f"run `python -m mutants down {mutant.id}` first"
        )
    stack = MutatedStack(copy, offset)
    stack.ports  # noqa: B018 (validates the offset before anything is copied)
    copy.mkdir(parents=True)
    copy.chmod(0o755)  # PostgreSQL's own user must reach its data directory inside
    try:
        copy_repository(REPO_ROOT, copy)
        apply_patch(copy, catalog.patch_path(mutant))
        (copy / STATE_FILE).write_text(json.dumps({"id": mutant.id, "offset": offset}) + "\n")
        env = stack.grader_env()
        wanted = {k: v for k, v in env.items() if k.startswith("STACK_PORT_")}
        wanted["PYTHONPATH"] = env["PYTHONPATH"]
        (copy / GRADER_ENV_FILE).write_text(
            "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(wanted.items()))
        )
        stack.up(timeout=timeout, log=copy / "up.log")
    except (MutantsError, KeyboardInterrupt):
        _bring_down(stack)
        raise
    return stack.target_file


def down(mutant_id: str, *, workdir: Path) -> list[str]:
    """Bring the copy's stack down and delete the copy; the leftovers that had to be ended."""
    copy = copy_dir(workdir, mutant_id)
    state = copy / STATE_FILE
    if not state.is_file():
        raise MutantsError(f"no mutant {mutant_id} is up under {workdir} (no {state})")
    offset = int(json.loads(state.read_text())["offset"])
    return _bring_down(MutatedStack(copy, offset))


def _bring_down(stack: MutatedStack) -> list[str]:
    try:
        leftovers = stack.down(log=stack.copy.parent / f"{stack.copy.name}-down.log")
    finally:
        remove_copy(stack.copy)
    return leftovers

