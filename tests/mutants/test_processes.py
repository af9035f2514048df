"""Time limits end a command with its children; the processes of a copy are found by its path
and ended."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from mutants.processes import processes_of, run_limited, sweep


def test_a_command_past_its_time_limit_is_ended_with_its_children(tmp_path: Path) -> None:
    marker = f"sleep-marker-{os.getpid()}"
    sleeper = [sys.executable, "-c", "import time; time.sleep(300)", marker]
    parent = f"import subprocess, time; subprocess.Popen({sleeper!r}); time.sleep(300)"
    done = run_limited(
        [sys.executable, "-c", parent, marker],

        cwd=tmp_path,
        env=os.environ,
        timeout=1.0,
        log=tmp_path / "out.log",
    )
    assert done.returncode is None and done.seconds < 30
    time.sleep(0.2)
    left = [p for p in psutil.process_iter(["cmdline"]) if marker in (p.info["cmdline"] or [])]
    assert left == []



def test_a_finished_command_keeps_its_output_and_exit_status(tmp_path: Path) -> None:
    done = run_limited(
        [sys.executable, "-c", "print('hello'); raise SystemExit(3)"],
        cwd=tmp_path,
        env=os.environ,
        timeout=30,
        log=tmp_path / "out.log",
    )
    assert done.returncode == 3 and not done.ok
    assert done.tail() == "hello"


def test_sweep_ends_what_still_runs_from_the_copy_and_spares_the_rest(tmp_path: Path) -> None:
    copy, neighbour = tmp_path / "m-abc", tmp_path / "m-abcd"  # a prefix is not the copy
    for path in (copy, neighbour):
        path.mkdir()
    ours = subprocess.Popen(
        ["sleep", "300"], env={**os.environ, "PYTHONPATH": f"{copy}/services/auth:/x"}
    )
    theirs = subprocess.Popen(["sleep", "300"], cwd=neighbour)
    try:
        assert [p.pid for p in processes_of(copy)] == [ours.pid]
        ended = sweep(copy)
        assert ended == [f"{ours.pid} sleep 300"]
        assert ours.wait(timeout=15) is not None
        assert theirs.poll() is None
        assert sweep(copy) == []
    finally:
        for proc in (ours, theirs):
            proc.kill()
            proc.wait()
