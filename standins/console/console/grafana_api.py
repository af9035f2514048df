"""The Grafana side's HTTP API, in Grafana's shapes (https://grafana.com/docs/grafana/latest/
developers/http_api/): health, the signed-in user, search, dashboards, datasources, queries."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import __version__
from .auth import Principal
from .config import Dashboard, GrafanaConfig
from .shapes import grafana_error


def _config(request: Request) -> GrafanaConfig:
    config: GrafanaConfig = request.app.state.grafana
    return config


async def health(request: Request) -> Response:
    return JSONResponse({"database": "ok", "version": __version__, "commit": "console"})


async def user(request: Request) -> Response:
    principal: Principal = request.state.principal
    return JSONResponse(
        {
            "id": 1 if principal.is_admin else 2,
            "uid": principal.login,
            "login": principal.login,
            "name": principal.login,
            "email": "",
            "isGrafanaAdmin": principal.is_admin,
            "isDisabled": False,
            "orgId": 1,
            "role": principal.role_name,
            "csrfToken": principal.csrf_token,
        }
    )


def _search_hit(board: Dashboard) -> dict[str, Any]:
    return {
        "id": board.id,
        "uid": board.uid,
        "title": board.title,
        "uri": f"db/{board.slug}",
        "url": board.url,
        "slug": board.slug,
        "type": "dash-db",
        "tags": list(board.tags),
        "isStarred": False,
        "folderUid": board.folder_uid,
        "folderTitle": board.folder_title,
        "folderUrl": f"/dashboards/f/{board.folder_uid}" if board.folder_uid else "",
    }


async def search(request: Request) -> Response:
    """Dashboards (and folders when no type is asked), sorted by title as Grafana's default."""
    config = _config(request)
    params = request.query_params
    query = params.get("query", "").strip().lower()
    tags = set(params.getlist("tag"))
    kinds = set(params.getlist("type")) or {"dash-db", "dash-folder"}
    uids = set(params.getlist("dashboardUIDs"))
    hits: list[dict[str, Any]] = []
    if "dash-folder" in kinds and not tags and not uids:
        for uid, title in config.folders.items():
            if query in title.lower():
                hits.append(
                    {"id": 0, "uid": uid, "title": title, "uri": f"db/{uid}",
                     "url": f"/dashboards/f/{uid}", "slug": "", "type": "dash-folder",
                     "tags": [], "isStarred": False}
                )
    if "dash-db" in kinds:
        for board in config.dashboards.values():
            if query and query not in board.title.lower():
                continue
            if not tags <= set(board.tags) or (uids and board.uid not in uids):
                continue
            hits.append(_search_hit(board))
    hits.sort(key=lambda hit: (hit["type"] != "dash-folder", hit["title"].lower()))
    try:
        limit = int(params.get("limit", "1000"))
    except ValueError:
        return grafana_error(400, f"limit {params.get('limit')!r} is not a number")
    return JSONResponse(hits[: max(limit, 0)])


async def dashboard(request: Request) -> Response:
    board = _config(request).dashboards.get(request.path_params["uid"])
    if board is None:
        return grafana_error(404, "Dashboard not found")
    meta = {
        "type": "db",
        "canSave": False,
        "canEdit": False,
        "canAdmin": False,
        "canStar": False,
        "canDelete": False,
        "slug": board.slug,
        "url": board.url,
        "expires": "0001-01-01T00:00:00Z",
        "version": board.model.get("version", 1),
        "isFolder": False,
        "folderId": 0,
        "folderUid": board.folder_uid,
        "folderTitle": board.folder_title,
        "folderUrl": f"/dashboards/f/{board.folder_uid}" if board.folder_uid else "",
        "provisioned": True,
        "provisionedExternalId": board.source.name,
    }
    return JSONResponse({"dashboard": board.model | {"id": board.id}, "meta": meta})


async def save_dashboard(request: Request) -> Response:
    # The provider sets allowUiUpdates: false; the JSON files are the source of truth.
    return grafana_error(400, "Cannot save provisioned dashboard")


async def datasources(request: Request) -> Response:
    return JSONResponse([ds.public() for ds in _config(request).datasources.values()])


async def datasource(request: Request) -> Response:
    found = _config(request).datasources.get(request.path_params["uid"])
    if found is None:
        return grafana_error(404, "Data source not found")
    return JSONResponse(found.public())
