"""The auth service's business metrics (the course's sign-ups, logins, sessions, feature use)."""

from __future__ import annotations

from chassis import FEATURE_USAGE
from prometheus_client import Counter, Gauge

__all__ = ["ACTIVE_SESSIONS", "FEATURE_USAGE", "LOGINS", "SIGNUPS"]

SIGNUPS = Counter("signups", "Accounts created")
LOGINS = Counter("logins", "Login attempts by result", ["result"])
ACTIVE_SESSIONS = Gauge("active_sessions", "Refresh tokens neither expired nor revoked")

for _result in ("success", "failure", "rate_limited"):
    LOGINS.labels(_result)
for _feature in ("register", "login", "refresh", "logout", "verify"):
    FEATURE_USAGE.labels(_feature)
