"""The shapes as Locust `LoadTestShape`s: each wraps a `schedule.Ticker` over its plan.
https://docs.locust.io/en/stable/custom-load-shape.html
"""

from __future__ import annotations

from typing import ClassVar

from locust import LoadTestShape

from load import schedule


class PhasedShape(LoadTestShape):
    """Runs `plan` phase by phase; `switch` sets the games fault flags between phases."""

    abstract = True
    name: ClassVar[str]

    def __init__(
        self, options: schedule.Options | None = None, switch: schedule.Switch | None = None
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.ticker = schedule.Ticker(
            schedule.plan(self.name, options or schedule.Options()), switch
        )

    def tick(self) -> tuple[int, float] | None:
        return self.ticker.tick(self.get_run_time())  # type: ignore[no-untyped-call]


class SteadyShape(PhasedShape):
    name = "steady"


class ErrorSpikeShape(PhasedShape):
    name = "error-spike"


class LatencyShape(PhasedShape):
    name = "latency"


SHAPES: dict[str, type[PhasedShape]] = {
    shape.name: shape for shape in (SteadyShape, ErrorSpikeShape, LatencyShape)
}
