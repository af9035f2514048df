"""A CPU hog for the cpu-hog drill: Debian's `stress-ng`, one worker per core.

It is started in its own session (so the ledger's `kill-process` undo can kill its workers
with it, and it outlives a killed runner only until its own `--timeout`), and its pid is
written where the ledger finds it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from chaos.context import ChaosFailed
from grader.target import Target
from stack.errors import StackError
from stack.paths import DataDir
from stack.runtimes.local.system import install_packages

PACKAGE = PROGRAM = "stress-ng"  # Debian's package and its program share the name


def stress_ng() -> str:
    """The stress-ng program, installed from Debian first when it is missing (as root)."""
    found = shutil.which(PROGRAM)
    if found is None:
        try:
            install_packages([PACKAGE])
        except StackError as exc:
            raise ChaosFailed(f"the cpu-hog drill needs stress-ng: {exc}") from None
        found = shutil.which(PROGRAM)
    if found is None:
        raise ChaosFailed(f"{PACKAGE} was installed, yet no stress-ng is on the PATH")
    return found


def pidfile(target: Target) -> Path:
    if target.control.data_dir is None:
        raise ChaosFailed(f"target {target.name!r} has no control.data_dir for the hog's pid")
    return DataDir(target.control.data_dir).run / "chaos-stress-ng.pid"


def start_hog(program: str, seconds: int, pid_path: Path) -> int:
    """stress-ng on every core (`--cpu 0`) for `seconds`; returns its pid."""
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [program, "--cpu", "0", "--timeout", f"{seconds}s", "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pid_path.write_text(str(process.pid))
    return process.pid
