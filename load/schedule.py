"""The load shapes as data: phases of (users, spawn rate, fault flags), and the ticker that
turns elapsed time into Locust's `tick()` answer while switching the flags between phases.

Pure Python (no Locust import), so the unit tests can step through a shape in the pytest
process: importing Locust monkey-patches the whole process with gevent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Flags = Mapping[str, float | int | bool]
Switch = Callable[[Flags], object]  # applies flags to the games replicas; {} = all off
# Share of the run spent before, in and after the fault: the "after" quarter shows recovery.
BEFORE, DURING = 0.25, 0.5
# Seconds. A fault phase of 60 s outlasts the alerts' 1-minute rate windows plus their local
# `for` (15 s), scrape and evaluation (5 s each) and group_wait (5 s): docs/load.md.
DEFAULT_DURATIONS = {"steady": 60.0, "error-spike": 120.0, "latency": 120.0}


@dataclass(frozen=True)
class Options:
    duration: float = 60.0
    users: int = 10
    spawn_rate: float = 2.0
    error_rate: float = 0.5
    latency_ms: int = 1500

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise ValueError(f"duration={self.duration!r} must be positive (seconds)")
        if self.users < 1 or self.spawn_rate <= 0:
            raise ValueError(
                f"users={self.users!r} must be >= 1 and spawn_rate={self.spawn_rate!r} > 0"
            )


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    users: int
    spawn_rate: float
    faults: Flags = field(default_factory=dict)


def steady(o: Options) -> tuple[Phase, ...]:
    return (Phase("steady", o.duration, o.users, o.spawn_rate),)


def _spike(o: Options, faults: Flags) -> tuple[Phase, ...]:
    return (
        Phase("before", o.duration * BEFORE, o.users, o.spawn_rate),
        Phase("fault", o.duration * DURING, o.users, o.spawn_rate, faults),
        Phase("after", o.duration * (1 - BEFORE - DURING), o.users, o.spawn_rate),
    )


def error_spike(o: Options) -> tuple[Phase, ...]:
    return _spike(o, {"error_rate": o.error_rate})


def latency(o: Options) -> tuple[Phase, ...]:
    return _spike(o, {"latency_ms": o.latency_ms})


PLANS: dict[str, Callable[[Options], tuple[Phase, ...]]] = {
    "steady": steady,
    "error-spike": error_spike,
    "latency": latency,
}


def plan(shape: str, options: Options) -> tuple[Phase, ...]:
    try:
        return PLANS[shape](options)
    except KeyError:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(PLANS)}") from None


@dataclass(frozen=True)
class Transition:
    """Wall clock (time.time(), as Locust's request `start_time`): the switch to this phase's
    flags began at `begun` and was done on every unit at `at`."""

    phase: str  # "end" after the last phase
    at: float
    begun: float


class Ticker:
    """Locust calls `tick()` about once a second. On entering a phase whose flags differ from
    the ones applied, the switch runs, and the phase is recorded with the time the switch
    began and ended. After the last phase (and on `close()`) the flags are switched off."""

    def __init__(
        self,
        phases: tuple[Phase, ...],
        switch: Switch | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not phases:
            raise ValueError("a shape needs at least one phase")
        self.phases = phases
        self.switch = switch
        self.clock = clock
        self.transitions: list[Transition] = []
        self.errors: list[str] = []
        self.applied: dict[str, float | int | bool] = {}
        self._current: Phase | None = None
        self._ended = False
        self._unsure = False

    def phase_at(self, elapsed: float) -> Phase | None:
        end = 0.0
        for phase in self.phases:
            end += phase.seconds
            if elapsed < end:
                return phase
        return None

    def tick(self, elapsed: float) -> tuple[int, float] | None:
        """(users, spawn rate), or None to end the run: after the last phase, or when the
        switch failed (the error is kept in `errors`; a load test whose fault could not be
        set or cleared proves nothing)."""
        if not self.errors:
            try:
                phase = self.phase_at(elapsed)
                if phase is not None:
                    if phase is not self._current:
                        self._switch(phase.name, dict(phase.faults))
                        self._current = phase
                    return phase.users, phase.spawn_rate
            except Exception as exc:  # any failure of the switch ends the run, see above
                self.errors.append(f"{type(exc).__name__}: {exc}")
        try:
            self.close()
        except Exception as exc:
            self.errors.append(f"switching the faults off: {type(exc).__name__}: {exc}")
        return None

    def close(self) -> None:
        """Flags off (if any are on) and the run marked ended; safe to call again."""
        if self._ended:
            self._apply({})
            return
        self._ended = True
        self._switch("end", {})

    def _switch(self, phase: str, wanted: dict[str, float | int | bool]) -> None:
        """Applies the flags, with the phase recorded as pending (done at +inf) meanwhile: the
        runner counts a request when it ends, and Locust's other greenlets run while the
        switch waits on its PUTs, so a request ending then must already see the new phase."""
        begun = self.clock()
        index = len(self.transitions)
        self.transitions.append(Transition(phase, math.inf, begun))
        try:
            self._apply(wanted)
        finally:
            self.transitions[index] = Transition(phase, self.clock(), begun)

    def phase_of(self, started_at: float, ended_at: float | None = None) -> str | None:
        """The phase a request ran in: a phase with faults if the request could have met its
        flags (it was under way at any time from that switch's start until the next switch
        was done on every unit), else the phase it started in. So a request counted in a
        phase without faults cannot have met a flag, even one in flight across a switch."""
        ended_at = started_at if ended_at is None else ended_at
        faulty = {p.name for p in self.phases if p.faults}
        started, met = None, None
        for i, transition in enumerate(self.transitions):
            if transition.at <= started_at:
                started = transition.phase
            later = self.transitions[i + 1 :]
            flags_until = later[0].at if later else float("inf")
            under_way = started_at < flags_until and ended_at >= transition.begun
            if transition.phase in faulty and under_way:
                met = transition.phase
        return met or started

    def _apply(self, wanted: dict[str, float | int | bool]) -> None:
        if wanted == self.applied and not self._unsure:
            return
        if self.switch is not None:
            # A switch that fails half-way leaves some units flagged: stay unsure, so that
            # `close()` switches off again instead of trusting `applied`.
            self._unsure = True
            self.switch(wanted)
        self.applied, self._unsure = wanted, False
