"""Notifications count only when they are the drill's own: the alert, the service, new."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from grader import notifications
from grader.errors import CheckFailed
from grader.monitoring import Mail
from grader.notifications import (
    Notifications,
    declared_channels,
    subject_names,
    webhook_sighting,
)
from grader.target import Target, parse_target

FAULT = datetime(2026, 11, 28, 20, 0, 0, tzinfo=UTC)
REPAIR = datetime(2026, 11, 28, 20, 2, 0, tzinfo=UTC)


def _target(**monitoring: Any) -> Target:
    profile = {
        "version": 1,
        "name": "t",
        "runtime": "external",
        "control": {"driver": "none"},
        "components": {"status": {"role": "status", "probe": {"kind": "tcp", "port": 1}}},
        "monitoring": monitoring,
    }
    return parse_target(profile, source=Path("t.yaml"))


def received(
    status: str, *, starts: str = "2026-11-28T20:00:20Z", ends: str = "", fp: str = "abc"
) -> dict[str, Any]:
    """One entry of the receiver's list, as the reference status service answers it."""
    alert = {
        "status": status,
        "labels": {"alertname": "ServiceDown", "job": "users", "severity": "critical"},
        "annotations": {"summary": "users is down"},
        "startsAt": starts,
        "endsAt": ends or "0001-01-01T00:00:00Z",
        "fingerprint": fp,
    }
    payload = {
        "version": "4",
        "groupKey": '{}:{alertname="ServiceDown", job="users"}',
        "status": status,
        "receiver": "critical",
        "groupLabels": {"alertname": "ServiceDown", "job": "users"},
        "commonLabels": alert["labels"],
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [alert],
    }
    return {"received_at": f"{starts}-{status}", "payload": payload}


def test_subjects_must_name_the_alert_the_service_and_the_status() -> None:
    firing = "[FIRING:1] ServiceDown users (critical)"
    assert subject_names(firing, alertname="ServiceDown", service="users", status="firing")
    resolved = "[RESOLVED] ServiceDown users (critical)"
    assert subject_names(resolved, alertname="ServiceDown", service="users", status="resolved")
    assert not subject_names(firing, alertname="ServiceDown", service="users", status="resolved")
    other = "[FIRING:1] ServiceDown users-export (critical)"
    assert not subject_names(other, alertname="ServiceDown", service="users", status="firing")


def test_a_webhook_notification_counts_when_its_alert_started_after_the_fault() -> None:
    kwargs: dict[str, Any] = {"alertname": "ServiceDown", "service": "users", "since": FAULT}
    seen = webhook_sighting(received("firing"), status="firing", **kwargs)
    assert seen is not None and seen["fingerprint"] == "abc"
    assert seen["startsAt"] == "2026-11-28T20:00:20Z"
    old = received("firing", starts="2026-11-28T19:00:00Z")
    assert webhook_sighting(old, status="firing", **kwargs) is None
    assert webhook_sighting(received("firing"), status="resolved", **kwargs) is None
    other = {**kwargs, "service": "games"}
    assert webhook_sighting(received("firing"), status="firing", **other) is None


def test_a_resolved_notification_must_end_after_the_repair_and_be_the_same_alert() -> None:
    kwargs: dict[str, Any] = {"alertname": "ServiceDown", "service": "users", "since": REPAIR}
    resolved = received("resolved", ends="2026-11-28T20:02:10Z")
    assert webhook_sighting(resolved, status="resolved", fingerprint="abc", **kwargs)
    assert webhook_sighting(resolved, status="resolved", fingerprint="other", **kwargs) is None
    early = received("resolved", ends="2026-11-28T20:01:00Z")
    assert webhook_sighting(early, status="resolved", **kwargs) is None


def test_channels_come_from_the_profile() -> None:
    assert declared_channels(_target()) == ["email", "webhook"]
    assert declared_channels(_target(mail_catcher=None)) == ["webhook"]
    assert declared_channels(_target(mail_catcher=None, webhook_receiver=None)) == []


class FakeReceiver:
    """The webhook receiver's list, newest first, which a test appends to."""

    items: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, target: Target) -> None:
        pass

    def received(self) -> list[dict[str, Any]]:
        return list(reversed(FakeReceiver.items))

    def close(self) -> None:
        pass


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> type[FakeReceiver]:
    monkeypatch.setattr(notifications, "WebhookReceiver", FakeReceiver)
    FakeReceiver.items = []
    return FakeReceiver


def test_a_notification_left_over_from_an_earlier_drill_does_not_count(
    receiver: type[FakeReceiver],
) -> None:
    # An earlier drill's firing notification, with a start time that would otherwise match.
    receiver.items.append(received("firing", starts="2026-11-28T20:00:30Z"))
    watch = Notifications(_target(mail_catcher=None), timeout=0.2)
    with pytest.raises(CheckFailed) as failed:
        watch.wait("webhook", FAULT, "firing")
    message = str(failed.value)
    assert "status to receive a firing notification of ServiceDown (users)" in message
    assert "notifications received since the drill began: none" in message


def test_the_firing_and_the_resolved_notification_of_the_drill_are_found(
    receiver: type[FakeReceiver],
) -> None:
    watch = Notifications(_target(mail_catcher=None), timeout=1)
    receiver.items.append(received("firing", fp="new"))
    assert watch.wait("webhook", FAULT, "firing")["fingerprint"] == "new"
    # A resolution of some other alert instance does not count; the drill's own does.
    receiver.items.append(received("resolved", ends="2026-11-28T20:02:05Z", fp="other"))
    with pytest.raises(CheckFailed, match=r"fingerprint new"):
        watch.wait("webhook", REPAIR, "resolved")
    receiver.items.append(received("resolved", ends="2026-11-28T20:02:05Z", fp="new"))
    assert watch.wait("webhook", REPAIR, "resolved")["endsAt"] == "2026-11-28T20:02:05Z"


def test_an_undeclared_channel_cannot_be_waited_for() -> None:
    watch = Notifications(_target(mail_catcher=None, webhook_receiver=None), timeout=1)
    assert watch.channels == []
    with pytest.raises(CheckFailed, match=r"names no monitoring\.mail_catcher"):
        watch.wait("email", FAULT, "firing")
    with pytest.raises(CheckFailed, match=r"names no monitoring\.webhook_receiver"):
        watch.wait("webhook", FAULT, "firing")


def test_an_email_counts_when_it_arrived_after_the_fault_and_names_the_alert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subject = "[FIRING:1] ServiceDown users (critical)"
    inbox = [Mail(subject, datetime(2026, 11, 28, 19, 0, tzinfo=UTC), ["oncall@x"])]

    class FakeCatcher:
        def __init__(self, target: Target) -> None:
            pass

        def messages(self) -> list[Mail]:
            return list(inbox)

    monkeypatch.setattr(notifications, "MailCatcher", FakeCatcher)
    watch = Notifications(_target(webhook_receiver=None), timeout=0.2)
    with pytest.raises(CheckFailed, match=r"subjects since then: \[\]"):
        watch.wait("email", FAULT, "firing")  # yesterday's email of the same alert
    inbox.append(Mail(subject, datetime(2026, 11, 28, 20, 0, 12, tzinfo=UTC), ["oncall@x"]))
    assert watch.wait("email", FAULT, "firing") == {
        "subject": subject,
        "received": "2026-11-28T20:00:12+00:00",
    }
