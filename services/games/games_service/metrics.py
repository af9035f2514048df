"""The games service's business metrics (games created and finished, feature use, activity)."""

from __future__ import annotations

from chassis import FEATURE_USAGE
from prometheus_client import Counter, Gauge

__all__ = ["ACTIVE_GAMES", "FEATURE_USAGE", "GAMES_CREATED", "GAMES_FINISHED"]

GAMES_CREATED = Counter("games_created", "Games created")
GAMES_FINISHED = Counter("games_finished", "Games finished by result", ["result"])
ACTIVE_GAMES = Gauge("active_games", "Games open or in progress (whole service, from the DB)")

for _result in ("win", "draw", "house"):
    GAMES_FINISHED.labels(_result)
for _feature in ("create", "join", "move", "vs_house"):
    FEATURE_USAGE.labels(_feature)
