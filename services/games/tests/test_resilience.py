"""Integration: the outbox while RabbitMQ is down, and players with a token while auth is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.integration
X_WINS = [(0, "x"), (3, "o"), (1, "x"), (4, "o"), (2, "x")]


def _moves(client: Any, gid: str, x: Any, o: Any, moves: list[tuple[int, str]]) -> list[int]:
    return [
        client.post(
            f"/api/games/{gid}/moves", json={"cell": cell}, headers=(x if who == "x" else o).headers
        ).status_code
        for cell, who in moves
    ]


def test_game_finished_while_rabbitmq_is_down_is_published_when_it_returns(
    client: Any, stack: Any, events: Any, new_game: Any, new_player: Callable[[], Any]
) -> None:
    x, o = new_player(), new_player()
    gid = new_game(client, x, o)["id"]
    stack.stop("rabbitmq")
    try:
        assert _moves(client, gid, x, o, X_WINS) == [200] * 5, "games go on without RabbitMQ"
        assert client.get("/health").json()["status"] in ("pass", "warn")
    finally:
        stack.start("rabbitmq")
    [(props, event)] = events.of(gid, timeout=40)
    assert event["data"]["winner"] == x.id and props.message_id == event["event_id"]


def test_players_with_a_token_keep_playing_while_auth_is_down(
    client: Any, auth: Any, new_game: Any, new_player: Callable[[], Any]
) -> None:
    x, o = new_player(), new_player()
    gid = new_game(client, x, o)["id"]
    auth.stop()
    try:
        assert _moves(client, gid, x, o, X_WINS) == [200] * 5, "verified against cached JWKS"
        assert client.get(f"/api/games/{gid}", headers=o.headers).json()["winner"] == x.id
        r = client.post("/api/games", headers={"Authorization": "Bearer x.y.z"})
        assert r.status_code == 401
    finally:
        auth.start(wait=False)  # back for whatever runs next; no need to wait here
