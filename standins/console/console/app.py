"""The two Starlette applications (the Grafana side and the Kibana side) over shared state."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import grafana_api, kibana_api, metrics, pages, queries
from .auth import Auth, Handler, guard
from .config import GrafanaConfig
from .saved_objects import SavedObjects
from .shapes import Side, error
from .upstream import Upstreams


@dataclass
class ConsoleState:
    auth: Auth
    grafana: GrafanaConfig
    saved_objects: SavedObjects
    upstreams: Upstreams | None = None
    metrics_token: str = ""


def _not_found(side: Side) -> Handler:
    async def handler(request: Request) -> Response:
        if side == "grafana":
            return error(side, 404, "Not found")
        return error(side, 404, f"Not Found: {request.method} {request.url.path}")

    return handler


def _common(side: Side) -> list[BaseRoute]:
    return [
        Route("/login", pages.make_login(side), methods=["GET", "POST"]),
        Route("/logout", pages.logout, methods=["GET", "POST"]),
        Mount("/public", StaticFiles(directory=pages.STATIC_DIR, check_dir=True), name="public"),
    ]


def grafana_routes() -> list[BaseRoute]:
    def api(handler: Handler, *, write: bool = False) -> Handler:
        return guard(handler, side="grafana", write=write)

    page = guard(pages.shell("grafana"), side="grafana", page=True)
    return [
        *_common("grafana"),
        Route("/api/health", grafana_api.health),
        Route("/api/user", api(grafana_api.user)),
        Route("/api/search", api(grafana_api.search)),
        Route("/api/dashboards/uid/{uid}", api(grafana_api.dashboard)),
        Route("/api/dashboards/db", api(grafana_api.save_dashboard, write=True), methods=["POST"]),
        Route("/api/datasources", api(grafana_api.datasources)),
        Route("/api/datasources/uid/{uid}", api(grafana_api.datasource)),
        Route("/api/datasources/uid/{uid}/resources/{path:path}",
              api(queries.prometheus_resource)),
        Route("/api/ds/query", api(queries.ds_query), methods=["POST"]),
        Route("/metrics", metrics.metrics),
        Route("/", page),
        Route("/dashboards", page),
        Route("/d/{uid}", page),
        Route("/d/{uid}/{slug}", page),
    ]


def kibana_routes() -> list[BaseRoute]:
    def api(handler: Handler, *, write: bool = False) -> Handler:
        return guard(handler, side="kibana", write=write)

    page = guard(pages.shell("kibana"), side="kibana", page=True)
    return [
        *_common("kibana"),
        Route("/api/status", api(kibana_api.status)),
        Route("/api/saved_objects/_find", api(kibana_api.find)),
        Route("/api/saved_objects/_import", api(kibana_api.import_objects, write=True),
              methods=["POST"]),
        Route("/internal/search/es", api(kibana_api.search_es), methods=["POST"]),
        Route("/api/saved_objects/{type}/{id}", api(kibana_api.get_object)),
        Route("/", page),
        Route("/app/discover", page),
        Route("/app/dashboards", page),
    ]


def _app(side: Side, routes: list[BaseRoute], state: ConsoleState) -> Starlette:
    fallback = _not_found(side)
    app = Starlette(
        routes=[*routes, Route("/{path:path}", fallback, methods=_ALL)],
        middleware=[Middleware(metrics.RequestLog, side=side)],
    )
    app.state.auth = state.auth
    app.state.grafana = state.grafana
    app.state.saved_objects = state.saved_objects
    app.state.upstreams = state.upstreams
    app.state.metrics_token = state.metrics_token
    app.state.side = side
    return app


_ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_apps(state: ConsoleState) -> tuple[Starlette, Starlette]:
    return _app("grafana", grafana_routes(), state), _app("kibana", kibana_routes(), state)

