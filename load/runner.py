"""`python -m load SHAPE`: run a shape headless through Locust's Python API, print a summary,
optionally write it as JSON (what grader/loadgen.py reads). The games fault flags are off at
the end, also after Ctrl-C, SIGTERM or a failure.
https://docs.locust.io/en/stable/use-as-lib.html
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from locust import events
from locust.env import Environment
from locust.stats import StatsEntry

from grader.errors import GraderError
from grader.faults import clear_faults, set_faults
from grader.loadgen import FAULT_COMPONENT, EndpointStats, LoadSummary, PhaseStats
from grader.target import Target, find_target_file, load_target
from load import schedule
from load.guard import HostRefused, check_host
from load.locustfile import USER_CLASSES
from load.shapes import SHAPES, PhasedShape
from stack.errors import StackError
from stack.paths import REPO_ROOT

STOP_GRACE = 30.0  # seconds past the plan before the run is called stuck


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = schedule.Options()
    parser = argparse.ArgumentParser(
        prog="python -m load",
        description="Run a load shape headless through the stack's gateway; print a summary.",
    )
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("--target", help="target profile (default: .stack/target.yaml)")
    parser.add_argument("--host", help="gateway URL (default: the profile's gateway)")
    parser.add_argument(
        "--duration", type=float, help="seconds (default: 60 for steady, 120 for the others)"
    )
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--spawn-rate", type=float, default=defaults.spawn_rate)
    parser.add_argument("--error-rate", type=float, default=defaults.error_rate)
    parser.add_argument("--latency-ms", type=int, default=defaults.latency_ms)
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    return parser.parse_args(argv)


class PhaseRecorder:
    """Counts each request by the phase it ran in (Ticker.phase_of), per endpoint and status
    class."""

    def __init__(self, ticker: schedule.Ticker) -> None:
        self.ticker = ticker
        self.counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        # Per second of wall time: [requests, failed (5xx or no answer), total ms, max ms], for
        # timelines that line the load up with a fault (chaos drills).
        self.seconds: dict[int, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])

    def on_request(
        self,
        request_type: str,
        name: str,
        response: Any,
        start_time: float,
        response_time: float,
        **_: Any,
    ) -> None:
        code = getattr(response, "status_code", 0) or 0
        status = f"{code // 100}xx" if code else "error"
        phase = self.ticker.phase_of(start_time, start_time + response_time / 1000) or "start"
        self.counts[phase][f"{request_type} {name}"][status] += 1
        second = self.seconds[int(start_time)]
        second[0] += 1
        second[1] += status in ("5xx", "error")
        second[2] += response_time
        second[3] = max(second[3], response_time)

    def timeline(self) -> list[dict[str, float]]:
        return [
            {"t": t, "requests": n, "failed": failed, "mean_ms": round(total / n, 1), "max_ms": top}
            for t, (n, failed, total, top) in sorted(self.seconds.items())
        ]

    def phases(self) -> list[PhaseStats]:
        faults = {p.name: dict(p.faults) for p in self.ticker.phases}
        return [
            PhaseStats(
                name=t.phase,
                started_at=t.at,
                faults=faults.get(t.phase, {}),
                statuses={e: dict(c) for e, c in sorted(self.counts.get(t.phase, {}).items())},
            )
            for t in self.ticker.transitions
        ]


def _endpoint(entry: StatsEntry) -> EndpointStats:
    return EndpointStats(
        name=f"{entry.method} {entry.name}" if entry.method else entry.name,
        requests=entry.num_requests,
        failures=entry.num_failures,
        p50_ms=float(entry.get_response_time_percentile(0.5) or 0),
        p95_ms=float(entry.get_response_time_percentile(0.95) or 0),
        rps=round(float(entry.total_rps), 2),
    )


def _switch_off(shape: PhasedShape, target: Target, *, faulty: bool) -> list[str]:
    """The ticker's close (it marks the end), then, for a shape with faults, one more clear
    whatever the ticker believes: a clear cannot hurt, a flag left on can."""
    errors = []
    steps: list[Callable[[], object]] = [shape.ticker.close]
    if faulty:
        steps.append(lambda: clear_faults(target, FAULT_COMPONENT))
    for step in steps:
        try:
            step()
        except Exception as exc:
            errors.append(f"switching the faults off: {type(exc).__name__}: {exc}")
    return errors


def run(target: Target, host: str, shape_name: str, options: schedule.Options) -> LoadSummary:
    faulty = any(p.faults for p in schedule.plan(shape_name, options))
    if faulty:
        # Starts from a known state, and proves the token and every unit before any load.
        clear_faults(target, FAULT_COMPONENT)
    shape = SHAPES[shape_name](options, lambda flags: set_faults(target, FAULT_COMPONENT, flags))
    recorder = PhaseRecorder(shape.ticker)
    env = Environment(user_classes=USER_CLASSES, shape_class=shape, host=host, events=events)
    env.events.request.add_listener(recorder.on_request)  # type: ignore[no-untyped-call]
    runner = env.create_local_runner()
    stop = gevent.event.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stop.set)
    errors: list[str] = []
    started = time.monotonic()
    deadline = started + options.duration + STOP_GRACE
    try:
        runner.start_shape()
        while not stop.wait(0.5):
            if runner.shape_greenlet is None or runner.shape_greenlet.dead:
                break
            if time.monotonic() > deadline:
                errors.append(f"the run did not end within {options.duration + STOP_GRACE} s")
                break
        if stop.is_set():
            errors.append("interrupted (SIGINT or SIGTERM)")
    finally:
        try:
            runner.quit()
        finally:
            errors.extend(_switch_off(shape, target, faulty=faulty))
    total = env.stats.total
    return LoadSummary(
        shape=shape_name,
        seconds=round(time.monotonic() - started, 1),
        host=host,
        requests=total.num_requests,
        failures=total.num_failures,
        failure_ratio=round(total.fail_ratio, 4),
        p50_ms=float(total.get_response_time_percentile(0.5) or 0),
        p95_ms=float(total.get_response_time_percentile(0.95) or 0),
        rps=round(float(total.total_rps), 2),
        endpoints=[_endpoint(e) for _, e in sorted(env.stats.entries.items())],
        phases=recorder.phases(),
        timeline=recorder.timeline(),
        errors=[*shape.ticker.errors, *errors],
        failure_reasons={
            f"{e.method} {e.name}: {e.error}"[:300]: e.occurrences
            for e in sorted(env.stats.errors.values(), key=lambda e: -e.occurrences)
        },
    )


def render(summary: LoadSummary) -> str:
    rows = [f"{'endpoint':<44} {'reqs':>6} {'fails':>6} {'p50 ms':>7} {'p95 ms':>7} {'rps':>6}"]
    for e in summary.endpoints:
        rows.append(
            f"{e.name:<44} {e.requests:>6} {e.failures:>6} {e.p50_ms:>7.0f} {e.p95_ms:>7.0f}"
            f" {e.rps:>6.1f}"
        )
    rows.append(
        f"{'total':<44} {summary.requests:>6} {summary.failures:>6} {summary.p50_ms:>7.0f}"
        f" {summary.p95_ms:>7.0f} {summary.rps:>6.1f}"
    )
    rows.append("")
    rows.append(f"{'phase':<10} {'faults':<24} {'reqs':>6} {'5xx':>5} {'games 5xx':>9}")
    for p in summary.phases:
        faults = ",".join(f"{k}={v}" for k, v in p.faults.items()) or "-"
        rows.append(
            f"{p.name:<10} {faults:<24} {p.count():>6} {p.count('5xx'):>5}"
            f" {p.count('5xx', prefix='/api/games'):>9}"
        )
    rows.append(
        f"\n{summary.shape}: {summary.requests} requests in {summary.seconds} s against "
        f"{summary.host}, failure ratio {summary.failure_ratio:.2%}"
    )
    rows.extend(f"failed {n}x: {reason}" for reason, n in summary.failure_reasons.items())
    rows.extend(f"ERROR: {error}" for error in summary.errors)
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = schedule.Options(
            duration=(
                schedule.DEFAULT_DURATIONS[args.shape] if args.duration is None else args.duration
            ),
            users=args.users,
            spawn_rate=args.spawn_rate,
            error_rate=args.error_rate,
            latency_ms=args.latency_ms,
        )
        target = load_target(
            find_target_file(args.target, rootdir=REPO_ROOT, invocation_dir=Path.cwd())
        )
        host = check_host(args.host or target.url("gateway", "main"))
        summary = run(target, host, args.shape, options)
    except (ValueError, HostRefused, GraderError, StackError) as exc:
        sys.stderr.write(f"python -m load: {exc}\n")
        return 2
    sys.stdout.write(render(summary))
    if args.json is not None:
        args.json.write_text(summary.to_json(), encoding="utf-8")
    return 1 if summary.errors else 0
