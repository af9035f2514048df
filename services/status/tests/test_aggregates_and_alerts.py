"""Aggregates from raw checks, and the webhook payload's validation (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from status_service.aggregates import Sample, daily_stats, minute_stats, percentile
from status_service.alerts import PayloadError, parse_payload
from status_service.core.config import duration

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_percentile_nearest_rank() -> None:
    assert percentile([], 95) is None
    assert percentile([5.0], 50) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 95) == 95.0


def test_minute_stats_one_sample_per_cycle_replicas_share_it() -> None:
    samples = [
        # 12:00, cycle 1: a replica set with one unit down -> partial (counts as up)
        Sample("games", T0, "partial_outage", True, 10.0),
        Sample("games", T0, "partial_outage", False, 2.0),
        # cycle 2: all down -> major (down)
        Sample("games", T0 + timedelta(seconds=5), "major_outage", False, 2.0),
        Sample("games", T0 + timedelta(seconds=5), "major_outage", False, 2.0),
        # 12:01
        Sample("games", T0 + timedelta(seconds=60), "operational", True, 30.0),
    ]
    first, second = minute_stats(samples)
    assert (first.samples, first.up_samples, first.p50_ms) == (2, 1, 10.0)
    assert first.uptime == 50.0
    assert (second.start, second.samples, second.up_samples) == (T0 + timedelta(minutes=1), 1, 1)


def test_daily_stats_sum_minutes_and_split_days() -> None:
    minutes = minute_stats(
        [Sample("auth", T0 + timedelta(minutes=m), "operational", True, float(m)) for m in range(3)]
        + [Sample("auth", T0 + timedelta(days=1), "major_outage", False, 1.0)]
    )
    today, tomorrow = daily_stats(minutes)
    assert (today.samples, today.up_samples, today.p95_ms) == (3, 3, 2.0)
    assert (tomorrow.samples, tomorrow.up_samples, tomorrow.uptime) == (1, 0, 0.0)


def test_retention_durations() -> None:
    assert duration("48h") == timedelta(hours=48) and duration("90d") == timedelta(days=90)
    with pytest.raises(ValueError, match=r"not <number><h\|d\|w\|y>"):
        duration("soon")


def payload(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "version": "4",
        "groupKey": '{}:{alertname="ServiceDown"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "status",
        "groupLabels": {"alertname": "ServiceDown"},
        "commonLabels": {"alertname": "ServiceDown", "job": "users"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "ServiceDown", "job": "users", "severity": "critical"},
                "annotations": {"summary": "users is down"},
                "startsAt": "2026-11-28T12:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "c0ffee",
            }
        ],
    }
    body.update(changes)
    return body


def test_a_v4_payload_parses_and_keeps_the_raw_body() -> None:
    parsed, raw = parse_payload(json.dumps(payload()).encode())
    assert parsed.alerts[0].fingerprint == "c0ffee" and raw["receiver"] == "status"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "the body is not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (json.dumps(payload(version="3")).encode(), "version: Input should be '4'"),
        (json.dumps(payload(alerts=[])).encode(), "alerts: List should have at least 1 item"),
        (json.dumps(payload(status="weird")).encode(), "status: Input should be 'firing'"),
        (
            json.dumps(payload(alerts=[{"status": "firing", "labels": {}}])).encode(),
            "alerts.0.startsAt: Field required (and 1 more)",
        ),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as excinfo:
        parse_payload(body)
    assert reason in str(excinfo.value)
