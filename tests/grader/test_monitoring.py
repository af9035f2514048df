"""The monitoring checks' helpers: durations, webhook payloads, metrics logins."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import CheckFailed, TargetError
from grader.monitoring import Prometheus, parse_duration, v4_payload_problems
from grader.target import MetricsAccess


@pytest.mark.parametrize(
    ("text", "seconds"), [("5s", 5), ("1m", 60), ("1m30s", 90), ("2h", 7200), ("250ms", 0.25)]
)
def test_prometheus_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5", "s", "5x", ""])
def test_bad_durations_are_named(text: str) -> None:
    if text == "":
        assert parse_duration(text) == 0
        return
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        parse_duration(text)


def payload(**change: object) -> dict[str, object]:
    body: dict[str, object] = {
        "version": "4",
        "groupKey": '{}:{alertname="ServiceDown"}',
        "status": "firing",
        "receiver": "critical",
        "groupLabels": {"alertname": "ServiceDown"},
        "commonLabels": {"alertname": "ServiceDown"},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "ServiceDown", "job": "users"},
                "annotations": {"summary": "users is down"},
                "startsAt": "2026-11-28T20:00:00Z",
                "fingerprint": "abc",
            }
        ],
    }
    body.update(change)
    return body


def test_a_v4_payload_has_no_problems_and_a_wrong_one_is_described() -> None:
    assert v4_payload_problems(payload()) == []
    problems = v4_payload_problems(payload(version="3", alerts=[]))
    assert "version is '3', expected '4'" in problems and "no alerts" in problems
    broken = payload()
    del broken["groupKey"]
    assert v4_payload_problems(broken) == ["no 'groupKey'"]


def test_metrics_access_headers(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / "token").write_text("tok\n")
    basic = MetricsAccess(url="http://x/metrics", username="admin", password_file=tmp_path / "pw")
    assert basic.auth_headers() == {"Authorization": "Basic YWRtaW46czNjcmV0"}
    bearer = MetricsAccess(url="http://x/metrics", bearer_file=tmp_path / "token")
    assert bearer.auth_headers() == {"Authorization": "Bearer tok"}
    assert MetricsAccess(url="http://x/metrics").auth_headers() == {}
    with pytest.raises(TargetError, match="cannot read the metrics token from"):
        MetricsAccess(url="http://x", bearer_file=tmp_path / "nope").auth_headers()


def test_metrics_access_takes_one_login() -> None:
    with pytest.raises(ValueError, match="username and password_file go together"):
        MetricsAccess(url="http://x", username="admin")
    with pytest.raises(ValueError, match="not both"):
        MetricsAccess(url="http://x", username="a", password_file=Path("p"), bearer_file=Path("t"))


class _ScriptedPrometheus(Prometheus):
    """Answers `firing()` from a script, one list of alerts per call (the last one repeats)."""

    def __init__(self, *answers: list[dict[str, str]]) -> None:  # no server behind it
        self.answers = list(answers)

    def firing(self) -> list[dict[str, str]]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_waiting_for_several_services_ends_when_every_one_fires() -> None:
    auth = {"alertname": "ServiceDown", "job": "auth"}
    games = {"alertname": "ServiceDown", "job": "games"}
    prometheus = _ScriptedPrometheus([], [auth], [auth, games])
    prometheus.wait_firing("ServiceDown", ["auth", "games"], timeout=10)
    assert prometheus.answers == [[auth, games]]


def test_a_service_whose_alert_never_fires_is_named() -> None:
    prometheus = _ScriptedPrometheus([{"alertname": "ServiceDown", "job": "users"}])
    with pytest.raises(
        CheckFailed, match=r"ServiceDown to fire for users, auth.*not yet for \['auth'\]"
    ):
        prometheus.wait_firing("ServiceDown", ["users", "auth"], timeout=1.5)
