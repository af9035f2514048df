"""What a user does through the gateway, as plain functions the checks compose: register, log
in, play tic-tac-toe. The public API contract a graded stack must offer is in
docs/microservices.md; every call here is a real HTTP request to the gateway.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from grader.errors import CheckFailed
from grader.polling import poll_until
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


def with_claims_of(player: Player, other: Player) -> Player:
    """`player` holding a token whose claims are `other`'s and whose signature is still
    `player`'s own: an edited token, as someone who wants another user's data sends it. Only a
    service that checks auth's signature tells it from a real one."""
    header, _, signature = player.token.split(".")
    _, claims, _ = other.token.split(".")
    return replace(player, token=f"{header}.{claims}.{signature}")


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
    return login(client, Player(username=name, user_id=str(user["id"]), token=""))


def login(client: httpx.Client, player: Player) -> Player:
    """`player` with a fresh access token (tokens expire: a check that runs for minutes on a
    slow machine must not carry an old one into its requests)."""
    body = {"username": player.username, "password": PASSWORD}
    tokens = expect(client.post("/api/auth/login", json=body), 200, "log in through the gateway")
    return replace(player, token=str(tokens["access_token"]))


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


# The gateway paths of the public API contract that do not start with /api/<service>/.
_PATHS_OF = {"/.well-known/jwks.json": "auth", "/status": "status", "/api/v2/": "status"}


def service_of(path: str) -> str | None:
    """The service a gateway path reaches under the public API contract: `/api/<service>/...`,
    and the status page's own paths (`/status`, Statuspage's `/api/v2/...`)."""
    for prefix, service in _PATHS_OF.items():
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return service
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "api" and parts[2] else None


@dataclass
class ProductUse:
    """What the grader did through the gateway, counted: each business action (the names of
    `grader.monitoring_section.BusinessAction`) and the requests each service was sent."""

    actions: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)

    def count_request(self, response: httpx.Response) -> None:
        service = service_of(response.request.url.path)
        if service is not None:
            self.requests[service] += 1


def use_the_product(
    gateway_url: str, *, reach: Mapping[str, ServiceRequest], timeout: float, games: int = 2
) -> ProductUse:
    """Two fresh players sign up and log in, play `games` games to a win (the first finished
    game of each), one reads their profile and the status page is read; then each service of
    `reach` the journey did not reach is sent its request (`microservices.requests`), as the
    first player. Returns the counts."""
    used = ProductUse()
    hooks = {"response": [used.count_request]}
    with httpx.Client(base_url=gateway_url, timeout=timeout, event_hooks=hooks) as gateway:
        x, o = register(gateway, "mon-x"), register(gateway, "mon-o")
        used.actions.update({"sign-up": 2, "login": 2})
        for played in range(games):
            play_to_a_win(gateway, x, o)
            used.actions.update({"game-created": 1, "game-finished": 1})
            if played == 0:
                used.actions["first-game-finished"] += 2
        # /users/me answers 404 until the users service has consumed the sign-up event.
        poll_until(
            lambda: profile(gateway, x).status_code,
            f"{x.username}'s profile to be readable through the gateway",
            timeout,
            until=lambda status: status == 200,
        )
        used.actions["profile-view"] += 1
        expect(gateway.get("/api/v2/summary.json"), 200, "read the status page's summary")
    # Counted by the service it is declared for, whatever its path looks like.
    with httpx.Client(base_url=gateway_url, timeout=timeout) as gateway:
        for service, request in reach.items():
            if not used.requests[service]:
                send(gateway, request, x)
                used.requests[service] += 1
    return used
