"""The auth service: `python -m uvicorn auth_service.main:app --host 127.0.0.1 --port 8101`.

`app` is built on first access, so importing `create_app` (tests) reads no environment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import app_on_first_use, create_service_app
from chassis.db import Database
from fastapi import FastAPI

from auth_service.api.routes import auth, jwks
from auth_service.core.config import Settings
from auth_service.core.security import load_signing_key
from auth_service.db import MIGRATIONS
from auth_service.sessions import refresh_gauge

GAUGE_INTERVAL_S = 15.0


async def _recount_sessions(db: Database) -> None:
    """Keep `active_sessions` right as tokens expire, not only when they are issued."""
    while True:
        with contextlib.suppress(Exception):  # the database may be down; /health says so
            await asyncio.to_thread(_recount, db)
        await asyncio.sleep(GAUGE_INTERVAL_S)


def _recount(db: Database) -> None:
    with db.sessions() as session:
        refresh_gauge(session)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_recount_sessions(app.state.db))
        yield
        task.cancel()

    app = create_service_app(
        settings, title="auth", migrations=MIGRATIONS, outbox=True, lifespan=lifespan
    )
    app.state.signing_key = load_signing_key(settings.jwt_private_key_file)
    app.include_router(auth.router)
    app.include_router(jwks.router)
    return app


__getattr__ = app_on_first_use(__name__, create_app, Settings)
