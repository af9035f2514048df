"""The public side, no login: the page, Statuspage's JSON API, the Atom feed and badges.

Every answer is rendered once per state change of the monitor (`version`, at most once per
polling cycle) and then served from memory as bytes: readers cost a dictionary lookup, so
the page stays fast under many concurrent readers (bench/status.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from jinja2 import Environment, PackageLoader, select_autoescape

from status_service import views
from status_service.api.deps import MonitorDep, SettingsDep
from status_service.monitor import Monitor

router = APIRouter(tags=["public"])
templates = Environment(
    loader=PackageLoader("status_service", "templates"), autoescape=select_autoescape(["j2"])
)
NO_CACHE = {"Cache-Control": "no-cache"}
JSON = "application/json"


def base_url(request: Request, configured: str) -> str:
    return configured.rstrip("/") or str(request.base_url).rstrip("/")


class ResponseCache:
    """Rendered bodies keyed by (what, base URL), valid while the monitor's version holds."""

    def __init__(self) -> None:
        self._version = -1
        self._bodies: dict[tuple[str, str], bytes] = {}

    def get(self, monitor: Monitor, key: tuple[str, str], render: Callable[[], bytes]) -> bytes:
        if monitor.version != self._version:
            self._bodies.clear()
            self._version = monitor.version
        body = self._bodies.get(key)
        if body is None:
            body = self._bodies[key] = render()
        return body


def _cached(request: Request, what: str, media_type: str, render: Callable[[str], Any]) -> Response:
    monitor: Monitor = request.app.state.monitor
    settings = request.app.state.settings
    url = base_url(request, settings.public_url)
    cache: ResponseCache = request.app.state.response_cache

    def body() -> bytes:
        value = render(url)
        return value.encode() if isinstance(value, str) else json.dumps(value).encode()

    return Response(cache.get(monitor, (what, url), body), media_type=media_type, headers=NO_CACHE)


@router.get("/", include_in_schema=False)
@router.get("/status", response_class=Response, responses={200: {"content": {"text/html": {}}}})
async def page(request: Request, monitor: MonitorDep, settings: SettingsDep) -> Response:
    def render(url: str) -> str:
        model = views.view_model(monitor, title=settings.page_title, url=url)
        return templates.get_template("page.html.j2").render(**model)

    return _cached(request, "page", "text/html; charset=utf-8", render)


@router.get("/api/v2/summary.json")
async def summary(request: Request, monitor: MonitorDep, settings: SettingsDep) -> Response:
    return _cached(
        request,
        "summary",
        JSON,
        lambda url: views.summary(monitor, title=settings.page_title, url=url),
    )


@router.get("/api/v2/status.json")
async def status(request: Request, monitor: MonitorDep, settings: SettingsDep) -> Response:
    return _cached(
        request,
        "status",
        JSON,
        lambda url: {
            "page": views.page(monitor, title=settings.page_title, url=url),
            "status": views.status(monitor),
        },
    )


@router.get("/api/v2/components.json")
async def components(request: Request, monitor: MonitorDep, settings: SettingsDep) -> Response:
    return _cached(
        request,
        "components",
        JSON,
        lambda url: {
            "page": views.page(monitor, title=settings.page_title, url=url),
            "components": views.components(monitor),
        },
    )


@router.get("/api/v2/incidents.json")
async def incidents(request: Request, monitor: MonitorDep, settings: SettingsDep) -> Response:
    return _cached(
        request,
        "incidents",
        JSON,
        lambda url: {
            "page": views.page(monitor, title=settings.page_title, url=url),
            "incidents": views.incidents(monitor, url=url),
        },
    )


@router.get("/api/v2/incidents/unresolved.json")
async def unresolved(request: Request, monitor: MonitorDep, settings: SettingsDep) -> Response:
    return _cached(
        request,
        "unresolved",
        JSON,
        lambda url: {
            "page": views.page(monitor, title=settings.page_title, url=url),
            "incidents": views.incidents(monitor, url=url, unresolved=True),
        },
    )


def _maintenances_route(path: str, which: str) -> None:
    async def listed(request: Request, monitor: MonitorDep, settings: SettingsDep) -> Response:
        return _cached(
            request,
            f"maintenances-{which}",
            JSON,
            lambda url: {
                "page": views.page(monitor, title=settings.page_title, url=url),
                "scheduled_maintenances": views.maintenances(monitor, url=url, which=which),
            },
        )

    router.add_api_route(path, listed, methods=["GET"], name=f"maintenances_{which}")


# Statuspage's three lists: all (the last 90 days), upcoming (scheduled), active (under way).
_maintenances_route("/api/v2/scheduled-maintenances.json", "all")
_maintenances_route("/api/v2/scheduled-maintenances/upcoming.json", "upcoming")
_maintenances_route("/api/v2/scheduled-maintenances/active.json", "active")


@router.get("/history.atom")
async def feed(request: Request, monitor: MonitorDep, settings: SettingsDep) -> Response:
    return _cached(
        request,
        "atom",
        "application/atom+xml",
        lambda url: views.atom(monitor, title=settings.page_title, url=url),
    )


@router.get("/badge/{component}.svg")
async def badge(component: str, monitor: MonitorDep) -> Response:
    current = monitor.statuses.get(component)
    if current is None:
        known = ", ".join(sorted(monitor.statuses)) or "none yet"
        raise HTTPException(404, f"unknown component {component!r}; known: {known}")
    return Response(views.badge(component, current), media_type="image/svg+xml", headers=NO_CACHE)
