"""The load before, during and after the fault: the per-second timeline of the Locust load cut
at the clock's marks (the first fault, the last repair), each phase's success ratio and
latency. The runner writes them into the run's journal (`extensions`, name `load`) and the
report shows them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Phase:
    seconds: int
    requests: int
    success_ratio: float | None  # answered without a 5xx (or no answer at all)
    mean_ms: float | None
    max_ms: float | None

    def cell(self) -> str:
        if not self.requests or self.success_ratio is None or self.mean_ms is None:
            return "-"
        return f"{self.success_ratio:.2%} ok, {self.mean_ms:.0f} ms mean, {self.max_ms:.0f} ms max"


def _phase(seconds: list[dict[str, float]]) -> Phase:
    requests = sum(int(s["requests"]) for s in seconds)
    if not requests:
        return Phase(len(seconds), 0, None, None, None)
    failed = sum(int(s["failed"]) for s in seconds)
    mean = sum(s["mean_ms"] * s["requests"] for s in seconds) / requests
    top = max(float(s.get("max_ms", s["mean_ms"])) for s in seconds if s["requests"])
    return Phase(len(seconds), requests, 1 - failed / requests, round(mean, 1), round(top, 1))


def phases(timeline: list[dict[str, float]], clock: dict[str, dict[str, Any]]) -> dict[str, Phase]:
    """`before` the `fault` mark, `during` it until the last repair (the end of the run when
    nothing was repaired), `after` that. `clock`: the run's marks (chaos/context.py); the
    `repair` action marks its own with `"repair": true`, whatever the mark's name."""
    if "fault" not in clock:
        return {}
    fault = float(clock["fault"]["at"])
    repairs = [float(mark["at"]) for mark in clock.values() if mark.get("repair")]
    repaired = max(repairs) if repairs else float("inf")
    return {
        "before": _phase([s for s in timeline if s["t"] + 1 <= fault]),
        "during": _phase([s for s in timeline if fault <= s["t"] < repaired]),
        "after": _phase([s for s in timeline if s["t"] >= repaired]),
    }


def as_extension(found: dict[str, Phase]) -> dict[str, Any]:
    return {"name": "load", "phases": {name: asdict(p) for name, p in found.items()}}
