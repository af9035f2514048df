"""Run a load shape (load/: `steady`, `error-spike`, `latency`) against a target and get its
summary back: what the checks call to make alerts fire under realistic traffic.

Locust runs in a child process (`python -m load SHAPE --json FILE`), which uses Locust's
Python API (`Environment`, `LoadTestShape`, `create_local_runner`) and writes this module's
`LoadSummary` as JSON. Why not in the pytest process: importing Locust monkey-patches the
whole process with gevent (locust/__init__.py calls `monkey.patch_all()`). Measured here:
after `import locust`, `threading` and `ssl` (already imported by httpx) report patched, and a
ThreadPoolExecutor's workers become greenlets in one OS thread, so every later test's threads,
and blocking C calls such as psycopg's, would share that one thread. The child costs about
0.5 s of imports per run, which is nothing next to a load phase.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import CheckFailed, GraderError, TargetError
from grader.faults import clear_faults
from grader.target import Target
from stack.paths import REPO_ROOT

FAULT_COMPONENT = "games"  # the shapes flip the flags of this replica set
SHAPES_WITH_FAULTS = ("error-spike", "latency")  # as load/schedule.py (not importable here)
START_GRACE = 60.0  # seconds over the shape's duration: imports, sign-ups, stopping users


@dataclass(frozen=True)
class EndpointStats:
    name: str  # "POST /api/games/[id]/moves"
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    rps: float


@dataclass(frozen=True)
class PhaseStats:
    """Requests by the phase they started in: {endpoint: {"2xx": n, "5xx": n, "error": n}}
    ("error": no HTTP answer at all)."""

    name: str
    started_at: float
    faults: dict[str, Any]
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, status: str | None = None, *, prefix: str = "") -> int:
        """Requests of endpoints whose path starts with `prefix`, of one status class."""
        return sum(
            n
            for endpoint, by_status in self.statuses.items()
            if endpoint.split(" ", 1)[-1].startswith(prefix)
            for cls, n in by_status.items()
            if status is None or cls == status
        )


@dataclass(frozen=True)
class LoadSummary:
    shape: str
    seconds: float
    host: str
    requests: int
    failures: int
    failure_ratio: float
    p50_ms: float
    p95_ms: float
    rps: float
    endpoints: list[EndpointStats]
    phases: list[PhaseStats]
    errors: list[str]  # the run itself went wrong (fault switch, deadline): not load results
    failure_reasons: dict[str, int] = field(default_factory=dict)  # "POST /x: 409 ...": count
    # Per second (Unix time `t`): requests, failed (5xx or no answer), mean_ms, max_ms.
    timeline: list[dict[str, float]] = field(default_factory=list)

    def phase(self, name: str) -> PhaseStats:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise CheckFailed(
            f"the {self.shape!r} run has no phase {name!r}; it had: "
            f"{', '.join(p.name for p in self.phases) or 'none'}"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> LoadSummary:
        raw = json.loads(text)
        raw["endpoints"] = [EndpointStats(**e) for e in raw["endpoints"]]
        raw["phases"] = [PhaseStats(**p) for p in raw["phases"]]
        return cls(**raw)


def run_shape(
    target: Target,
    shape: str,
    *,
    duration: float,
    users: int = 10,
    spawn_rate: float = 2.0,
    extra_args: tuple[str, ...] = (),
) -> LoadSummary:
    """Run `shape` for `duration` seconds through the target's gateway; the games fault
    flags are off afterwards whatever happened (the child clears them, and so does this
    function, in case the child was killed before it could)."""
    if target.source is None:
        raise TargetError(
            f"target {target.name!r} was not loaded from a file; the load runner needs one"
        )
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        out = Path(tmp) / "summary.json"
        command = [
            sys.executable, "-m", "load", shape,
            "--target", str(target.source),
            "--duration", str(duration),
            "--users", str(users),
            "--spawn-rate", str(spawn_rate),
            "--json", str(out),
            *extra_args,
        ]  # fmt: skip
        try:
            # cwd: `-m load` finds the load/ package from the repo root (it is not installed).
            done = subprocess.run(
                command, cwd=REPO_ROOT, capture_output=True, text=True,
                timeout=duration + START_GRACE, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise GraderError(
                f"`{' '.join(command)}` did not finish within {duration + START_GRACE:.0f} s; "
                f"its last output: {_tail(exc.stderr)}"
            ) from None
        finally:
            if shape in SHAPES_WITH_FAULTS:
                clear_faults(target, FAULT_COMPONENT)
        if done.returncode != 0 or not out.is_file():
            # Its summary, with an ERROR line per problem, is on stdout; a crash is on stderr.
            said = "\n".join(t for t in (done.stdout.strip(), done.stderr.strip()) if t)
            raise GraderError(f"`{' '.join(command)}` exited with {done.returncode}: {_tail(said)}")
        return LoadSummary.from_json(out.read_text(encoding="utf-8"))


def _tail(output: str | bytes | None, limit: int = 2000) -> str:
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    return (output or "(nothing)")[-limit:]
