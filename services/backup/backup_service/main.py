"""The backup service: `python -m uvicorn backup_service.main:app --host 127.0.0.1 --port 8501`.

A scheduler beside a small API: it dumps every service database on the cron schedule of
the stack's retention policy (its POLICY_FILE), verifies each dump by restoring it, copies
it off-box and rotates.
It has no database of its own: its DATABASE_URL is the superuser's, which /health probes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import app_on_first_use, create_service_app
from fastapi import FastAPI

from backup_service.api import routes
from backup_service.config import Settings
from backup_service.rotation import Keep
from backup_service.scheduler import Scheduler, ensure_writable


def create_app(settings: Settings) -> FastAPI:
    keep = settings.policy().keep
    offbox = settings.offbox_target()
    for directory in (settings.backup_dir, settings.offbox_dir):
        if directory is not None:
            ensure_writable(directory)
    scheduler = Scheduler(
        servers={db: settings.server_for(db) for db in settings.database_names},
        root=settings.backup_dir,
        offbox=offbox,
        cron=settings.cron,
        keep=Keep(**keep.model_dump()),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(scheduler.run(on_start=settings.run_on_start))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app = create_service_app(settings, title="backup", lifespan=lifespan)
    app.state.scheduler = scheduler
    app.include_router(routes.router)
    return app


__getattr__ = app_on_first_use(__name__, create_app, Settings)
