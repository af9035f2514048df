"""The users service's business metrics: feature usage, profiles, first-game conversions.

`conversions` is a recording rule: users_first_game_finished_total ÷ signups_total (auth).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter


def _counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
    """A counter, or the one already registered under this name: auth registers
    `feature_usage` too, and a whole-repo pytest run imports both services in one process."""
    try:
        return Counter(name, documentation, labels)
    except ValueError:
        existing = REGISTRY._names_to_collectors.get(f"{name}_total")
        if isinstance(existing, Counter):
            return existing
        raise


FEATURE_USAGE = _counter("feature_usage", "Uses of each product feature", ("feature",))
PROFILES_CREATED = _counter("profiles_created", "Profiles created, by source", ("source",))
FIRST_GAME_FINISHED = _counter(
    "users_first_game_finished", "Users whose first game finished (conversions)"
)

for _feature in ("profile_view", "profile_update", "stats_view"):
    FEATURE_USAGE.labels(_feature)
for _source in ("registered", "stub"):
    PROFILES_CREATED.labels(_source)
