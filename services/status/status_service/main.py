"""The status service: `python -m uvicorn status_service.main:app --host 127.0.0.1 --port 8401`.

`app` is built on first access, so importing `create_app` (tests) reads no environment.
The poller runs beside the requests, in the same process (one instance: it owns the page).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import app_on_first_use, create_service_app
from fastapi import FastAPI

from status_service.api.routes import admin, public, subscriptions
from status_service.core.config import Settings, duration
from status_service.courier import Courier, courier_for
from status_service.db import MIGRATIONS
from status_service.health_model import Policy
from status_service.monitor import Monitor, Retention


def create_app(settings: Settings) -> FastAPI:
    policy = settings.retention()  # POLICY_FILE: rendered from the stack's retention policy

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        monitor: Monitor = app.state.monitor
        await monitor.restore()  # the page serves its history from the first request
        task = asyncio.create_task(monitor.run())
        courier: Courier = app.state.courier  # sends the subscribers' outbox, beside the poller
        courier_task = asyncio.create_task(courier.run())
        yield
        task.cancel()
        courier_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await courier_task
        await courier.close()
        monitor.close()

    app = create_service_app(settings, title="status", migrations=MIGRATIONS, lifespan=lifespan)
    # httpx logs every probe at INFO: 20 lines every 5 s that say nothing the checks don't.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app.state.monitor = Monitor(
        db=app.state.db,
        targets_file=settings.targets_file,
        self_name=settings.service_name,
        policy=Policy(
            failures_to_outage=settings.failures_to_outage,
            successes_to_recover=settings.successes_to_recover,
            slow_ms=settings.slow_ms,
        ),
        interval_s=settings.poll_interval_s,
        timeout_s=settings.probe_timeout_s,
        grace_s=settings.startup_grace_s,
        retention=Retention(
            raw=duration(policy.raw_checks), aggregates=duration(policy.aggregates)
        ),
    )
    app.state.courier = courier_for(app.state.db, app.state.monitor, settings)
    app.state.response_cache = public.ResponseCache()
    app.include_router(public.router)
    app.include_router(admin.router)
    app.include_router(subscriptions.router)
    app.include_router(subscriptions.admin_router)
    return app


__getattr__ = app_on_first_use(__name__, create_app, Settings)
