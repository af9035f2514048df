"""Status mapping: hysteresis, replica sets, maintenance, the page's indicator."""

from __future__ import annotations

from status_service.health_model import (
    Observation,
    Policy,
    UnitTracker,
    component_status,
    counts_as_up,
    headline,
    indicator,
)

POLICY = Policy(failures_to_outage=2, successes_to_recover=2, slow_ms=500)
OK = Observation(ok=True, latency_ms=10)
SLOW = Observation(ok=True, latency_ms=900)
WARN = Observation(ok=True, latency_ms=10, warn=True)
FAIL = Observation(ok=False, latency_ms=3, detail="connection refused")


def feed(tracker: UnitTracker, *observations: Observation) -> list[str | None]:
    return [tracker.observe(o, POLICY) for o in observations]


def test_first_answer_is_believed_then_changes_need_a_streak() -> None:
    assert feed(UnitTracker(), OK, FAIL, FAIL, FAIL) == ["up", "up", "down", "down"]


def test_one_lost_probe_does_not_flap() -> None:
    assert feed(UnitTracker("up"), FAIL, OK, FAIL, OK) == ["up"] * 4


def test_recovery_needs_consecutive_successes_slow_or_not() -> None:
    tracker = UnitTracker("down")
    assert feed(tracker, OK, FAIL, OK) == ["down", "down", "down"]
    assert feed(tracker, SLOW) == ["degraded"]  # OK then SLOW: two answers in a row


def test_warn_or_slow_is_degraded_after_the_streak() -> None:
    assert feed(UnitTracker("up"), WARN, WARN, OK, OK) == ["up", "degraded", "degraded", "up"]
    assert feed(UnitTracker("up"), SLOW, SLOW) == ["up", "degraded"]


def test_restored_state_survives_a_restart() -> None:
    # A state restored from the database is held like any other: no flip on one answer.
    tracker = UnitTracker("down")
    assert feed(tracker, OK, OK) == ["down", "up"]


def test_replica_sets_some_down_is_partial_all_down_is_major() -> None:
    assert component_status(["up", "up"]) == "operational"
    assert component_status(["up", "down"]) == "partial_outage"
    assert component_status(["down", "down"]) == "major_outage"
    assert component_status(["down"]) == "major_outage"
    assert component_status(["degraded", "up"]) == "degraded_performance"
    assert component_status([None, "up"]) == "operational"


def test_maintenance_overrides_everything() -> None:
    assert component_status(["down", "down"], in_maintenance=True) == "under_maintenance"


def test_uptime_counts_only_major_outage_as_down() -> None:
    assert [counts_as_up(s) for s in ("operational", "partial_outage", "major_outage")] == [
        True,
        True,
        False,
    ]


def test_indicator() -> None:
    assert indicator(["operational", "under_maintenance"]) == "none"
    assert indicator(["operational", "degraded_performance"]) == "minor"
    assert indicator(["operational", "operational", "major_outage"]) == "major"
    assert indicator(["major_outage", "major_outage", "operational"]) == "critical"


def test_the_headline_is_the_worse_of_components_and_open_incidents() -> None:
    assert headline(["operational", "operational"], []) == "none"
    # an open major incident while every probe passes (an alert, not an outage)
    assert headline(["operational", "operational"], ["major"]) == "major"
    assert headline(["operational", "degraded_performance"], ["none"]) == "minor"
    assert headline(["major_outage", "major_outage", "operational"], ["minor"]) == "critical"
    assert headline([], ["critical", "minor"]) == "critical"
