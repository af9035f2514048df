"""Run one program under a time limit, in a session of its own, and leave nothing of it behind.

The batch grader runs each target's `pytest checks` through here. When the limit passes, the
program gets SIGINT first: pytest then stops the way Ctrl-C stops it, tearing its fixtures down
(a check that stopped a component starts it again) and writing what it graded so far. What is
still alive after a grace period, and anything it started (chromium, chromedriver), is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

GRACE_SECONDS = 30.0  # pytest's own clean-up after SIGINT: a check may restart a component
_REAP_SECONDS = 5.0  # how long SIGKILLed processes get to disappear


@dataclass(frozen=True)
class RunResult:
    returncode: int
    timed_out: bool
    seconds: float


def run_with_time_limit(
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path,
    time_limit: float,
    grace: float = GRACE_SECONDS,
) -> RunResult:
    """Run `argv` with its output (stdout and stderr) in `log_path`; stop it after `time_limit`
    seconds. The program leads a new session, so its whole process tree can be found and
    killed, and the terminal's Ctrl-C does not reach it: if this process is interrupted, the
    program is stopped here, then the interruption goes on."""
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_interruptible,  # unsafe beside threads (subprocess docs); no caller has any
        )
    timed_out = False
    try:
        try:
            returncode = proc.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            returncode = _stop(proc, grace)
    except BaseException:
        _stop(proc, grace)
        raise
    finally:
        _kill_session(proc.pid)
    return RunResult(returncode, timed_out, time.monotonic() - started)


def _stop(proc: subprocess.Popen[bytes], grace: float) -> int:
    """SIGINT to the program, then SIGKILL to its whole tree once `grace` has passed."""
    # Taken first: a process whose parent dies is re-parented and no longer found as a
    # descendant, and one that called setsid() is not found by its session either.
    tree = _descendants(proc.pid)
    try:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    finally:  # also when a second Ctrl-C cuts the grace period short
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        _kill([*tree, *_in_session(proc.pid)])
    return proc.wait()


def _interruptible() -> None:
    """In the child, before it runs: SIGINT does its default again, even when this process
    ignores it (a background job of a shell script does), so the program can be stopped
    cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def _in_session(sid: int) -> list[psutil.Process]:
    """Every process still in the session `sid` leads (its process group included)."""
    found = []
    for process in psutil.process_iter():
        try:
            # Not the leader itself: its Popen reaps it, and must be the one to.
            if process.pid not in (sid, os.getpid()) and os.getsid(process.pid) == sid:
                found.append(process)
        except OSError:  # gone meanwhile, or not ours to ask about
            continue
    return found


def _kill_session(sid: int) -> None:
    """Whatever the program left running in its session (a chromedriver whose pytest exited)."""
    _kill(_in_session(sid))


def _kill(processes: Sequence[psutil.Process]) -> None:
    alive = []
    for process in processes:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:  # dead already, waiting to be reaped
                continue
            process.kill()  # psutil refuses a PID that now belongs to another process
            alive.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    psutil.wait_procs(alive, timeout=_REAP_SECONDS)
