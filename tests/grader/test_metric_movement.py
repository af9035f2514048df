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
    wait_for_movement,
)

SIGNUPS = Expectation("signups_total", "signups_total", "counter", 2, "2 sign-ups")
SESSIONS = Expectation("active_sessions", "active_sessions", "gauge", 2, "2 logins")


def one(value: float | None) -> dict[str, float] | None:
    return None if value is None else {"instance=a": value}


def moved(expectation: Expectation, before: float | None, after: float | None) -> Movement:
    """A movement of one series."""
    return Movement(expectation, one(before), one(after))


def test_a_counter_that_grows_by_what_the_grader_did_passes() -> None:
    assert moved(SIGNUPS, 5, 7).problem() is None
    assert moved(SIGNUPS, 5, 9).problem() is None  # other traffic may add
    assert moved(SIGNUPS, None, 2).problem() is None  # created on first use


@pytest.mark.parametrize(
    ("before", "after", "seen"),
    [
        (5, 5, "it went from 5 to 5 (+0)"),
        (5, 6, "it went from 5 to 6 (+1)"),
        (None, None, "signups_total returns no series"),
        (5, 1, "it went from 5 to 1 (+1)"),  # went down: restarted, and counted 1 since
    ],
)
def test_a_counter_that_does_not_move_enough_says_expected_and_seen(
    before: float | None, after: float | None, seen: str
) -> None:
    problem = moved(SIGNUPS, before, after).problem()
    assert problem is not None
    assert problem.startswith("signups_total: expected growth by at least 2 after 2 sign-ups")
    assert seen in problem


def test_a_gauge_must_be_above_zero_after_the_action() -> None:
    assert moved(SESSIONS, 0, 2).problem() is None
    assert moved(SESSIONS, 3, 1).problem() is None  # a gauge may go down
    assert moved(SESSIONS, 0, 0).problem() == (
        "active_sessions: expected a value above 0 after 2 logins, it is 0"
    )


def test_evidence_names_the_query_and_both_readings() -> None:
    assert moved(SIGNUPS, 5, 7).evidence() == {
        "query": "signups_total",
        "before": 5,
        "after": 7,
        "grew by": 2,
        "expected": "growth by at least 2 after 2 sign-ups",
    }


def test_red_queries_select_a_service_by_its_label_or_its_job() -> None:
    assert red_selector("http_requests_total", "games") == (
        'http_requests_total{service="games"} or http_requests_total{job="games"}'
    )


def test_a_replica_that_restarted_counts_from_zero_not_as_a_loss() -> None:
    before = {"instance=games-1": 1000.0, "instance=games-2": 40.0}
    after = {"instance=games-1": 1002.0, "instance=games-2": 12.0}  # games-2 restarted
    movement = Movement(SIGNUPS, before, after)
    assert movement.grew_by == 14
    assert movement.problem() is None
    assert (movement.before, movement.after) == (1040, 1014)


def test_waiting_stops_as_soon_as_every_metric_moved() -> None:
    values = iter([5.0, 6.0, 7.0])
    reads: list[str] = []

    def read(query: str) -> dict[str, float] | None:
        reads.append(query)
        return one(next(values))

    before = read_all(lambda _: one(5.0), [SIGNUPS.query])
    found = wait_for_movement(read, [SIGNUPS], before, timeout=5, interval=0.01)
    assert [(m.before, m.after) for m in found] == [(5.0, 7.0)]
    assert len(reads) == 3


def test_waiting_gives_up_with_the_last_readings() -> None:
    found = wait_for_movement(
        lambda _: one(5.0), [SIGNUPS], {SIGNUPS.query: one(5.0)}, timeout=0.05, interval=0.01
    )
    assert found[0].problem() == (
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
