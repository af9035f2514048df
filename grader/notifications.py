"""Proof that the notifications of a drill's alert arrived, on every channel the target
declares: the mail catcher (`monitoring.mail_catcher`) and the webhook receiver
(`monitoring.webhook_receiver`); null in the profile means the target has no such channel.

A notification counts only if it is the drill's own: it names the alert and the service, and
it is new. An email is new when the mail catcher received it after the fault; a webhook
notification when it was not in the receiver's list before the drill began, and its alert
started after the fault (firing) or ended after the repair (resolved). The resolved webhook
must carry the same alert (fingerprint) as the firing one. Without these, a notification left
over from an earlier drill would prove a channel that no longer delivers anything.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from grader.errors import CheckFailed
from grader.monitoring import MailCatcher, WebhookReceiver, matches, v4_payload_problems
from grader.polling import poll_until
from grader.target import Target
from grader.timestamps import parse_time

Status = Literal["firing", "resolved"]
Channel = Literal["email", "webhook"]
# The target's clock against the grader's: a notification stamped this much before the fault
# still counts (the same host for the local and compose runtimes, so normally no skew).
CLOCK_SKEW = timedelta(seconds=5)


def declared_channels(target: Target) -> list[Channel]:
    """The notification channels the target profile declares."""
    mon = target.monitoring
    channels: list[Channel] = []
    if mon.mail_catcher is not None:
        channels.append("email")
    if mon.webhook_receiver is not None:
        channels.append("webhook")
    return channels


def subject_names(subject: str, *, alertname: str, service: str, status: Status) -> bool:
    """Whether an email subject names the alert, the service and the status as words
    (Alertmanager's default: `[FIRING:1] ServiceDown users (...)`, `[RESOLVED] ...`)."""
    return all(
        re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", subject, re.IGNORECASE)
        for word in (alertname, service, status)
    )


def webhook_sighting(
    item: dict[str, Any],
    *,
    alertname: str,
    service: str,
    status: Status,
    since: datetime,
    fingerprint: str | None = None,
) -> dict[str, Any] | None:
    """What the grader reports about a received notification that carries the alert with
    `status`, started (firing) or ended (resolved) at or after `since`, with `fingerprint` when
    given; None when it carries no such alert."""
    payload = item.get("payload", item)
    stamp = "startsAt" if status == "firing" else "endsAt"
    for alert in payload.get("alerts") or []:
        labels = alert.get("labels") or {}
        if alert.get("status") != status or not matches(labels, alertname, service):
            continue
        at = parse_time(alert.get(stamp))
        if at is None or at < since - CLOCK_SKEW:
            continue
        if fingerprint is not None and alert.get("fingerprint") != fingerprint:
            continue
        return {
            "status": payload.get("status"),
            "alertname": labels.get("alertname"),
            "labels": labels,
            stamp: alert.get(stamp),
            "received_at": item.get("received_at"),
            "fingerprint": alert.get("fingerprint"),
        }
    return None


def _key(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def _summary(item: dict[str, Any]) -> str:
    payload = item.get("payload", item)
    alerts = [
        f"{(a.get('labels') or {}).get('alertname')}"
        f"({(a.get('labels') or {}).get('job') or (a.get('labels') or {}).get('service')}) "
        f"{a.get('status')}"
        for a in payload.get("alerts") or []
    ]
    return f"{item.get('received_at', '?')}: {', '.join(alerts)}"


class Notifications:
    """Waits for the notifications of the drills' down alert on each declared channel. Made
    before the fault: it remembers what the webhook receiver had already received."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.mon, self.timeout = target.monitoring, timeout
        self.channels = declared_channels(target)
        self.mail = MailCatcher(target) if "email" in self.channels else None
        self.webhook = WebhookReceiver(target) if "webhook" in self.channels else None
        self._before: set[str] = set()
        self._fingerprints: dict[tuple[str, str], str] = {}
        if self.webhook is not None:
            # An unreachable receiver fails its waits later, saying what it answered.
            with contextlib.suppress(CheckFailed, httpx.HTTPError):
                self._before = {_key(item) for item in self.webhook.received()}

    def wait(self, channel: Channel, since: datetime, status: Status) -> dict[str, Any]:
        if channel == "email":
            return self.email(since, status)
        return self.posted(since, status)

    def email(
        self, since: datetime, status: Status, *, service: str | None = None
    ) -> dict[str, Any]:
        """Wait for the `status` email of the down alert of `service` (the profile's
        down_service by default) received at or after `since`; returns its subject and time."""
        if self.mail is None:
            raise CheckFailed("the target profile names no monitoring.mail_catcher")
        mail, alert = self.mail, self.mon.down_alert
        service = service or self.mon.down_service

        def since_the_fault() -> list[tuple[str, datetime]]:
            return [(m.subject, m.created) for m in mail.messages() if m.created >= since]

        found = poll_until(
            since_the_fault,
            f"the {status} email of {alert} ({service}) in the mail catcher "
            f"({self.mon.mail_catcher}), received at or after {since:%H:%M:%S}",
            self.timeout,
            interval=1,
            until=lambda got: any(
                subject_names(s, alertname=alert, service=service, status=status) for s, _ in got
            ),
            show=lambda got: f"subjects since then: {[s for s, _ in got]}",
        )
        subject, created = next(
            (s, c)
            for s, c in found
            if subject_names(s, alertname=alert, service=service, status=status)
        )
        return {"subject": subject, "received": created.isoformat()}

    def posted(
        self, since: datetime, status: Status, *, service: str | None = None
    ) -> dict[str, Any]:
        """Wait for a new webhook notification carrying the down alert of `service` with
        `status`, started (firing) or ended (resolved) at or after `since`; the resolved one
        must be the alert whose firing was seen. Returns what identifies it."""
        if self.webhook is None:
            raise CheckFailed("the target profile names no monitoring.webhook_receiver")
        webhook, alert = self.webhook, self.mon.down_alert
        service = service or self.mon.down_service
        fingerprint = self._fingerprints.get((alert, service)) if status == "resolved" else None

        Item = dict[str, Any]

        def look() -> tuple[list[tuple[Item, Item]], list[Item]]:
            """(each new notification carrying the alert, with what identifies it), and
            every new notification."""
            new = [item for item in webhook.received() if _key(item) not in self._before]
            found = [
                (item, seen)
                for item in new
                if (
                    seen := webhook_sighting(
                        item,
                        alertname=alert,
                        service=service,
                        status=status,
                        since=since,
                        fingerprint=fingerprint,
                    )
                )
                is not None
            ]
            return found, new

        stamp = "started" if status == "firing" else "ended"
        same = f" (fingerprint {fingerprint})" if fingerprint else ""
        found, _ = poll_until(
            look,
            f"{self.mon.webhook_receiver} to receive a {status} notification of "
            f"{alert} ({service}){same} that {stamp} at or after {since:%H:%M:%S}",
            self.timeout,
            interval=1,
            until=lambda got: bool(got[0]),
            show=lambda got: "notifications received since the drill began: "
            + ("; ".join(_summary(i) for i in got[1]) or "none"),
        )
        item, seen = found[0]
        bad = v4_payload_problems(item.get("payload", item))
        if bad:
            raise CheckFailed(f"expected an Alertmanager v4 webhook payload, saw: {'; '.join(bad)}")
        if status == "firing" and seen.get("fingerprint"):
            self._fingerprints[(alert, service)] = str(seen["fingerprint"])
        return seen

    def close(self) -> None:
        if self.mail is not None:
            self.mail.close()
        if self.webhook is not None:
            self.webhook.close()
