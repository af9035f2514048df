"""Metrics judged by how far they move with the grader's own traffic."""

from __future__ import annotations

import httpx
import pytest

from grader.journeys import ProductUse, service_of
from grader.metric_movement import (
    Expectation,
    Movement,
    read_all,
    red_selector,
    summed,
    wait_for_movement,
)

SIGNUPS = Expectation("signups_total", "sum(signups_total)", "counter", 2, "2 sign-ups")
SESSIONS = Expectation("active_sessions", "sum(active_sessions)", "gauge", 2, "2 logins")


def test_a_counter_that_grows_by_what_the_grader_did_passes() -> None:
    assert Movement(SIGNUPS, before=5, after=7).problem() is None
    assert Movement(SIGNUPS, before=5, after=9).problem() is None  # other traffic may add
    assert Movement(SIGNUPS, before=None, after=2).problem() is None  # created on first use


@pytest.mark.parametrize(
    ("before", "after", "seen"),
    [
        (5, 5, "it went from 5 to 5 (+0)"),
        (5, 6, "it went from 5 to 6 (+1)"),
        (None, None, "sum(signups_total) returns no series"),
        (5, 1, "it went from 5 to 1 (-4); a counter only goes down when its process restarts"),
    ],
)
def test_a_counter_that_does_not_move_enough_says_expected_and_seen(
    before: float | None, after: float | None, seen: str
) -> None:
    problem = Movement(SIGNUPS, before=before, after=after).problem()
    assert problem is not None
    assert problem.startswith("signups_total: expected growth by at least 2 after 2 sign-ups")
    assert seen in problem


def test_a_gauge_must_be_above_zero_after_the_action() -> None:
    assert Movement(SESSIONS, before=0, after=2).problem() is None
    assert Movement(SESSIONS, before=3, after=1).problem() is None  # a gauge may go down
    assert Movement(SESSIONS, before=0, after=0).problem() == (
        "active_sessions: expected a value above 0 after 2 logins, it is 0"
    )


def test_evidence_names_the_query_and_both_readings() -> None:
    assert Movement(SIGNUPS, before=5, after=7).evidence() == {
        "query": "sum(signups_total)",
        "before": 5,
        "after": 7,
        "grew by": 2,
        "expected": "growth by at least 2 after 2 sign-ups",
    }


def test_red_queries_sum_a_service_by_its_label_or_its_job() -> None:
    assert summed(red_selector("http_requests_total", "games")) == (
        'sum(http_requests_total{service="games"} or http_requests_total{job="games"})'
    )


def test_waiting_stops_as_soon_as_every_metric_moved() -> None:
    values = iter([5.0, 6.0, 7.0])
    reads: list[str] = []

    def read(query: str) -> float | None:
        reads.append(query)
        return next(values)

    before = read_all(lambda _: 5.0, [SIGNUPS.query])
    moved = wait_for_movement(read, [SIGNUPS], before, timeout=5, interval=0.01)
    assert [(m.before, m.after) for m in moved] == [(5.0, 7.0)]
    assert len(reads) == 3


def test_waiting_gives_up_with_the_last_readings() -> None:
    moved = wait_for_movement(
        lambda _: 5.0, [SIGNUPS], {SIGNUPS.query: 5.0}, timeout=0.05, interval=0.01
    )
    assert moved[0].problem() == (
        "signups_total: expected growth by at least 2 after 2 sign-ups, "
        "it went from 5 to 5 (+0)"
    )


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/auth/register", "auth"),
        ("/api/games", "games"),
        ("/api/games/7/moves", "games"),
        ("/api/users/me", "users"),
        ("/api/v2/summary.json", "status"),
        ("/status", "status"),
        ("/.well-known/jwks.json", "auth"),
        ("/health", None),
        ("/api/", None),
    ],
)
def test_each_gateway_path_is_counted_for_the_service_it_reaches(
    path: str, service: str | None
) -> None:
    assert service_of(path) == service


def test_product_use_counts_requests_by_service() -> None:
    used = ProductUse()
    for path in ("/api/auth/login", "/api/auth/register", "/status", "/health"):
        used.count_request(httpx.Response(200, request=httpx.Request("GET", f"http://gw{path}")))
    assert dict(used.requests) == {"auth": 2, "status": 1}
