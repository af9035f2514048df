"""The HTTP API: the subset of Mailpit's API v1 the stack uses, in Mailpit's exact JSON shapes.

Shapes follow Mailpit's swagger definitions (MessagesSummary, MessageSummary, Message,
Attachment, Address) and its handlers in server/apiv1: errors are text/plain (400 with the
reason, 404 "404 page not found"), writes answer text/plain "ok".
Reference: https://mailpit.axllent.org/docs/api-v1/
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mailbox_standin.auth import BasicAuthMiddleware, Credentials
from mailbox_standin.parse import Address, ParsedMail, parse_mail
from mailbox_standin.search import parse_query
from mailbox_standin.store import Record, Store
from mailbox_standin.web import routes as web_routes

DEFAULT_LIMIT = 50  # Mailpit's default page size
_LINK = re.compile(r"<([^>]+)>")


def go_time(moment: datetime) -> str:
    """Format as Go's time.Time JSON (RFC 3339, trailing zeros of the fraction dropped)."""
    if moment.tzinfo is None:  # "-0000" in a Date header means UTC of unknown origin
        moment = moment.replace(tzinfo=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    if fraction:
        text += "." + fraction
    offset = moment.utcoffset()
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def _created(record: Record) -> str:
    # Mailpit keeps the received time in milliseconds.
    return go_time(datetime.fromtimestamp(int(record.created * 1000) / 1000, tz=UTC))


def _addresses(addresses: list[Address]) -> list[dict[str, str]]:
    return [a.as_json() for a in addresses]


def summary_json(record: Record) -> dict[str, Any]:
    return {
        "ID": record.id,
        "MessageID": record.message_id,
        "Read": record.read,
        "From": record.sender.as_json(),
        "To": _addresses(record.to),
        "Cc": _addresses(record.cc),
        "Bcc": _addresses(record.bcc),
        "ReplyTo": _addresses(record.reply_to),
        "Subject": record.subject,
        "Created": _created(record),
        "Tags": [],
        "Size": record.size,
        "Attachments": record.attachments,
        "Snippet": record.snippet,
    }


def message_json(record: Record, mail: ParsedMail) -> dict[str, Any]:
    unsubscribe = mail.headers.get("list-unsubscribe", "")
    return {
        "ID": record.id,
        "MessageID": mail.message_id,
        "From": mail.sender.as_json() if mail.sender else None,
        "To": _addresses(mail.to),
        "Cc": _addresses(mail.cc),
        "Bcc": _addresses(mail.bcc),
        "ReplyTo": _addresses(mail.reply_to),
        "ReturnPath": mail.return_path,
        "Subject": mail.subject,
        "ListUnsubscribe": {
            "Header": unsubscribe,
            "Links": _LINK.findall(unsubscribe),
            "Errors": "",
            "HeaderPost": mail.headers.get("list-unsubscribe-post", ""),
        },
        "Date": go_time(mail.date) if mail.date else _created(record),
        "Tags": [],
        "Text": mail.text,
        "HTML": mail.html,
        "Size": record.size,
        "Inline": [a.as_json() for a in mail.inline],
        "Attachments": [a.as_json() for a in mail.attachments],
    }


def _error(message: str, status: int = 400) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status)


def _not_found() -> PlainTextResponse:
    return _error("404 page not found", 404)


def _int_param(request: Request, name: str, default: int) -> int:
    # As Mailpit's getStartLimit: anything but a positive integer means the default.
    try:
        value = int(request.query_params.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class Api:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _page(self, records: list[Record], request: Request, *, matched: int) -> JSONResponse:
        start = _int_param(request, "start", 0)
        limit = _int_param(request, "limit", DEFAULT_LIMIT)
        page = records[start : start + limit]
        total, unread = self.store.stats()
        return JSONResponse(
            {
                "total": total,
                "unread": unread,
                "count": len(page),  # legacy, still sent by Mailpit
                "messages_count": matched,
                "start": start,
                "tags": [],
                "messages": [summary_json(r) for r in page],
            }
        )

    def _search(self, request: Request) -> list[Record] | None:
        query = request.query_params.get("query", "").strip()
        if not query:
            return None
        parsed = parse_query(query)
        return [r for r in self.store.newest_first() if parsed.matches(r)]

    def list_messages(self, request: Request) -> Response:
        records = self.store.newest_first()
        return self._page(records, request, matched=len(records))

    def search(self, request: Request) -> Response:
        found = self._search(request)
        if found is None:
            return _error("Error: no search query")
        return self._page(found, request, matched=len(found))

    def delete_search(self, request: Request) -> Response:
        found = self._search(request)
        if found is None:
            return _error("Error: no search query")
        self.store.delete([r.id for r in found])
        return PlainTextResponse("ok")

    def message(self, request: Request) -> Response:
        found = self._lookup_raw(request)
        if isinstance(found, Response):
            return found
        record, raw = found
        self.store.set_read([record.id], read=True)  # Mailpit marks a fetched message read
        return JSONResponse(message_json(record, parse_mail(raw)))

    def raw(self, request: Request) -> Response:
        found = self._lookup_raw(request)
        if isinstance(found, Response):
            return found
        return Response(found[1], media_type="text/plain; charset=utf-8")

    def _lookup_raw(self, request: Request) -> tuple[Record, bytes] | Response:
        """The message the path names and its stored bytes, or the 404 to answer."""
        record = self._lookup(request)
        if isinstance(record, Response):
            return record
        raw = self.store.raw(record)
        return _not_found() if raw is None else (record, raw)

    def _lookup(self, request: Request) -> Record | Response:
        wanted = str(request.path_params["id"])
        if wanted == "latest":
            found = self._search(request)
            records = self.store.newest_first() if found is None else found
            return records[0] if records else _error("Message not found", 404)
        return self.store.get(wanted) or _not_found()

    async def set_read(self, request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        ids = body.get("ids")
        read = body.get("read", False)
        if not isinstance(read, bool):
            return _error("Read must be true or false")
        await run_in_threadpool(self.store.set_read, ids or None, read=read)
        return PlainTextResponse("ok")

    async def delete(self, request: Request) -> Response:
        # Mailpit deletes everything when the body does not decode; we refuse instead, so a
        # malformed request loses nothing. An empty body or no IDs still means "all".
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        await run_in_threadpool(self.store.delete, body.get("ids") or None)
        return PlainTextResponse("ok")

    def livez(self, request: Request) -> Response:
        return Response(status_code=200)

    def readyz(self, request: Request) -> Response:
        if self.store.healthy():
            return Response(status_code=200)
        return _error("Service Unavailable", 503)


async def _json_body(request: Request) -> dict[str, Any] | Response:
    """The JSON object sent, keys lower-cased (Go's decoder matches field names that way)."""
    data = await request.body()
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(f"invalid JSON body: {exc}")
    if value is None:
        return {}
    if not isinstance(value, dict):
        return _error('the body must be a JSON object such as {"IDs": [...]}')
    body = {str(k).lower(): v for k, v in value.items()}
    ids = body.get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        return _error("IDs must be a list of message ID strings")
    return body


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return _not_found()
    return Response(status_code=status)


def create_app(store: Store, credentials: Credentials | None = None) -> Starlette:
    api = Api(store)
    routes = [
        Route("/api/v1/messages", api.list_messages, methods=["GET"]),
        Route("/api/v1/messages", api.set_read, methods=["PUT"]),
        Route("/api/v1/messages", api.delete, methods=["DELETE"]),
        Route("/api/v1/search", api.search, methods=["GET"]),
        Route("/api/v1/search", api.delete_search, methods=["DELETE"]),
        Route("/api/v1/message/{id}", api.message, methods=["GET"]),
        Route("/api/v1/message/{id}/raw", api.raw, methods=["GET"]),
        Route("/livez", api.livez, methods=["GET"]),
        Route("/readyz", api.readyz, methods=["GET"]),
        *web_routes(store),
    ]
    middleware = [Middleware(BasicAuthMiddleware, credentials=credentials)] if credentials else []
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: _http_error, 405: _http_error},
    )
