"""A mutated copy's stack: brought up by the copy's own launcher, at a port offset, with its
own data directory, running the copy's code; brought down by the unmutated launcher.

Every service, stand-in and library is installed in the virtualenv as an editable package of
the checkout the runner comes from, so a plain `python -m uvicorn auth_service.main:app` would
run the unmutated code. The copy's package folders go first on PYTHONPATH instead: Python puts
PYTHONPATH before site-packages, and setuptools' editable finders are appended to
`sys.meta_path`, after the path finder, so the copy's modules win. supervisord inherits the
environment of `python -m stack up`, and every program it starts inherits supervisord's.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mutants.errors import MutantsError, StackDidNotComeUp
from mutants.processes import Finished, run_limited, sweep
from stack.paths import REPO_ROOT
from stack.topology import build, offset_ports

PACKAGE_ROOTS = ("services", "standins", "libs")
# Libraries the grader imports itself (healthprobe): never taken from the copy in the grader.
GRADER_LIBRARIES = "libs"
DOWN_TIMEOUT_S = 180.0


def package_dirs(root: Path, parents: tuple[str, ...] = PACKAGE_ROOTS) -> list[Path]:
    """The folders that hold an installable package (a pyproject.toml) under `parents`."""
    return sorted(p.parent for parent in parents for p in (root / parent).glob("*/pyproject.toml"))


def check_offset(offset: int) -> dict[str, str]:
    """STACK_PORT_* for `offset`, refused when a port would be one of the default stack's."""
    if offset <= 0:
        raise MutantsError(f"--offset {offset}: must be positive (0 is the default stack's ports)")
    try:
        moved = offset_ports(offset)
    except ValueError as exc:
        raise MutantsError(f"--offset {offset}: {exc}") from None
    default = {p for c in build(environ={}).units() for p in c.ports.values()}
    mine = {p for c in build(environ=moved).units() for p in c.ports.values()}
    if default & mine:
        raise MutantsError(
            f"--offset {offset} puts ports {sorted(default & mine)} on ports of the default "
            "stack; choose another offset (22300 and 1500 collide with no stack of the tests)"
        )
    return moved


def _pythonpath(first: list[Path]) -> str:
    rest = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([*(str(p) for p in first), *([rest] if rest else [])])


@dataclass(frozen=True)
class MutatedStack:
    copy: Path
    offset: int

    @cached_property
    def ports(self) -> dict[str, str]:
        return check_offset(self.offset)

    @property
    def data_dir(self) -> Path:
        return self.copy / ".stack"

    @property
    def target_file(self) -> Path:
        return self.data_dir / "target.yaml"

    def _base_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("STACK_PORT_") and k not in ("STACK_TARGET", "STACK_DATA_DIR")
        }
        return {**env, **self.ports}

    def stack_env(self) -> dict[str, str]:
        """For the copy's launcher and every program it starts: the copy's code first."""
        return {
            **self._base_env(),
            "STACK_DATA_DIR": str(self.data_dir),
            # ElastAlert2's virtualenv depends only on its version: share the runner's.
            "STACK_CACHE_DIR": os.environ.get("STACK_CACHE_DIR", str(REPO_ROOT / ".stack-cache")),
            "PYTHONPATH": _pythonpath([self.copy, *package_dirs(self.copy)]),
        }

    def grader_env(self) -> dict[str, str]:
        """For the unmutated grader grading the copy. STACK_PORT_*: its `control` fixture
        builds the topology from them (a restarted component is probed at the copy's ports).
        PYTHONPATH: the copy's services and stand-ins, for the commands the grader runs in the
        copy (`python -m stack restore` runs the backup service's recover module); never the
        copy's stack/ or grader/, and never libs/, which the grader imports itself."""
        services = [d for d in package_dirs(self.copy) if d.parent.name != GRADER_LIBRARIES]
        return {**self._base_env(), "PYTHONPATH": _pythonpath(services)}

    def up(self, *, timeout: float, log: Path) -> Finished:
        """`python -m stack up` with the copy's launcher; StackDidNotComeUp says why not."""
        done = run_limited(
            [sys.executable, "-m", "stack", "up"],
            cwd=self.copy,
            env=self.stack_env(),
            timeout=timeout,
            log=log,
        )
        if done.returncode is None:
            raise StackDidNotComeUp(
                f"`python -m stack up` did not finish within {timeout:.0f} s; its last "
                f"output ({log}):\n{done.tail()}"
            )
        if not done.ok or not self.target_file.is_file():
            raise StackDidNotComeUp(
                f"`python -m stack up` exited with {done.returncode}; its last output "
                f"({log}):\n{done.tail()}"
            )
        return done

    def down(self, *, log: Path, timeout: float = DOWN_TIMEOUT_S) -> list[str]:
        """Stop everything and delete its data, with the unmutated launcher (a mutant may
        have broken the copy's); then end whatever still runs from the copy. Returns those
        leftovers (`pid command`): empty when the stack went down cleanly."""
        if self.data_dir.exists():
            run_limited(
                [sys.executable, "-m", "stack", "down", "--purge"],
                cwd=REPO_ROOT,
                env={**self._base_env(), "STACK_DATA_DIR": str(self.data_dir)},
                timeout=timeout,
                log=log,
            )
        return sweep(self.copy)
