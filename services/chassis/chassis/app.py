"""`create_service_app`: a FastAPI app with every chassis piece wired in. A service adds its
own routers and, if it needs one, its own lifespan for what runs beside the requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TypeVar

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chassis import faults, health, metrics
from chassis.db import Database
from chassis.health import HealthCheck
from chassis.jwks import JwksVerifier
from chassis.logs import configure_logging
from chassis.messaging import Broker
from chassis.migrations import upgrade
from chassis.outbox import OutboxRelay
from chassis.settings import ServiceSettings, SettingsError, load_settings

log = logging.getLogger("chassis")
BODY_PARSE_ERROR = "There was an error parsing the body"
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

S = TypeVar("S", bound=ServiceSettings)


def default_checks(db: Database | None, broker: Broker | None) -> list[HealthCheck]:
    """postgres is critical (fail → 503); rabbitmq only warns (the outbox waits for it)."""
    checks = []
    if db is not None:
        checks.append(HealthCheck("postgres", "datastore", db.probe))
    if broker is not None:
        checks.append(HealthCheck("rabbitmq", "component", broker.probe, critical=False))
    return checks


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    migrations: Path | None = None,
    outbox: bool = False,
    health_checks: list[HealthCheck] | None = None,
    lifespan: Lifespan | None = None,
    jwks: JwksVerifier | None = None,
) -> FastAPI:
    """The app, with `app.state.db` (if DATABASE_URL), `app.state.broker` (if RABBITMQ_URL),
    `/health`, `/livez`, `/metrics`, `/admin/faults`, request ids, RED metrics, JSON errors.

    `migrations`: an Alembic script directory, upgraded to head at startup.
    `outbox`: run the outbox relay (needs the `outbox` table in the migrations).
    `jwks`: verify auth's tokens (`CurrentClaims`): its keys are refreshed in the background
    and checked by /health (`auth-keys`: the service is not ready until it holds keys)."""
    configure_logging(
        service=settings.service_name,
        version=settings.service_version,
        level=settings.log_level,
        tcp_address=settings.log_tcp_address,
        relp_address=settings.log_relp_address,
    )
    db = Database(settings.database_sqlalchemy_url)
    broker = (
        Broker(settings.rabbitmq_url, settings.rabbitmq_password) if settings.rabbitmq_url else None
    )

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        if migrations is not None:
            await asyncio.to_thread(upgrade, db.engine, migrations)
        relay = OutboxRelay(db, broker) if outbox and broker is not None else None
        if broker is not None:
            await broker.start()
        if relay is not None:
            relay.start()
        refresher = asyncio.create_task(jwks.keep_fresh()) if jwks is not None else None
        log.info("%s %s started", settings.service_name, settings.service_version)
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            if refresher is not None:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
            if relay is not None:
                await relay.stop()
            if broker is not None:
                await broker.close()
            db.dispose()

    app = FastAPI(
        title=title,
        version=settings.service_version,
        lifespan=run,
        dependencies=[Depends(faults.inject_faults)],
    )
    state = faults.FaultState()
    app.state.settings = settings
    app.state.db = db
    app.state.broker = broker
    app.state.faults = state
    app.state.admin_token = settings.admin_token
    app.state.metrics_token = settings.metrics_token
    checks = default_checks(db, broker) if health_checks is None else list(health_checks)
    if jwks is not None:
        app.state.jwks = jwks
        checks.append(HealthCheck("auth-keys", "component", jwks.probe))
    app.state.health_checks = checks
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(faults.router)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(metrics.ObservabilityMiddleware, service=settings.service_name)
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI answers a body it cannot decode (bad UTF-8, ...) with a bare 400; make it the
    same 422 with a field error as malformed JSON, so clients see one rule for bad bodies."""
    if (
        isinstance(exc, StarletteHTTPException)
        and exc.status_code == 400
        and exc.detail == BODY_PARSE_ERROR
    ):
        return JSONResponse(
            {
                "detail": [
                    {
                        "type": "body_unparsable",
                        "loc": ["body"],
                        "msg": "the body could not be decoded as JSON",
                    }
                ]
            },
            status_code=422,
        )
    return await http_exception_handler(request, exc)  # type: ignore[arg-type]


def app_on_first_use(
    module: str, create: Callable[[S], FastAPI], settings_cls: type[S]
) -> Callable[[str], FastAPI]:
    """A module `__getattr__` that builds `app` from the environment the first time it is
    asked for (`uvicorn <pkg>.main:app`), so importing the module (tests) reads no environment:
    `__getattr__ = app_on_first_use(__name__, create_app, Settings)`."""

    def __getattr__(name: str) -> FastAPI:
        if name != "app":
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        try:
            app = create(load_settings(settings_cls))
        except SettingsError as exc:  # `python -m uvicorn` then ends with this one line
            raise SystemExit(str(exc)) from None
        vars(sys.modules[module])["app"] = app  # later lookups skip __getattr__
        return app

    return __getattr__
