"""From probe results to Statuspage statuses, with hysteresis (pure logic, no I/O).

A unit (one component, or one replica of it) is `up`, `degraded` or `down`. It changes state
only after several consecutive contrary results (`failures_to_outage` to go down,
`successes_to_recover` for any other change), so one lost probe never flips the page. A
component's status comes from its units: all down = major outage, some down = partial outage,
any degraded = degraded performance; a maintenance window overrides them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

UnitState = Literal["up", "degraded", "down"]
ComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]
Indicator = Literal["none", "minor", "major", "critical"]

STATUS_LABELS: dict[str, str] = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "under_maintenance": "Under maintenance",
}
# Gauge values of status_component_status (0 is good; the larger the worse).
STATUS_LEVELS: dict[str, int] = {
    "operational": 0,
    "under_maintenance": 1,
    "degraded_performance": 2,
    "partial_outage": 3,
    "major_outage": 4,
}
OUTAGES = ("partial_outage", "major_outage")
DESCRIPTIONS: dict[str, str] = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}


@dataclass(frozen=True)
class Observation:
    ok: bool
    latency_ms: float
    warn: bool = False
    detail: str = ""


@dataclass(frozen=True)
class Policy:
    failures_to_outage: int = 2
    successes_to_recover: int = 2
    slow_ms: float = 1000.0


def raw_state(obs: Observation, policy: Policy) -> UnitState:
    if not obs.ok:
        return "down"
    return "degraded" if obs.warn or obs.latency_ms > policy.slow_ms else "up"


class UnitTracker:
    """One unit's state with hysteresis. `state` is None until the first observation (or the
    last state stored before a restart, given as `initial`)."""

    def __init__(self, initial: UnitState | None = None) -> None:
        self.state: UnitState | None = initial
        # Seen answering by this process: a state restored from before a restart says nothing
        # about whether the unit has started yet (after `stack down` and `up` it has not).
        self.seen_up = False
        self._candidate: str | None = None
        self._streak = 0

    def observe(self, obs: Observation, policy: Policy) -> UnitState:
        raw = raw_state(obs, policy)
        if raw != "down":
            self.seen_up = True
        if self.state is None:  # nothing to hold on to yet: believe the first answer
            self.state = raw
        elif raw == self.state:
            self._candidate, self._streak = None, 0
        else:
            # Out of an outage, any answer counts towards recovery (slow or not); between up
            # and degraded, only the same answer again.
            key = "recovering" if self.state == "down" and raw != "down" else raw
            if key == self._candidate:
                self._streak += 1
            else:
                self._candidate, self._streak = key, 1
            needed = policy.failures_to_outage if raw == "down" else policy.successes_to_recover
            if self._streak >= needed:
                self.state, self._candidate, self._streak = raw, None, 0
        return self.state


def component_status(
    units: Iterable[UnitState | None], *, in_maintenance: bool = False
) -> ComponentStatus:
    if in_maintenance:
        return "under_maintenance"
    known = [u for u in units if u is not None]
    down = sum(1 for u in known if u == "down")
    if known and down == len(known):
        return "major_outage"
    if down:
        return "partial_outage"
    if "degraded" in known:
        return "degraded_performance"
    return "operational"


def counts_as_up(status: str) -> bool:
    """For uptime: a sample is down only in a major outage (a partial outage still serves;
    maintenance is planned)."""
    return status != "major_outage"


def indicator(statuses: Iterable[str]) -> Indicator:
    """The page's overall indicator, as Statuspage's status.json has it."""
    relevant = [s for s in statuses if s != "under_maintenance"]
    major = sum(1 for s in relevant if s == "major_outage")
    if major and major * 2 > len(relevant):
        return "critical"
    if major:
        return "major"
    if any(s in ("partial_outage", "degraded_performance") for s in relevant):
        return "minor"
    return "none"


SEVERITY_ORDER: tuple[Indicator, ...] = ("none", "minor", "major", "critical")


def headline(statuses: Iterable[str], open_impacts: Iterable[str]) -> Indicator:
    """The page's headline, as Statuspage's indicator: the worse of what the components say
    and the impact of the unresolved incidents (an open major incident is never "All Systems
    Operational", whatever the probes see)."""
    worst = SEVERITY_ORDER.index(indicator(statuses))
    for impact in open_impacts:
        if impact in SEVERITY_ORDER:
            worst = max(worst, SEVERITY_ORDER.index(impact))
    return SEVERITY_ORDER[worst]
