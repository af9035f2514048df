"""What a user does through the gateway, as plain functions the checks compose: register, log
in, play tic-tac-toe. The public API contract a graded stack must offer is in
docs/microservices.md; every call here is a real HTTP request to the gateway.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from grader.errors import CheckFailed
from grader.profile_sections import ServiceRequest

PASSWORD = "correct horse battery staple"
# X takes the top row while O plays the middle row: X wins on its third move.
X_WINS = ((0, "x"), (3, "o"), (1, "x"), (4, "o"), (2, "x"))


@dataclass(frozen=True)
class Player:
    username: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def expect(response: httpx.Response, status: int | tuple[int, ...], what: str) -> Any:
    """The JSON body, or CheckFailed saying what was expected and what came back."""
    wanted = (status,) if isinstance(status, int) else status
    if response.status_code not in wanted:
        raise CheckFailed(
            f"{what}: expected HTTP {' or '.join(map(str, wanted))}, got {response.status_code} "
            f"from {response.request.method} {response.request.url}: {response.text[:300]}"
        )
    return response.json() if response.content else None


def register(client: httpx.Client, prefix: str = "grader") -> Player:
    """A fresh user (unique name), registered and logged in through the gateway."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
    user = expect(client.post("/api/auth/register", json=body), 201, "register through the gateway")
    login = {"username": name, "password": PASSWORD}
    tokens = expect(client.post("/api/auth/login", json=login), 200, "log in through the gateway")
    return Player(username=name, user_id=str(user["id"]), token=str(tokens["access_token"]))


def send(client: httpx.Client, request: ServiceRequest, player: Player) -> httpx.Response:
    """A target's `microservices.requests` entry, sent as `player`."""
    body = None
    if request.body is not None:
        fill = {"username": player.username, "password": PASSWORD}
        body = {k: v.format(**fill) if isinstance(v, str) else v for k, v in request.body.items()}
    headers = player.headers if request.authenticated else {}
    return client.request(request.method, request.path, json=body, headers=headers)


def profile(client: httpx.Client, player: Player) -> httpx.Response:
    return client.get("/api/users/me", headers=player.headers)


def stats(client: httpx.Client, player: Player) -> dict[str, Any]:
    response = client.get(f"/api/users/{player.user_id}/stats", headers=player.headers)
    body: dict[str, Any] = expect(response, 200, "read a player's stats")
    return body


def play_to_a_win(client: httpx.Client, x: Player, o: Player) -> dict[str, Any]:
    """Create, join and play a game that X wins; returns the finished game."""
    game = expect(client.post("/api/games", json={}, headers=x.headers), 201, "create a game")
    game_id = game["id"]
    expect(client.post(f"/api/games/{game_id}/join", headers=o.headers), 200, "join the game")
    players = {"x": x, "o": o}
    for cell, mark in X_WINS:
        move = client.post(
            f"/api/games/{game_id}/moves", json={"cell": cell}, headers=players[mark].headers
        )
        game = expect(move, 200, f"{mark.upper()} plays cell {cell}")
    if game.get("status") != "finished" or str(game.get("winner")) != x.user_id:
        raise CheckFailed(f"expected a game won by X ({x.user_id}), got {game}")
    result: dict[str, Any] = game
    return result
