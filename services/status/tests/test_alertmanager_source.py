"""Reading Alertmanager's active alerts (`GET /api/v2/alerts`) from a stand-in HTTP server: what
counts as still firing, the credentials sent, and each way of not answering named."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from status_service.alertmanager import AlertSource, AlertsUnavailable

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def alert(fingerprint: str, ends: datetime | None) -> dict[str, Any]:
    found: dict[str, Any] = {"fingerprint": fingerprint, "status": {"state": "active"}}
    if ends is not None:
        found["endsAt"] = ends.isoformat().replace("+00:00", "Z")
    return found


def test_alerts_whose_end_passed_do_not_count(fake_alertmanager: Any, tmp_path: Path) -> None:
    secret = tmp_path / "admin_password"
    secret.write_text("s3cret\n")
    fake_alertmanager.body = [
        alert("firing", NOW + timedelta(minutes=4)),
        alert("ended", NOW - timedelta(seconds=1)),
        alert("no-end", None),
    ]
    source = AlertSource(fake_alertmanager.url, "admin", secret)
    assert source.active_fingerprints(timeout=2, now=NOW) == {"firing", "no-end"}
    asked = fake_alertmanager.seen[-1]
    assert asked["path"].startswith("/api/v2/alerts?")
    assert asked["Authorization"] == "Basic " + base64.b64encode(b"admin:s3cret").decode()


@pytest.mark.parametrize(
    ("code", "body", "reason"),
    [
        (503, "not ready", "HTTP 503"),
        (200, {"alerts": []}, "expected a JSON list of alerts, got dict"),
    ],
)
def test_an_answer_that_is_not_the_alerts_is_named(
    fake_alertmanager: Any, code: int, body: Any, reason: str
) -> None:
    fake_alertmanager.code, fake_alertmanager.body = code, body
    with pytest.raises(AlertsUnavailable, match=reason):
        AlertSource(fake_alertmanager.url).active_fingerprints(timeout=2, now=NOW)


def test_no_answer_and_no_password_are_named(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    with pytest.raises(AlertsUnavailable, match="ConnectError"):
        AlertSource(f"http://127.0.0.1:{port}").active_fingerprints(timeout=2, now=NOW)
    missing = AlertSource("http://127.0.0.1:1", "admin", tmp_path / "nope")
    with pytest.raises(AlertsUnavailable, match=r"cannot read .*nope"):
        missing.active_fingerprints(timeout=2, now=NOW)
