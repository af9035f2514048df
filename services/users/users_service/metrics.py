"""The users service's business metrics: feature usage, profiles, first-game conversions.

`conversions` is a recording rule: users_first_game_finished_total ÷ signups_total (auth).
"""

from __future__ import annotations

from chassis import FEATURE_USAGE
from prometheus_client import Counter

__all__ = ["FEATURE_USAGE", "FIRST_GAME_FINISHED", "PROFILES_CREATED"]


PROFILES_CREATED = Counter("profiles_created", "Profiles created, by source", ("source",))
FIRST_GAME_FINISHED = Counter(
    "users_first_game_finished", "Users whose first game finished (conversions)"
)

for _feature in ("profile_view", "profile_update", "stats_view", "games_view"):
    FEATURE_USAGE.labels(_feature)
for _source in ("registered", "stub"):
    PROFILES_CREATED.labels(_source)
