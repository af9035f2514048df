"""The games service: `python -m uvicorn games_service.main:app --host 127.0.0.1 --port 8301`.

`app` is built on first access, so importing `create_app` (tests) reads no environment.
Replicas share the database and keep no state that matters across requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import JwksVerifier, app_on_first_use, create_service_app
from chassis.db import Database
from fastapi import FastAPI
from sqlalchemy import func, select

from games_service.api.routes import games
from games_service.core.config import Settings
from games_service.db import MIGRATIONS
from games_service.metrics import ACTIVE_GAMES
from games_service.models import Game

GAUGE_INTERVAL_S = 15.0


async def _recount_active(db: Database) -> None:
    while True:
        with contextlib.suppress(Exception):  # the database may be down; /health says so
            await asyncio.to_thread(_recount, db)
        await asyncio.sleep(GAUGE_INTERVAL_S)


def _recount(db: Database) -> None:
    with db.sessions() as session:
        active = session.scalar(
            select(func.count()).select_from(Game).where(Game.status.in_(("open", "in_progress")))
        )
        ACTIVE_GAMES.set(active or 0)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_recount_active(app.state.db))
        yield
        task.cancel()

    app = create_service_app(
        settings,
        title="games",
        migrations=MIGRATIONS,
        outbox=True,
        lifespan=lifespan,
        jwks=JwksVerifier.for_service(settings),
    )
    app.include_router(games.router)
    return app


__getattr__ = app_on_first_use(__name__, create_app, Settings)
