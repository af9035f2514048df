"""What the monitoring checks ask: Prometheus (targets, queries, alerts), the mail catcher
(Mailpit's API) and the webhook receiver (what Alertmanager posted to it).

Every function makes real HTTP requests with the credentials of the target profile and turns
an unexpected answer into `CheckFailed` saying what was asked and what came back.
APIs: https://prometheus.io/docs/prometheus/latest/querying/api/ and
https://mailpit.axllent.org/docs/api-v1/
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import yaml

from grader import dashboard_queries
from grader.errors import CheckFailed
from grader.polling import poll_until
from grader.target import Target

TIMEOUT = 10.0


def _client(target: Target, name: str) -> httpx.Client:
    """A client for a component's main URL, logged in with its credentials if it has any."""
    component = target.component(name)
    auth = None
    if component.credentials is not None:
        auth = (component.credentials.username, component.credentials.password())
    return httpx.Client(base_url=target.url(name, "main"), auth=auth, timeout=TIMEOUT)


def _json(response: httpx.Response, what: str) -> Any:
    if response.status_code != 200:
        raise CheckFailed(
            f"{what}: expected HTTP 200 from {response.request.method} {response.request.url}, "
            f"got {response.status_code}: {response.text[:300]}"
        )
    return response.json()


class Prometheus(dashboard_queries.Prometheus):
    """The dashboard check's client, plus targets, alerts and the scrape interval."""

    @classmethod
    def of(cls, target: Target) -> Prometheus:
        name = target.monitoring.prometheus
        credentials = target.component(name).credentials
        return cls(
            target.url(name, "main"),
            username=credentials.username if credentials else None,
            password=credentials.password() if credentials else None,
            timeout=TIMEOUT,
        )

    def value(self, expr: str) -> float | None:
        """The value of a query that answers one series (such as a `sum`); None when it
        answers none (a metric that has no series yet)."""
        series, _ = self.instant(expr)
        if len(series) > 1:
            raise CheckFailed(f"expected one series from {expr!r}, got {len(series)}")
        return float(series[0]["value"][1]) if series else None

    def series(self, expr: str) -> dict[str, float] | None:
        """Each series a query answers (its labels as sorted `k=v` text) and its value; None
        when it answers none (a metric that has no series yet)."""
        found, _ = self.instant(expr)
        if not found:
            return None
        return {
            ",".join(f"{k}={v}" for k, v in sorted(s["metric"].items())): float(s["value"][1])
            for s in found
        }

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self._get("/api/v1/targets", {"state": "active"})[
            "activeTargets"
        ]
        return active

    def firing(self, *, pending_too: bool = False) -> list[dict[str, str]]:
        """The labels of every firing alert (and of the pending ones, with `pending_too`)."""
        states = ("firing", "pending") if pending_too else ("firing",)
        alerts = self._get("/api/v1/alerts", {})["alerts"]
        return [dict(a["labels"]) for a in alerts if a["state"] in states]

    def is_firing(self, alertname: str, service: str | None = None) -> bool:
        """Whether `alertname` fires (for `service`: any label of the alert equal to it)."""
        return any(matches(a, alertname, service) for a in self.firing())

    def wait_firing(
        self, alertname: str, service: str | list[str], timeout: float, *, firing: bool = True
    ) -> None:
        """Poll until `alertname` fires for `service` (or for every service of a list; with
        firing=False, until it no longer does); on timeout the error lists what fires."""
        services = [service] if isinstance(service, str) else service

        def left() -> list[str]:
            alerts = self.firing()
            return [s for s in services if any(matches(a, alertname, s) for a in alerts) != firing]

        named = ", ".join(services)
        poll_until(
            left,
            f"{alertname} to fire for {named}"
            if firing
            else f"{alertname} of {named} to resolve after the fault was removed",
            timeout,
            interval=1,
            until=lambda waiting: not waiting,
            show=lambda waiting: f"not yet for {waiting}; firing: {alert_names(self.firing())}",
        )

    def scrape_interval(self) -> float:
        """The global scrape interval, in seconds, from the running config."""
        text = self._get("/api/v1/status/config", {})["yaml"]
        return parse_duration(str(yaml.safe_load(text)["global"]["scrape_interval"]))


def alertmanager_alerts(target: Target) -> list[dict[str, str]]:
    """The labels of the alerts Alertmanager holds as active now (`/api/v2/alerts`): what
    Prometheus last sent it, until each alert's endsAt."""
    with _client(target, target.monitoring.alertmanager) as client:
        answer = client.get("/api/v2/alerts", params={"active": "true"})
        found = _json(answer, "Alertmanager's alerts")
    return [dict(a["labels"]) for a in found]


def alert_names(alerts: list[dict[str, str]]) -> str:
    return ", ".join(sorted({f"{a['alertname']}({a.get('job', '')})" for a in alerts})) or "none"


def matches(labels: dict[str, str], alertname: str, service: str | None = None) -> bool:
    return labels.get("alertname") == alertname and (service is None or service in labels.values())


def now_to_the_second() -> datetime:
    """Now, rounded down: the mail catcher's timestamps may have second resolution."""
    return datetime.now(UTC).replace(microsecond=0)


def parse_duration(text: str) -> float:
    """Prometheus durations as Prometheus writes them back: 5s, 1m, 1m30s, 1h."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total, number = 0.0, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit():
            number += ch
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else ch
        if unit not in units or not number:
            raise ValueError(f"not a Prometheus duration: {text!r}")
        total += int(number) * units[unit]
        number = ""
        i += len(unit)
    if number:
        raise ValueError(f"not a Prometheus duration (no unit): {text!r}")
    return total


@dataclass(frozen=True)
class Mail:
    subject: str
    created: datetime
    to: list[str]


class MailCatcher:
    """Mailpit's API v1 (the mailbox stand-in serves the same)."""

    def __init__(self, target: Target) -> None:
        name = target.monitoring.mail_catcher
        if name is None:
            raise CheckFailed("the target profile names no monitoring.mail_catcher")
        self.client = _client(target, name)

    def messages(self, limit: int = 200) -> list[Mail]:
        """The newest `limit` messages, newest first."""
        body = _json(self.client.get("/api/v1/messages", params={"limit": limit}), "list mail")
        return [
            Mail(
                subject=m["Subject"],
                created=datetime.fromisoformat(m["Created"].replace("Z", "+00:00")),
                to=[a["Address"] for a in m["To"]],
            )
            for m in body["messages"]
        ]

    def close(self) -> None:
        self.client.close()


class WebhookReceiver:
    """The notifications the webhook receiver got from Alertmanager: `GET /api/v1/alerts`
    with the admin bearer token answers them newest first (Alertmanager's v4 payloads)."""

    def __init__(self, target: Target) -> None:
        name = target.monitoring.webhook_receiver
        if name is None:
            raise CheckFailed("the target profile names no monitoring.webhook_receiver")
        component = target.component(name)
        self.client = httpx.Client(
            base_url=target.url(name, "main"),
            headers={"Authorization": f"Bearer {component.admin_token()}"},
            timeout=TIMEOUT,
        )

    def received(self) -> list[dict[str, Any]]:
        body = _json(self.client.get("/api/v1/alerts"), "list what the webhook received")
        if isinstance(body, dict):  # {"notifications": [...]} or a bare list
            body = body.get("notifications", body.get("items", []))
        return list(body)

    def close(self) -> None:
        self.client.close()


def v4_payload_problems(payload: dict[str, Any]) -> list[str]:
    """What makes `payload` not an Alertmanager webhook v4 payload (empty: it is one).
    https://prometheus.io/docs/alerting/latest/configuration/#webhook_config"""
    problems = []
    if payload.get("version") != "4":
        problems.append(f"version is {payload.get('version')!r}, expected '4'")
    for key in ("groupKey", "status", "receiver", "groupLabels", "commonLabels", "externalURL"):
        if key not in payload:
            problems.append(f"no {key!r}")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        problems.append("no alerts")
    else:
        for key in ("status", "labels", "annotations", "startsAt", "fingerprint"):
            if any(key not in a for a in alerts):
                problems.append(f"an alert has no {key!r}")
    return problems
