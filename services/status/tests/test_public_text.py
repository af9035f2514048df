"""What the public reads about an alert: our sentence, or the alert's summary when it is plain
text, never the detail a rule or a log alert carries (paths, hosts, pids, ids, URLs)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from status_service.alerts import Alert
from status_service.public_text import alert_body, alert_title, looks_internal


def alert(name: str, summary: str = "", description: str = "", **labels: str) -> Alert:
    return Alert(
        status="firing",
        labels={"alertname": name, **labels},
        annotations={"summary": summary, "description": description},
        startsAt=datetime(2026, 12, 7, tzinfo=UTC),
        fingerprint="f",
    )


@pytest.mark.parametrize(
    "text",
    [
        "SystemFailure: /work/main/.stack/logs/postgres.log on host build-7",
        "CPU of 127.0.0.1:9100 is 95% busy",
        "Probe of node-exporter:9100 fails",
        "games-2 exited (pid 4711)",
        "postgres[4711]: FATAL",
        "GET https://example.org/api/games/4f0c2a9e-1b7d-4c55-9f0e-2b1f3f0a9c11",
        "event 5f1e2d3c4b5a69788796a5b4 in logs-app-2026.12.07",
        '{"message": "boom"}',
    ],
)
def test_internals_are_recognised(text: str) -> None:
    assert looks_internal(text), text


@pytest.mark.parametrize(
    "text",
    ["games answers 27.57% of requests with 5xx", "RabbitMQ is down", "users p95 latency is 1.2s"],
)
def test_plain_sentences_pass(text: str) -> None:
    assert not looks_internal(text), text


def test_titles_come_from_our_table_then_a_plain_summary_then_the_source() -> None:
    assert alert_title(alert("HighErrorRate", "games answers 30% with 5xx"), "games") == (
        "Games is failing some requests"
    )
    assert alert_title(alert("RabbitmqDown", "RabbitMQ is down"), "rabbitmq") == "RabbitMQ is down"
    assert alert_title(alert("HostHighCpu", "CPU of 127.0.0.1:9100 is 95% busy"), None) == (
        "The platform has a problem"
    )
    log = alert("Whatever", "Whatever", source="elastalert")
    assert alert_title(log, "games") == "Games logged errors"
    failure = alert("SystemFailure", "SystemFailure", "postgres.log: FATAL at /var/lib/pg")
    assert alert_title(failure, None) == "A system failure was reported"


def test_the_body_never_carries_the_description() -> None:
    raw = "2026-12-07 pid=4711 /work/x.log"
    dirty = alert("ErrorSpike", "ErrorSpike", raw, source="elastalert")
    body = alert_body(dirty, "games")
    assert body == "Our logs show errors in games. We are investigating."
    assert not looks_internal(body)
