"""The users service: `python -m uvicorn users_service.main:app --host 127.0.0.1 --port 8201`.

`app` is built on first access, so importing `create_app` (tests) reads no environment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import JwksVerifier, app_on_first_use, create_service_app
from fastapi import FastAPI

from users_service.api.routes import games, users
from users_service.consumers import run_consumer, stop
from users_service.core.config import Settings
from users_service.db import MIGRATIONS


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(run_consumer(app.state.broker, app.state.db))
        yield
        await stop(task)

    app = create_service_app(
        settings,
        title="users",
        migrations=MIGRATIONS,
        lifespan=lifespan,
        jwks=JwksVerifier.for_service(settings),
    )
    app.state.settings = settings
    app.include_router(games.router)  # before users: /me/games is not /{id}
    app.include_router(users.router)
    return app


__getattr__ = app_on_first_use(__name__, create_app, Settings)
