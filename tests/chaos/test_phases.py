"""The load cut at the clock's marks: before the fault, during it, after the last repair."""

from __future__ import annotations

from chaos.phases import phases


def second(t: int, requests: int, failed: int, mean_ms: float) -> dict[str, float]:
    return {"t": t, "requests": requests, "failed": failed, "mean_ms": mean_ms, "max_ms": mean_ms}


def test_each_phase_has_its_own_ratio_and_latency() -> None:
    timeline = [second(100, 10, 0, 20), second(101, 10, 0, 40),  # before the fault at 102
                second(102, 10, 5, 100), second(103, 10, 5, 100),  # during
                second(104, 20, 0, 30)]  # fmt: skip
    clock = {"fault": {"at": 102.0, "fault": "f"}, "outage": {"at": 102.5},
             "repair": {"at": 103.2, "repair": True},
             "recovery": {"at": 104.0, "repair": True}}  # fmt: skip
    found = phases(timeline, clock)
    assert (found["before"].requests, found["before"].success_ratio) == (20, 1.0)
    assert found["before"].mean_ms == 30.0
    assert (found["during"].requests, found["during"].success_ratio) == (20, 0.5)
    assert (found["after"].requests, found["after"].mean_ms) == (20, 30.0)
    assert found["during"].cell() == "50.00% ok, 100 ms mean, 100 ms max"


def test_without_a_repair_the_fault_lasts_to_the_end_and_without_a_fault_nothing() -> None:
    timeline = [second(100, 10, 0, 20), second(101, 10, 1, 20)]
    assert phases(timeline, {"fault": {"at": 101.0}})["during"].requests == 10
    assert phases(timeline, {"fault": {"at": 101.0}})["after"].cell() == "-"
    assert phases(timeline, {}) == {}
