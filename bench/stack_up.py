"""Benchmark the local runtime: cold `up`, warm `up`, memory (PSS), and kill-to-healthy.

    .venv/bin/python bench/stack_up.py [--runs 3]

Cold = a fresh data directory (initdb, secrets, first RabbitMQ boot). Warm = `up` after `down`
with the data kept. Uses its own data directory and ports offset by 1000, so it never touches
a running stack. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from healthprobe import run_probe

from stack.contracts import probe_for
from stack.paths import DataDir
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports

OFFSET = 1000


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _pss_mb(runtime: LocalRuntime) -> tuple[float, int]:
    root = psutil.Process(runtime.supervisor.pid())
    total, count = 0, 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_full_info().pss
            count += 1
        except psutil.Error:
            continue
    return total / 2**20, count


def _kill_to_healthy(runtime: LocalRuntime, name: str) -> float:
    probe = probe_for(runtime.topology.get(name), runtime.data.secrets)
    old = runtime.supervisor.info(name).pid
    started = time.perf_counter()
    runtime.kill(name)
    while True:
        pid = runtime.supervisor.info(name).pid
        if pid not in (0, old) and run_probe(probe).ok:
            return time.perf_counter() - started
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    topo = build(environ=offset_ports(OFFSET))
    cold, warm, pss, kills = [], [], [], []
    processes = 0
    for _ in range(args.runs):
        root = Path(tempfile.mkdtemp(prefix="stack-bench-"))
        runtime = LocalRuntime(DataDir(root), topo)
        try:
            cold.append(_timed(runtime.up))
            time.sleep(5)  # let every program settle before measuring memory
            mb, processes = _pss_mb(runtime)
            pss.append(mb)
            kills.append(_kill_to_healthy(runtime, "postgres"))
            runtime.down()
            warm.append(_timed(runtime.up))
        finally:
            runtime.down(purge=True)

    def row(label: str, values: list[float], unit: str, goal: str) -> str:
        return (
            f"| {label} | {statistics.median(values):.1f} {unit} | {min(values):.1f} | "
            f"{max(values):.1f} | {goal} |"
        )

    print(f"{args.runs} runs, {len(topo.components)} components, {processes} processes\n")
    print("| measure | median | min | max | goal |")
    print("|---|---|---|---|---|")
    print(row("cold `up` to all healthy", cold, "s", "≤ 20 s"))
    print(row("warm `up` to all healthy", warm, "s", "≤ 10 s"))
    print(row("total PSS of the running stack", pss, "MB", "≤ 600 MB"))
    print(row("`kill postgres` to healthy again", kills, "s", "≤ 10 s"))


if __name__ == "__main__":
    main()
