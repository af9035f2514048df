"""The forwarder's HTTP side: /health (is the store taking the spool?) and /metrics (a bearer
token, the shipper-exporter's endpoint). The delivery loop runs in a thread of its own beside it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

from prometheus_client import REGISTRY
from shipper_exporter.app import metrics_endpoint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from log_forwarder.forwarder import Forwarder


def create_app(forwarder: Forwarder, *, tokens: list[str]) -> Starlette:
    async def health(request: Request) -> Response:
        # Up, even while the store is down: the spool keeps the lines, and the store's own
        # probe tells that it is down. The reason is shown; a dead loop is a failure.
        alive = thread.is_alive()
        body = {"status": "ok" if alive else "fail", "delivering": forwarder.last_error is None}
        if forwarder.last_error is not None:
            body["last_error"] = forwarder.last_error
        return JSONResponse(body, status_code=200 if alive else 503)

    serve_metrics = metrics_endpoint(REGISTRY, tokens)
    thread = threading.Thread(target=forwarder.run, name="forwarder", daemon=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        thread.start()
        yield
        forwarder.stop.set()
        await asyncio.to_thread(thread.join, 10)

    routes = [Route("/health", health), Route("/metrics", serve_metrics)]
    return Starlette(routes=routes, lifespan=lifespan)
