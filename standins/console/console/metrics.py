"""The console's own Prometheus metrics, and the middleware that counts and logs requests.

`GET /metrics` (Grafana side) answers admin's basic auth or the bearer token in the
`metrics_token` secret, so Prometheus can scrape it without a user's password.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import TooManyFailures
from .shapes import grafana_error

# `*_created` series double the output and no rule or dashboard of the stack reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]
REQUESTS = Counter(
    "console_http_requests", "HTTP requests answered", ["side", "route", "status"]
)
QUERY_SECONDS = Histogram(
    "console_ds_query_duration_seconds",
    "Time to answer the queries of one datasource in one /api/ds/query request",
    ["datasource"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UPSTREAM_ERRORS = Counter(
    "console_upstream_errors", "Upstream requests that failed (unreachable or 5xx)", ["upstream"]
)
for _upstream in ("prometheus", "logstore"):
    UPSTREAM_ERRORS.labels(upstream=_upstream)  # exported at 0: increase() sees the first one

access_log = logging.getLogger("console.access")


async def metrics(request: Request) -> Response:
    token = request.app.state.metrics_token
    header = request.headers.get("authorization", "")
    allowed = bool(token) and header.startswith("Bearer ") and hmac.compare_digest(
        header[7:].strip().encode(), token.encode()
    )
    if not allowed:
        try:
            principal = request.app.state.auth.authenticate(request)
        except TooManyFailures:
            principal = None
        if principal is None:
            return grafana_error(401, "Unauthorized")
        if not principal.is_admin:
            return grafana_error(403, "Permission denied")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestLog:
    """Counts every request by side, route template and status, and logs it as one ECS line."""

    def __init__(self, app: ASGIApp, *, side: str) -> None:
        self.app = app
        self.side = side

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if route == "/{path:path}":
                route = "unmatched"
            REQUESTS.labels(side=self.side, route=route, status=str(status)).inc()
            elapsed = time.perf_counter() - started
            principal = getattr(scope.get("state", {}).get("principal"), "login", None)
            fields: dict[str, Any] = {
                "event.dataset": "console.access",
                "event.duration": int(elapsed * 1e9),
                "http.request.method": scope["method"],
                "url.path": scope["path"],
                "http.response.status_code": status,
                "labels.side": self.side,
                "labels.route": route,
            }
            if principal:
                fields["user.name"] = principal
            client = scope.get("client")
            if client:
                fields["client.address"] = client[0]
            access_log.info("%s %s %s", scope["method"], scope["path"], status, extra=fields)
