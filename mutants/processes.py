"""Subprocesses with a time limit, and the processes a mutated copy may leave behind.

Each command runs in a session of its own, so a time limit or a Ctrl-C ends it with its
children (pytest's chromium, Locust) and nothing of it outlives the runner. The programs of a
mutated stack are found by the copy's path, which every one of them carries in its command
line, its working directory or its environment (PYTHONPATH, STACK_DATA_DIR).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

GRACE_S = 10.0


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: stopped at the time limit
    seconds: float
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 25) -> str:
        if not self.log.is_file():
            return f"(no output at {self.log})"
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(no output)"


def run_limited(
    argv: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float, log: Path
) -> Finished:
    """Run `argv`, its output into `log`; past `timeout` seconds (or on any exception, such
    as KeyboardInterrupt) its whole process group is ended."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            returncode: int | None = process.wait(timeout=max(timeout, 0.1))
        except subprocess.TimeoutExpired:
            end_group(process)
            returncode = None
        except BaseException:
            end_group(process)
            raise
    return Finished(returncode, time.monotonic() - started, log)


def end_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL to what is left after GRACE_S."""
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, GRACE_S)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def processes_of(copy: Path) -> list[psutil.Process]:
    """Running processes that belong to the copy (never this one or its parents)."""
    mentions = re.compile(re.escape(str(copy)) + r"(?=$|[/:\s])").search
    me = psutil.Process()
    spared = {me.pid, *(p.pid for p in me.parents())}
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd", "environ"]):
        if proc.pid in spared:
            continue
        info = proc.info
        words = [*(info["cmdline"] or []), info["cwd"] or "", *(info["environ"] or {}).values()]
        if any(mentions(word) for word in words):
            found.append(proc)
    return found


def sweep(copy: Path) -> list[str]:
    """End every process of the copy that is still running; what was found, as
    `pid name` strings (empty when the copy's stack went down cleanly)."""
    found = processes_of(copy)
    described = []
    for proc in found:
        with contextlib.suppress(psutil.Error):
            described.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
            proc.terminate()
    _, alive = psutil.wait_procs(found, timeout=GRACE_S)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=GRACE_S)
    return described
