"""Whether metrics move by what the grader did: read a query before, use the product, read it
again until it has moved enough. A counter that exists but never moves fails; so does one that
moves by less than the grader's own actions. Other traffic (health probes, scrapes, other
checks) may add to a counter, so a counter must grow by at least, not exactly, that much.

Every query is read series by series and summed (instances, replicas, label values), so a
service's replicas count together and a counter created on first use starts from nothing. A
series that went down between the readings restarted (a redeployed replica): like Prometheus'
`increase()`, its growth is its new value, not a loss.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from grader.errors import CheckFailed
from grader.polling import poll_until

Kind = Literal["counter", "gauge"]
Series = dict[str, float]  # each series of a query (its labels, as text) and its value
Read = Callable[[str], Series | None]


def red_selector(metric: str, service: str) -> str:
    """A service's series of `metric`, labelled by `service` or by scrape `job`."""
    return f'{metric}{{service="{service}"}} or {metric}{{job="{service}"}}'


@dataclass(frozen=True)
class Expectation:
    """How far one query must move: a counter grows by at least `at_least`; a gauge is above
    zero afterwards. `because` names what the grader did, for the report."""

    name: str
    query: str
    kind: Kind
    at_least: float
    because: str


@dataclass(frozen=True)
class Movement:
    expectation: Expectation
    before_series: Series | None
    after_series: Series | None

    @property
    def before(self) -> float | None:
        return None if self.before_series is None else sum(self.before_series.values())

    @property
    def after(self) -> float | None:
        return None if self.after_series is None else sum(self.after_series.values())

    @property
    def grew_by(self) -> float | None:
        """The sum of each series' growth; a series that went down restarted from zero."""
        if self.after_series is None:
            return None
        before = self.before_series or {}
        return sum(
            now - before.get(labels, 0.0) if now >= before.get(labels, 0.0) else now
            for labels, now in self.after_series.items()
        )

    def problem(self) -> str | None:
        """What is wrong, expected against seen; None when it moved as expected."""
        e = self.expectation
        if self.after is None:
            return f"{e.name}: expected {self._wanted()}, but {e.query} returns no series"
        if e.kind == "gauge":
            if self.after > 0:
                return None
            return f"{e.name}: expected {self._wanted()}, it is {self.after:g}"
        grew = self.grew_by or 0.0
        if grew >= e.at_least:
            return None
        seen = f"it went from {_shown(self.before)} to {self.after:g} ({grew:+g})"
        return f"{e.name}: expected {self._wanted()}, {seen}"

    def _wanted(self) -> str:
        e = self.expectation
        if e.kind == "gauge":
            return f"a value above 0 after {e.because}"
        return f"growth by at least {e.at_least:g} after {e.because}"

    def evidence(self) -> dict[str, object]:
        e = self.expectation
        return {
            "query": e.query,
            "before": self.before,
            "after": self.after,
            "grew by": self.grew_by,
            "expected": self._wanted(),
        }


def _shown(value: float | None) -> str:
    return "no series" if value is None else f"{value:g}"


def read_all(read: Read, queries: Iterable[str]) -> dict[str, Series | None]:
    return {query: read(query) for query in queries}


def wait_for_movement(
    read: Read,
    expectations: list[Expectation],
    before: dict[str, Series | None],
    *,
    timeout: float,
    interval: float,
) -> list[Movement]:
    """Read every query again until each expectation is met or `timeout` passes; returns the
    last readings either way (each check then judges its own)."""
    last: list[Movement] = []

    def readings() -> list[Movement]:
        nonlocal last
        after = read_all(read, dict.fromkeys(e.query for e in expectations))
        last = [Movement(e, before.get(e.query), after[e.query]) for e in expectations]
        return last

    # On timeout the checks report each metric that did not move, from `last`.
    with contextlib.suppress(CheckFailed):
        poll_until(
            readings,
            "the metrics to move by what the grader did",
            timeout,
            interval=interval,
            until=lambda found: all(m.problem() is None for m in found),
        )
    return last
