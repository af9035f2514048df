"""`GET /api/users/me/games`: the caller's recent games, asked of the games service over REST.

The one synchronous call between our services, so it goes through a circuit breaker: when
games is down, the first few calls fail fast (503) and then the breaker opens and answers at
once without calling, until games is back (`circuit_breaker_state{name="games"}`).
"""

from __future__ import annotations

from typing import Any

import httpx
from chassis import Breaker, CircuitOpenError
from fastapi import APIRouter, HTTPException, Request

from users_service.api.deps import CurrentUserId
from users_service.metrics import FEATURE_USAGE

router = APIRouter(prefix="/api/users", tags=["games"])
GAMES = Breaker("games", fail_max=5, reset_timeout_s=10.0)


class GamesUnavailable(Exception):
    """games answered with a server error or not at all: counts against the breaker."""


@router.get(
    "/me/games",
    responses={
        401: {"description": "missing, forged or expired token"},
        503: {"description": "the games service is unavailable"},
    },
)
async def my_games(user_id: CurrentUserId, request: Request) -> list[dict[str, Any]]:
    """The caller's games, newest first, as the games service reports them."""
    url = f"{request.app.state.settings.gateway_url}/api/games"
    headers = {"Authorization": request.headers["authorization"]}

    async def fetch() -> list[dict[str, Any]]:
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise GamesUnavailable(str(exc)) from None
        if response.status_code >= 500:
            raise GamesUnavailable(f"HTTP {response.status_code}")
        response.raise_for_status()
        mine: list[dict[str, Any]] = response.json().get("mine", [])
        return mine

    try:
        games = await GAMES.call_async(fetch)
    except CircuitOpenError:
        raise HTTPException(503, "games is unavailable (circuit open); try again shortly") from None
    except GamesUnavailable as exc:
        raise HTTPException(503, f"games is unavailable: {exc}") from None
    except httpx.HTTPStatusError as exc:
        raise HTTPException(502, f"games answered {exc.response.status_code}") from None
    FEATURE_USAGE.labels("games_view").inc()
    return games
