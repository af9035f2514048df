"""Counted log events for the log pipeline drills (shipper-down, forwarder-down, store-down).

Each event is a request through the gateway with its own X-Request-ID, a marker: the service
logs the request with that id (the app dataset) and the gateway writes its access line (the
access dataset). A marker is counted in each dataset by full-text search, as a user of the
log UI would find it; one request sent before the fault says how many lines of each dataset
a request makes on this stack, and every marker must be found exactly that many times: fewer
is a lost line, more a duplicate.
"""

from __future__ import annotations

import httpx

from grader import logs
from grader.polling import poll_until
from grader.target import Target

Counts = dict[str, int]  # dataset name (app, access) -> documents holding the marker
DATASETS = ("app", "access")


def send(gateway: httpx.Client, target: Target, count: int) -> list[str]:
    """`count` requests to the app service through the gateway, one marker each. A request
    the gateway did not answer is not an event and would not be logged: it raises."""
    markers = []
    for _ in range(count):
        marker = logs.new_marker("chaos")
        path = f"/api/{target.logging.app_service}/{marker}"
        gateway.get(path, headers={"X-Request-ID": marker})  # any answer: it is logged
        markers.append(marker)
    return markers


def counts(target: Target, markers: list[str]) -> dict[str, Counts]:
    datasets = {name: target.logging.datasets[name] for name in DATASETS}
    with logs.store(target) as store:
        return {
            marker: {
                name: store.count(pattern, {"query_string": {"query": marker}})
                for name, pattern in datasets.items()
            }
            for marker in markers
        }


def wait_counts(
    target: Target, markers: list[str], wanted: Counts | None, timeout: float
) -> dict[str, Counts]:
    """Poll until every marker is found `wanted` times in each dataset (None: at least once
    in each), then return what was counted."""

    def done(seen: dict[str, Counts]) -> bool:
        if wanted is None:
            return all(all(n >= 1 for n in c.values()) for c in seen.values())
        return all(c == wanted for c in seen.values())

    return poll_until(
        lambda: counts(target, markers),
        f"{len(markers)} marked requests to be found in the log store",
        timeout,
        interval=2,
        until=done,
        show=lambda seen: summary(seen, wanted),
    )


def lost_and_doubled(seen: dict[str, Counts], wanted: Counts) -> dict[str, dict[str, int]]:
    """Per dataset: lines missing (fewer than `wanted` for a marker) and duplicated (more)."""
    return {
        name: {
            "missing": sum(max(0, wanted[name] - c[name]) for c in seen.values()),
            "duplicated": sum(max(0, c[name] - wanted[name]) for c in seen.values()),
        }
        for name in DATASETS
    }


def summary(seen: dict[str, Counts], wanted: Counts | None) -> str:
    """What differs from `wanted` (None: once each), as a sentence."""
    tally = lost_and_doubled(seen, wanted or dict.fromkeys(DATASETS, 1))
    parts = [
        f"{name}: {t['missing']} line(s) missing, {t['duplicated']} duplicated"
        for name, t in tally.items()
    ]
    return f"of {len(seen)} markers, " + "; ".join(parts)
