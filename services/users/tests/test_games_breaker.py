"""users -> games over REST, through a circuit breaker: games is down in these tests (the
gateway URL points at a closed port), so calls fail fast and the breaker opens."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from .helpers import Server, bearer, register


def test_games_down_fails_fast_then_opens_the_breaker(auth: Server, client: Any) -> None:
    user = register(auth)
    statuses = [client.get("/api/users/me/games", headers=bearer(user["token"])).status_code
                for _ in range(7)]
    assert statuses == [503] * 7
    state = REGISTRY.get_sample_value("circuit_breaker_state", {"name": "games"})
    assert state == 2, f"expected the games breaker open (2), got {state}"
    answer = client.get("/api/users/me/games", headers=bearer(user["token"])).json()
    assert "circuit open" in str(answer)


def test_games_needs_a_token(client: Any) -> None:
    assert client.get("/api/users/me/games").status_code == 401
