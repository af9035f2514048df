"""API throughput of this tree against an older commit, side by side in one run.

    .venv/bin/python bench/api_regression.py --baseline COMMIT [--rounds 3] [--seconds 10]
        [--concurrency 16] [--rate 100] [--keep]

Makes a git worktree of COMMIT (its own .venv: its requirements may differ), brings up the
part of each stack that `GET /api/users/me` needs (gateway, auth, users, their database and
broker, and the log pipeline the services write to) with its own data directory and ports,
then alternates rounds between the two, so both see the machine in the same state:

- closed loop: `--concurrency` clients for `--seconds`: requests/s, p50, p95, errors;
- open loop at a fixed `--rate` (requests/s): CPU milliseconds per request of each program
  of that stack (from /proc), which says where a request's time goes at the same work.

Prints one table per measure and this tree's ratio to the baseline, then brings both stacks
down and removes the worktree (unless --keep). `--against DATA_DIR` measures stacks that are
already up instead (repeatable, e.g. `--against /tmp/a/data --against /tmp/b/data`).
Not a test and not in CI: it needs minutes and the machine to itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from stats import percentile  # bench/stats.py: these scripts run from bench/

from grader import journeys
from grader.target import load_target

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = "gateway,auth,users,shipper"  # and what they depend on
PATH = "/api/users/me"
REQUIREMENTS = "requirements-local.txt"  # the tree's own: what its local runtime runs
# Two offsets whose moved ports meet neither each other nor the test suites' stacks.
OFFSETS = {"this": 4800, "baseline": 750}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Program of a process, from its command line: first match wins.
PROGRAMS = (
    ("users_service", "users"),
    ("auth_service", "auth"),
    ("nginx", "nginx"),
    ("postgres", "postgres"),
    ("beam.smp", "rabbitmq"),
    ("epmd", "rabbitmq"),
    ("erl_child_setup", "rabbitmq"),
    ("inet_gethost", "rabbitmq"),
    ("log_forwarder", "log-forwarder"),
    ("logstore", "logstore"),
    ("rsyslogd", "shipper"),
    ("supervisord", "supervisord"),
)


@dataclass
class Stack:
    name: str
    tree: Path
    data: Path
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    closed: list[Closed] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)

    @property
    def python(self) -> str:
        return str(self.tree / ".venv" / "bin" / "python")


@dataclass
class Closed:
    rps: float
    p50: float
    p95: float
    errors: int
    load: float
    client_core: float  # share of one core this (single-threaded) client used
    stack_cores: float  # cores the stack's programs used meanwhile
    machine_cores: float  # cores busy on the whole machine (others' work included)


# ---- the stacks ------------------------------------------------------------------------------


def _ports(tree: Path, offset: int) -> dict[str, str]:
    """The tree's own offset_ports (older trees fold ports differently)."""
    code = (
        "from stack.topology import offset_ports\n"
        f"for k, v in offset_ports({offset}).items(): print(k, v)"
    )
    out = subprocess.run(
        [str(tree / ".venv/bin/python"), "-c", code],
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split() for line in out.splitlines())


def _worktree(commit: str) -> Path:
    tree = Path(f"/tmp/api-regression-{commit[:12]}")
    if not tree.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True
        )
    if not (tree / ".venv/bin/python").exists():
        uv = str(ROOT / ".venv/bin/uv")
        python = str(ROOT / ".venv/bin/python")
        subprocess.run([uv, "venv", "-q", "--python", python, ".venv"], cwd=tree, check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", ".venv/bin/python", "-r", REQUIREMENTS],
            cwd=tree,
            check=True,
        )
    return tree


def _stack_cli(stack: Stack, *args: str) -> None:
    subprocess.run(
        [stack.python, "-m", "stack", *args],
        cwd=stack.tree,
        env={**os.environ, **stack.env},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _prepare(stack: Stack, offset: int) -> None:
    ports = _ports(stack.tree, offset)
    busy = [f"{name}={port}" for name, port in ports.items() if not _free(int(port))]
    if busy:
        raise SystemExit(f"{stack.name}: ports in use ({', '.join(busy)}); is a stack up?")
    stack.env = {**ports, "STACK_DATA_DIR": str(stack.data)}


@contextmanager
def _stacks_up(stacks: list[Stack], keep: bool) -> Iterator[None]:
    try:
        for stack in stacks:
            print(f"{stack.name}: up in {stack.data} ({stack.tree})", flush=True)
            _stack_cli(stack, "up", "--only", COMPONENTS)
        yield
    finally:
        if not keep:
            for stack in stacks:
                print(f"{stack.name}: down", flush=True)
                subprocess.run(
                    [stack.python, "-m", "stack", "down"],
                    cwd=stack.tree,
                    env={**os.environ, **stack.env},
                    check=False,
                    stdout=subprocess.DEVNULL,
                )


def _login(stack: Stack) -> None:
    target = load_target(stack.data / "target.yaml")
    stack.url = target.url("gateway", "main")
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        player = journeys.register(client, "bench")
        deadline = time.monotonic() + 10
        while journeys.profile(client, player).status_code != 200:  # an event away
            if time.monotonic() > deadline:
                raise SystemExit(f"{stack.name}: users never created the bench profile")
            time.sleep(0.1)
        for _ in range(200):  # warm connections, caches, the JWKS
            journeys.profile(client, player).raise_for_status()
    stack.headers = player.headers


# ---- measuring -------------------------------------------------------------------------------


def _descendants(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children[ppid].append(int(entry.name))
    found, todo = [root_pid], [root_pid]
    while todo:
        for child in children[todo.pop()]:
            found.append(child)
            todo.append(child)
    return found


def _program(pid: int) -> str:
    try:
        cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return "gone"
    text = cmdline.decode(errors="replace")
    return next((program for needle, program in PROGRAMS if needle in text), "other")


def cpu_seconds(data: Path) -> dict[str, float]:
    """CPU time (user + system, children that ended included) of each program of a stack."""
    root = int((data / "run" / "supervisord.pid").read_text())
    totals: dict[str, float] = defaultdict(float)
    for pid in _descendants(root):
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name
        totals[_program(pid)] += sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
    return totals


def _busy() -> float:
    """CPU seconds the whole machine has been busy (every core, /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def _client_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def closed_loop(stack: Stack, concurrency: int, seconds: float) -> Closed:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.get(PATH, headers=stack.headers)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200

    cpu_before, stack_before, machine_before = _client_cpu(), cpu_seconds(stack.data), _busy()
    async with httpx.AsyncClient(base_url=stack.url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return Closed(
        rps=len(latencies) / seconds,
        p50=statistics.median(latencies),
        p95=percentile(latencies, 0.95),
        errors=errors,
        load=os.getloadavg()[0],
        client_core=(_client_cpu() - cpu_before) / seconds,
        stack_cores=(sum(cpu_seconds(stack.data).values()) - sum(stack_before.values())) / seconds,
        machine_cores=(_busy() - machine_before) / seconds,
    )


async def open_loop(stack: Stack, rate: float, seconds: float) -> dict[str, float]:
    """`rate` requests a second, each started on schedule whatever the others do; returns CPU
    milliseconds per request of each program of the stack."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    total = int(rate * seconds)
    errors = 0

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal errors
        response = await client.get(PATH, headers=stack.headers)
        errors += response.status_code != 200

    async with httpx.AsyncClient(base_url=stack.url, limits=limits, timeout=30) as client:
        before = cpu_seconds(stack.data)
        start = time.monotonic()
        tasks = []
        for n in range(total):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(client)))
        await asyncio.gather(*tasks)
        after = cpu_seconds(stack.data)
    if errors:
        print(f"{stack.name}: {errors} errors at {rate:.0f} requests/s")
    # This client's own CPU is left out: an open loop's timers cost more than its requests;
    # the closed loop reports the client's share.
    return {
        program: (after[program] - before.get(program, 0.0)) * 1000 / total for program in after
    }


# ---- reporting -------------------------------------------------------------------------------


def _report(stacks: list[Stack]) -> None:
    # cores: what the stack's programs, this client and the whole machine kept busy; with the
    # machine at 2.0 others' work took what the stack did not get.
    print(
        "\n| tree | round | requests/s | p50 ms | p95 ms | errors | stack ms/request "
        "| cores: stack / client / machine | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for stack in stacks:
        for n, run in enumerate(stack.closed, 1):
            print(
                f"| {stack.name} | {n} | {run.rps:.0f} | {run.p50:.1f} | {run.p95:.1f} | "
                f"{run.errors} | {run.stack_cores * 1000 / run.rps:.1f} | "
                f"{run.stack_cores:.2f} / {run.client_core:.2f} / {run.machine_cores:.2f} | "
                f"{run.load:.1f} |"
            )
    medians = {s.name: statistics.median(r.rps for r in s.closed) for s in stacks if s.closed}
    if len(medians) == 2:
        (first, a), (second, b) = medians.items()
        print(f"\nmedian requests/s: {first} {a:.0f}, {second} {b:.0f}; ratio {a / b:.2f}")
    if not any(stack.cpu for stack in stacks):
        return
    programs = sorted({p for s in stacks for run in s.cpu for p in run if p != "gone"})
    print("\nCPU ms per request (median of the rounds):\n")
    print("| program | " + " | ".join(s.name for s in stacks) + " |")
    print("|---|" + "---|" * len(stacks))
    for program in [*programs, "total"]:
        cells = []
        for stack in stacks:
            values = [
                sum(v for p, v in run.items() if p != "gone")
                if program == "total"
                else run.get(program, 0.0)
                for run in stack.cpu
            ]
            cells.append(f"{statistics.median(values):.2f}" if values else "-")
        print(f"| {program} | " + " | ".join(cells) + " |")


def _measure(stacks: list[Stack], args: argparse.Namespace) -> None:
    for stack in stacks:
        _login(stack)
    for n in range(args.rounds):
        order = stacks if n % 2 == 0 else stacks[::-1]  # neither always goes first
        for stack in order:
            if args.rate:
                stack.cpu.append(asyncio.run(open_loop(stack, args.rate, args.seconds)))
            if args.concurrency:
                run = asyncio.run(closed_loop(stack, args.concurrency, args.seconds))
                stack.closed.append(run)
                print(
                    f"round {n + 1} {stack.name}: {run.rps:.0f} requests/s, "
                    f"p50 {run.p50:.1f} ms; cores busy: stack {run.stack_cores:.2f}, "
                    f"client {run.client_core:.2f}, machine {run.machine_cores:.2f} "
                    f"(load {run.load:.1f})",
                    flush=True,
                )
    _report(stacks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="commit to compare this tree with")
    parser.add_argument("--against", type=Path, action="append", default=[], help="data dir")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16, help="0: no closed loop")
    parser.add_argument("--rate", type=float, default=100, help="0: no CPU profile")
    parser.add_argument("--keep", action="store_true", help="leave stacks and worktree")
    args = parser.parse_args()
    if args.against:
        _measure([Stack(d.name or str(d), ROOT, d) for d in args.against], args)
        return
    if not args.baseline:
        parser.error("give --baseline COMMIT (or --against DATA_DIR)")
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{args.baseline}^{{commit}}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = _worktree(commit)
    here = Stack("this", ROOT, Path("/tmp/api-regression-data/this"))
    base = Stack(f"baseline {commit[:7]}", tree, Path("/tmp/api-regression-data/baseline"))
    _prepare(here, OFFSETS["this"])
    _prepare(base, OFFSETS["baseline"])
    try:
        with _stacks_up([here, base], args.keep):
            _measure([here, base], args)
    finally:
        if not args.keep:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
            )


if __name__ == "__main__":
    main()
