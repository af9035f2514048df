"""RED metrics labelled with the route template, and the `/metrics` endpoint.

Metric objects live at module level in the default registry: one process serves one service,
and tests that build several apps in one process share the same series.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.context import request_id
from chassis.faults import require_bearer

# The one business metric every service shares (the course's "feature usage"): defined here once,
# so services keep one series name and can run in one process (tests import them all).
FEATURE_USAGE = Counter("feature_usage", "Uses of each product feature", ["feature"])
REQUESTS = Counter(
    "http_requests", "HTTP requests served", ["service", "route", "method", "status"]
)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to serve an HTTP request",
    ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UNMATCHED = "<unmatched>"
REQUEST_ID_HEADER = b"x-request-id"
access_log = logging.getLogger("chassis.access")

router = APIRouter(include_in_schema=False)


def require_scraper(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Prometheus scrapes with the metrics token (METRICS_TOKEN_FILE); the admin token works
    too, for a human with curl. Metrics reveal traffic and business numbers: never anonymous."""
    accepted = [request.app.state.admin_token]
    if request.app.state.metrics_token:
        accepted.append(request.app.state.metrics_token)
    require_bearer(authorization, accepted, "metrics")


@router.get("/metrics", dependencies=[Depends(require_scraper)])
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The path template of the route that served `scope` (`/api/users/{id}`), never the path.

    Starlette's router records the matched route in the (shared) scope dict."""
    route = scope.get("route")
    return str(route.path) if route is not None and hasattr(route, "path") else UNMATCHED


class ObservabilityMiddleware:
    """Request id in, request id out, one access log line and the RED metrics per request."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        given = headers.get(REQUEST_ID_HEADER, b"").decode("latin-1")[:128]
        rid = given if given.isprintable() and given else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started_response = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here, inside the request id and metrics, as JSON like every error.
            access_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started_response:
                raise
            await JSONResponse(
                {"detail": "internal server error", "request_id": rid}, status_code=500
            )(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            REQUESTS.labels(self.service, route, method, str(status)).inc()
            DURATION.labels(self.service, route, method).observe(elapsed)
            # A 5xx is the service's failure: logged as an error, so the log pipeline tags it
            # `error` (the "Errors" search, the error-rate panel, the log alerts).
            access_log.log(
                logging.ERROR if status >= 500 else logging.INFO,
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "http.request.method": method,
                    "url.path": scope["path"],
                    "http.route": route,
                    "http.response.status_code": status,
                    "event.duration": int(elapsed * 1e9),
                },
            )
            request_id.reset(token)
