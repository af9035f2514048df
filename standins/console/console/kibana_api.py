"""The Kibana side's HTTP API, in Kibana's shapes: status, saved objects (find, get, import)
and the search strategy endpoint Discover and vega visualizations query through.
https://www.elastic.co/guide/en/kibana/8.15/api.html
"""

from __future__ import annotations

import fnmatch
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import UpstreamError
from .metrics import UPSTREAM_ERRORS
from .saved_objects import ImportLineError, SavedObjects, parse_object
from .shapes import kibana_error
from .upstream import search

# The Kibana release whose APIs the console answers like (Elasticsearch 8's client checks the
# major version).
KIBANA_VERSION = "8.15.0"
MAX_PER_PAGE = 10_000
MAX_IMPORT_BYTES = 26_214_400  # Kibana's savedObjects.maxImportPayloadBytes default
ICONS = {"dashboard": "dashboardApp", "visualization": "visualizeApp", "search": "discoverApp",
         "index-pattern": "indexPatternApp"}


def _objects(request: Request) -> SavedObjects:
    objects: SavedObjects = request.app.state.saved_objects
    return objects


async def status(request: Request) -> Response:
    return JSONResponse(
        {
            "name": "console",
            "uuid": "00000000-0000-4000-8000-000000000000",
            "version": {
                "number": KIBANA_VERSION, "build_flavor": "console", "build_snapshot": False
            },
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


async def import_objects(request: Request) -> Response:
    """`POST /api/saved_objects/_import[?overwrite=true]`, multipart field `file` (ndjson)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_IMPORT_BYTES:
        return kibana_error(413, f"Payload content length greater than maximum allowed: "
                                 f"{MAX_IMPORT_BYTES}")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # python-multipart's parse errors have no common base class
        return kibana_error(400, f"[request body]: expected multipart/form-data: {exc}")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return kibana_error(400, "[request body.file]: expected a file (ndjson) in field `file`")
    text = (await upload.read()).decode("utf-8", errors="replace")
    overwrite = request.query_params.get("overwrite", "false").lower() == "true"
    objects = _objects(request)
    parsed = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            obj = parse_object(line, f"line {number} of {upload.filename or 'the file'}")
        except ImportLineError as exc:
            return kibana_error(400, f"Unexpected token in the import file: {exc}")
        if obj is not None:
            parsed.append(obj)
    accepted, results, errors = [], [], []
    for obj in parsed:
        title = str(obj["attributes"].get("title", ""))
        meta = {"title": title, "icon": ICONS.get(obj["type"], "document")}
        exists = objects.get(obj["type"], obj["id"]) is not None
        if exists and not overwrite:
            errors.append({"id": obj["id"], "type": obj["type"], "title": title, "meta": meta,
                           "error": {"type": "conflict"}})
            continue
        accepted.append(obj)
        result = {"type": obj["type"], "id": obj["id"], "meta": meta}
        if exists:
            result["overwrite"] = True
        results.append(result)
    if accepted:
        objects.put_many(accepted)
    body: dict[str, Any] = {
        "success": not errors,
        "successCount": len(accepted),
        "successResults": results,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body)


async def search_es(request: Request) -> Response:
    """`POST /internal/search/es`: the `es` search strategy of Kibana's data plugin, run on
    logstore as console_reader; the ES response comes back whole in `rawResponse`."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return kibana_error(400, f"[request body]: not JSON: {exc}")
    params = body.get("params") if isinstance(body, dict) else None
    if not isinstance(params, dict):
        return kibana_error(400, '[request body.params]: expected {"index": ..., "body": {...}}')
    index = params.get("index") or "logs-*"
    if isinstance(index, list):
        index = ",".join(str(i) for i in index)
    search_body = params.get("body") or {}
    if not isinstance(index, str) or not isinstance(search_body, dict):
        return kibana_error(400, "[request body.params]: index must be a string, body an object")
    try:
        status, answer = await search(request.app.state.upstreams.logstore, index, search_body)
    except UpstreamError as exc:
        UPSTREAM_ERRORS.labels(upstream="logstore").inc()
        return kibana_error(exc.status if exc.status < 600 else 502, str(exc))
    if status != 200:
        if status >= 500:
            UPSTREAM_ERRORS.labels(upstream="logstore").inc()
        # Elasticsearch's error passed through, with Kibana's statusCode and message beside it.
        shaped = answer if isinstance(answer, dict) else {"error": str(answer)}
        error = shaped.get("error")
        reason = error.get("reason") if isinstance(error, dict) else str(error)
        return JSONResponse(shaped | {"statusCode": status, "message": reason}, status_code=status)
    return JSONResponse({"id": None, "rawResponse": answer, "isPartial": False,
                         "isRunning": False, "total": 1, "loaded": 1, "isRestored": False})
