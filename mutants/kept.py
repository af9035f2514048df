"""One mutated copy left up for someone else to grade (`python -m mutants up ID --offset N`),
and brought down again (`python -m mutants down ID`).

The copy lives in a fresh directory under the workdir; `<workdir>/<id>.json` records where and
at which offset, and `grader.env` in the copy holds the environment a grader needs to grade it
with its control driver: the copy's STACK_PORT_* (a restarted component is probed at its own
ports) and PYTHONPATH (the copy's services, for `python -m stack restore`).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from mutants.catalog import Catalog
from mutants.errors import MutantsError
from mutants.mutated_stack import MutatedStack
from mutants.scratch import apply_patch, copy_repository, new_copy_dir, remove_copy
from stack.paths import REPO_ROOT

GRADER_ENV_FILE = "grader.env"


def state_file(workdir: Path, mutant_id: str) -> Path:
    return workdir / f"{mutant_id}.json"


def up(catalog: Catalog, mutant_id: str, *, offset: int, workdir: Path, timeout: float) -> Path:
    """Bring the mutant up and return its target profile; on failure nothing is left."""
    (mutant,) = catalog.select([mutant_id])
    state = state_file(workdir, mutant.id)
    if state.exists():
        raise MutantsError(
            f"{state} exists: mutant {mutant.id} is up already (or was not brought down); "
            f"run `python -m mutants down {mutant.id}` first"
        )
    stack = MutatedStack(new_copy_dir(workdir, mutant.id), offset)
    try:
        stack.ports  # noqa: B018 (validates the offset before anything is copied)
        copy_repository(REPO_ROOT, stack.copy)
        apply_patch(stack.copy, catalog.patch_path(mutant))
        state.write_text(json.dumps({"copy": str(stack.copy), "offset": offset}) + "\n")
        env = stack.grader_env()
        wanted = {k: v for k, v in env.items() if k.startswith("STACK_PORT_")}
        wanted["PYTHONPATH"] = env["PYTHONPATH"]
        (stack.copy / GRADER_ENV_FILE).write_text(
            "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(wanted.items()))
        )
        stack.up(timeout=timeout, log=stack.copy / "up.log")
    except (MutantsError, KeyboardInterrupt):
        _bring_down(stack, state)
        raise
    return stack.target_file


def down(mutant_id: str, *, workdir: Path) -> list[str]:
    """Bring the copy's stack down and delete the copy; the leftovers that had to be ended."""
    state = state_file(workdir, mutant_id)
    if not state.is_file():
        raise MutantsError(f"no mutant {mutant_id} is up under {workdir} (no {state})")
    recorded = json.loads(state.read_text())
    return _bring_down(MutatedStack(Path(recorded["copy"]), int(recorded["offset"])), state)


def _bring_down(stack: MutatedStack, state: Path) -> list[str]:
    try:
        leftovers = stack.down(log=stack.copy.parent / f"{stack.copy.name}-down.log")
    finally:
        remove_copy(stack.copy)
        state.unlink(missing_ok=True)
    return leftovers
