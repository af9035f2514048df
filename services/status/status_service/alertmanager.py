"""Alertmanager's active alerts (`GET /api/v2/alerts`): what the alert incidents are reconciled
with every polling cycle, so that an incident whose resolved notification never came (the
stack went down first, Alertmanager restarted) does not stay open for good.

Where Alertmanager is comes from the target profile: the component `monitoring.alertmanager`
names (default `alertmanager`), its `urls.main` (else its probe's origin), and the
credentials of its probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx


class AlertsUnavailable(Exception):
    """Alertmanager did not answer with its alerts; the message says what happened."""


@dataclass(frozen=True)
class AlertSource:
    url: str  # Alertmanager's base URL, e.g. http://127.0.0.1:9093
    username: str | None = None
    password_file: Path | None = None

    def active_fingerprints(self, *, timeout: float, now: datetime) -> set[str]:
        """The fingerprints of the alerts Alertmanager holds and has not seen end: active,
        silenced or inhibited alike (a silenced alert still fires; only the notification is
        held back)."""
        auth = None
        if self.username and self.password_file:
            try:
                auth = (self.username, self.password_file.read_text().strip())
            except OSError as exc:
                why = f"cannot read {self.password_file}: {exc.strerror}"
                raise AlertsUnavailable(why) from None
        try:
            response = httpx.get(
                f"{self.url.rstrip('/')}/api/v2/alerts",
                params={"active": "true", "silenced": "true", "inhibited": "true"},
                auth=auth,
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise AlertsUnavailable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise AlertsUnavailable(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            alerts: Any = response.json()
        except ValueError:
            raise AlertsUnavailable("the answer is not JSON") from None
        if not isinstance(alerts, list):
            raise AlertsUnavailable(f"expected a JSON list of alerts, got {type(alerts).__name__}")
        return {str(a["fingerprint"]) for a in alerts if _still_firing(a, now)}


def _still_firing(alert: Any, now: datetime) -> bool:
    """An alert whose `endsAt` passed is resolved, even while Alertmanager still lists it."""
    if not isinstance(alert, dict) or not alert.get("fingerprint"):
        return False
    ends = alert.get("endsAt")
    if not ends:
        return True
    try:
        return datetime.fromisoformat(str(ends).replace("Z", "+00:00")) > now
    except ValueError:
        return True  # an unreadable end is no proof of one


def _origin(url: Any) -> str | None:
    """`scheme://host:port` of an HTTP probe's URL (compose profiles give no `urls`)."""
    if not isinstance(url, str) or "://" not in url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def alert_source(raw: Any, profile: Path) -> AlertSource | None:
    """Alertmanager as the target profile (already parsed: `raw`) describes it; None when the
    profile has no such component or no URL for it (nothing to reconcile with)."""
    top = _mapping(raw)
    name = str(_mapping(top.get("monitoring")).get("alertmanager") or "alertmanager")
    entry = _mapping(_mapping(top.get("components")).get(name))
    probe = _mapping(entry.get("probe"))
    url = _mapping(entry.get("urls")).get("main") or _origin(probe.get("url"))
    if not url:
        return None
    password_file = Path(probe["password_file"]) if probe.get("password_file") else None
    if password_file is not None and not password_file.is_absolute():
        password_file = (profile.parent / password_file).resolve()  # as the probes' secrets
    username = probe.get("username")
    return AlertSource(str(url), str(username) if username else None, password_file)
