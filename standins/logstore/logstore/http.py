"""HTTP plumbing shared by every endpoint: auth, body parsing, ES-shaped responses.

Every response carries `X-Elastic-Product: Elasticsearch`: the official client 8.x refuses a
server without it (https://www.elastic.co/guide/en/elasticsearch/client/python-api/current/release-notes.html#rn-7-14-0).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
from starlette.requests import Request
from starlette.responses import Response

from . import filter_path
from .errors import ESError, SimpleError, parsing
from .security import User

log = logging.getLogger("logstore")
_JSON_TYPES = (
    "application/json",
    "application/x-ndjson",
    "application/vnd.elasticsearch+json",
    "application/vnd.elasticsearch+x-ndjson",
)
VND = "application/vnd.elasticsearch+json;compatible-with=8"


@dataclass
class Ctx:
    request: Request
    user: User
    started: float

    @property
    def params(self) -> Any:
        return self.request.query_params

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def flag(self, name: str) -> bool:
        value = self.request.query_params.get(name)
        return value is not None and value in ("", "true")

    def int_param(self, name: str, default: int) -> int:
        value = self.request.query_params.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Failed to parse int parameter [{name}] with value [{value}]",
            ) from None

    def took(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    async def raw(self) -> bytes:
        state = self.request.app.state
        # ES's RestController: a body needs a JSON (or NDJSON) Content-Type, else 406.
        header = self.request.headers.get("content-type")
        ctype = (header or "").split(";")[0].strip().lower()
        if ctype and ctype not in _JSON_TYPES:
            reason = f"Content-Type header [{header}] is not supported"
            raise SimpleError(406, "media_type_header_exception", reason)
        declared = int(self.request.headers.get("content-length", "0") or 0)
        if declared > state.max_body:
            raise _too_large(declared, state.max_body)
        chunks, size = [], 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > state.max_body:
                raise _too_large(size, state.max_body)
            chunks.append(chunk)
        if size and not header:
            raise SimpleError(406, "media_type_header_exception", "Content-Type header is missing")
        return b"".join(chunks)

    async def json(self, *, required: bool = False) -> dict[str, Any]:
        raw = await self.raw()
        if not raw.strip():
            if required:
                raise parsing("request body is required")
            return {}
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ESError(
                400, "x_content_parse_exception", f"Failed to parse request body: {exc}"
            ) from None
        if not isinstance(body, dict):
            raise parsing(f"request body must be a JSON object, got {type(body).__name__}")
        return body


def _too_large(size: int, limit: int) -> ESError:
    return ESError(
        413,
        "content_too_long_exception",
        f"request body of {size} bytes is larger than the limit of {limit} bytes "
        "(http.max_content_length; logstore --max-body)",
    )


def respond(
    request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    accept = request.headers.get("accept", "") + request.headers.get("content-type", "")
    media = VND if "compatible-with" in accept else "application/json"
    all_headers = {"X-Elastic-Product": "Elasticsearch", **(headers or {})}
    if isinstance(body, str):
        return Response(body, status, all_headers, media_type="text/plain; charset=UTF-8")
    wanted = request.query_params.get("filter_path")
    if wanted:
        body = filter_path.apply(body, wanted)
    return Response(orjson.dumps(body), status, all_headers, media_type=media)


Handler = Callable[[Ctx], Awaitable[Any]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, run, and turn ESError (and any bug) into an ES-shaped error response."""

    async def run(request: Request) -> Response:
        started = time.perf_counter()
        try:
            user = request.app.state.security.authenticate(request.headers.get("authorization"))
            result = await handler(Ctx(request, user, started))
        except ESError as exc:
            headers = {}
            if exc.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="security" charset="UTF-8"'
            return respond(request, exc.body(), exc.status, headers)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:  # tantivy panics surface as pyo3 PanicException
            log.exception("%s %s failed", request.method, request.url.path)
            err = ESError(
                500, "exception", f"internal error in logstore: {type(exc).__name__}: {exc}"
            )
            return respond(request, err.body(), 500)
        if isinstance(result, Response):
            result.headers["X-Elastic-Product"] = "Elasticsearch"
            return result
        if isinstance(result, tuple):
            return respond(request, result[1], result[0])
        return respond(request, result)

    return run


def shards(n: int = 1) -> dict[str, int]:
    return {"total": n, "successful": n, "skipped": 0, "failed": 0}


async def no_handler(request: Request, exc: Exception) -> Response:
    """A path or method no route serves, answered as Elasticsearch's RestController does
    (after authentication, as there): 400 "no handler found" for a path, 405 with the allowed
    methods for a method. Both bodies are ES's own, flat `error` strings included."""
    try:
        request.app.state.security.authenticate(request.headers.get("authorization"))
    except ESError as err:
        return respond(request, err.body(), err.status)
    uri = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    status = getattr(exc, "status_code", 404)
    if status == 405:
        allowed = getattr(exc, "headers", None) or {}
        methods = sorted(m.strip() for m in allowed.get("Allow", "").split(",") if m.strip())
        reason = (
            f"Incorrect HTTP method for uri [{uri}] and method [{request.method}], "
            f"allowed: [{', '.join(methods)}]"
        )
        return respond(request, {"error": reason, "status": 405}, 405)
    reason = f"no handler found for uri [{uri}] and method [{request.method}]"
    return respond(request, {"error": reason}, 400)


# A `/` inside one path segment (`%2F`, as clients encode date math index names such as
# `<logs-{now/d}>`) stands in the decoded path as this character, so that the router still
# sees one segment; datemath.index_name turns it back.
ENCODED_SLASH = "\x1f"


class KeepEncodedSlashes:
    """ASGI middleware: the ASGI server decodes `%2F` into `/`, which would split a segment."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and b"%2f" in raw.lower():
            segments = raw.split(b"?", 1)[0].decode("latin-1").split("/")
            decoded = [unquote(seg).replace("/", ENCODED_SLASH) for seg in segments]
            scope = {**scope, "path": "/".join(decoded)}
        await self.app(scope, receive, send)
