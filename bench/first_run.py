"""Benchmark what a new user waits for: a fresh clone, then the README's main command, until the
grade is printed; then the same command again in the same clone (the second run).

    .venv/bin/python bench/first_run.py [--runs 2] [--commit HEAD] [--keep DIR]

The clone is made from this repository at `--commit` into a temporary directory. Nothing of
this checkout is reused: the clone builds its own `.venv/`, and pip's and uv's download caches
point at empty directories for the first run (a machine that never installed the harness), so
every wheel is downloaded again. The Debian packages are what the machine has: the script lists
the stack's packages that were missing before the run (the first run installs them).

Each run is `./nox -s acceptance`, its output timestamped line by line to mark the phases:
set-up (the venv, then the requirements), `stack up`, the checks until the grade table is
printed, and `stack down`. The default ports must be free (bring a dev stack down first).
Prints a Markdown table for docs/benchmarks.md and writes every line's time to `DIR/run-N.log`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from stack.runtimes.local.programs import missing_packages
from stack.topology import topology

REPO = Path(__file__).resolve().parent.parent
# What each phase starts with, as nox and the stack print it; the first line matching wins.
MARKS = (
    ("session", "nox > Running session acceptance"),
    ("up", "nox > python -m stack up"),
    ("checks", "nox > pytest checks"),
    ("grade printed", "│ Total"),
    ("down", "nox > python -m stack down"),
)


@dataclass
class Run:
    number: int
    seconds: float = 0.0
    exit_code: int = 0
    marks: dict[str, float] = field(default_factory=dict)

    def phase(self, start: str, end: str) -> str:
        if start not in self.marks or end not in self.marks:
            return "-"
        return _minutes(self.marks[end] - self.marks[start])


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def clone(commit: str, into: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(into)], check=True)
    subprocess.run(["git", "-C", str(into), "checkout", "--quiet", commit], check=True)


def run_once(number: int, workdir: Path, env: dict[str, str], logs: Path) -> Run:
    run = Run(number)
    started = time.monotonic()
    log = (logs / f"run-{number}.log").open("w", encoding="utf-8")
    with subprocess.Popen(
        ["./nox", "-s", "acceptance"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.monotonic() - started
            log.write(f"{now:8.1f} {line}")
            for name, marker in MARKS:
                if name not in run.marks and marker in line:
                    run.marks[name] = now
        run.exit_code = proc.wait()
    run.seconds = time.monotonic() - started
    run.marks["end"] = run.seconds
    run.marks["start"] = 0.0
    log.close()
    return run


def table(runs: list[Run]) -> str:
    rows = [
        "| run | `.venv` with nox | requirements, chromium | `stack up` | "
        "checks, to the printed grade | fresh clone to grade | `stack down` | "
        "whole command | exit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        grade = run.marks.get("grade printed")
        rows.append(
            f"| {run.number} | {run.phase('start', 'session')} | "
            f"{run.phase('session', 'up')} | {run.phase('up', 'checks')} | "
            f"{run.phase('checks', 'grade printed')} | "
            f"{_minutes(grade) if grade is not None else '-'} | {run.phase('down', 'end')} | "
            f"{_minutes(run.seconds)} | {run.exit_code} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--keep", type=Path, help="clone into DIR (default: a new temp dir)")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="first-run-"))
    if workdir.exists() and any(workdir.iterdir()):
        sys.exit(f"{workdir} is not empty: name a new directory")
    caches = Path(tempfile.mkdtemp(prefix="first-run-caches-"))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "STACK_DATA_DIR")}
    # empty download caches: nothing of this machine's earlier installs is reused
    env |= {
        # pytest's and the stack's lines timestamped as printed, not when a pipe buffer fills
        "PYTHONUNBUFFERED": "1",
        "UV_CACHE_DIR": str(caches / "uv"),
        "PIP_CACHE_DIR": str(caches / "pip"),
        "XDG_CACHE_HOME": str(caches / "xdg"),
        "PATH": os.pathsep.join(
            p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(REPO))
        ),
    }
    missing = missing_packages(topology().units().start_order())
    print(f"Debian packages missing before the first run: {', '.join(missing) or 'none'}")
    clone(args.commit, workdir)
    commit = subprocess.run(
        ["git", "-C", str(workdir), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    print(f"clone of {commit} in {workdir}; logs there as run-N.log")
    runs = []
    for number in range(1, args.runs + 1):
        runs.append(run_once(number, workdir, env, workdir))
        print(f"run {number}: {_minutes(runs[-1].seconds)}, exit {runs[-1].exit_code}", flush=True)
    print(table(runs))
    shutil.rmtree(caches, ignore_errors=True)
    if not args.keep:
        print(f"(the clone stays in {workdir} for its logs; delete it when done)")


if __name__ == "__main__":
    main()
