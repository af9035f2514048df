"""The Kibana side's HTTP API, in Kibana's shapes: status, saved objects (find, get, import)
and the search strategy endpoint Discover and vega visualizations query through.
https://www.elastic.co/guide/en/kibana/8.15/api.html
"""

from __future__ import annotations

import fnmatch
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .saved_objects import SavedObjects
from .shapes import kibana_error

# The Kibana release whose APIs the console answers like (Elasticsearch 8's client checks the
# major version).
KIBANA_VERSION = "8.15.0"
MAX_PER_PAGE = 10_000


def _objects(request: Request) -> SavedObjects:
    objects: SavedObjects = request.app.state.saved_objects
    return objects


async def status(request: Request) -> Response:
    return JSONResponse(
        {
            "name": "console",
            "uuid": "00000000-0000-4000-8000-000000000000",
            "version": {"number": KIBANA_VERSION, "build_flavor": "console", "build_snapshot": False},
            "status": {
                "overall": {"level": "available", "summary": "All services are available"}
            },
        }
    )


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    out = {
        "type": obj["type"],
        "id": obj["id"],
        "attributes": obj["attributes"],
        "references": obj.get("references", []),
        "updated_at": obj.get("updated_at", "1970-01-01T00:00:00.000Z"),
        "version": obj.get("version", "WzEsMV0="),
        "namespaces": ["default"],
    }
    for key in ("migrationVersion", "coreMigrationVersion", "typeMigrationVersion"):
        if key in obj:
            out[key] = obj[key]
    return out


def _matches(obj: dict[str, Any], search: str) -> bool:
    """Kibana's `search` is a simple_query_string on the title: every word must match a word of
    the title, `*` is a wildcard; a word without one matches as a prefix, as Kibana's UI asks."""
    title = str(obj["attributes"].get("title", "")).lower()
    words = [*title.replace("-", " ").split(), title]
    for term in search.lower().split():
        pattern = term if "*" in term else term + "*"
        if not any(fnmatch.fnmatchcase(word, pattern) for word in words):
            return False
    return True


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"[request query.{name}]: expected a positive integer, got {raw!r}")
    return int(raw)


async def find(request: Request) -> Response:
    types = request.query_params.getlist("type")
    if not types:
        return kibana_error(400, "[request query.type]: expected at least one saved object type")
    try:
        per_page = min(_int_param(request, "per_page", 20), MAX_PER_PAGE)
        page = _int_param(request, "page", 1)
    except ValueError as exc:
        return kibana_error(400, str(exc))
    search = request.query_params.get("search", "").strip()
    found = [
        obj
        for obj in _objects(request).all()
        if obj["type"] in types and (not search or _matches(obj, search))
    ]
    start = (page - 1) * per_page
    return JSONResponse(
        {
            "page": page,
            "per_page": per_page,
            "total": len(found),
            "saved_objects": [_public(obj) for obj in found[start : start + per_page]],
        }
    )


async def get_object(request: Request) -> Response:
    obj_type, obj_id = request.path_params["type"], request.path_params["id"]
    obj = _objects(request).get(obj_type, obj_id)
    if obj is None:
        return kibana_error(404, f"Saved object [{obj_type}/{obj_id}] not found")
    return JSONResponse(_public(obj))
