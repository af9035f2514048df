"""The single-document writes: index / create, `_update`, delete.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-index_.html
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-update.html
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-delete.html

Each takes `routing` (kept with the document), `refresh` (`forced_refresh` in the answer when
it refreshed), and versioning (versioning.py): `if_seq_no` + `if_primary_term`, or `version`
with `version_type` external / external_gte (index and delete). An ingest `pipeline` names
one that does not exist: logstore has none.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from . import datemath
from .api_docs import after_write, refresh_mode
from .errors import ESError
from .http import Ctx
from .source_filter import from_request
from .updates import apply_update
from .versioning import condition
from .writes import _check_id, _target, check_data_stream_source, write_op


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


def _routing(ctx: Ctx) -> str | None:
    return ctx.param("routing") or None


def _no_pipeline(ctx: Ctx) -> None:
    pipeline = ctx.param("pipeline")
    if pipeline not in (None, "", "_none"):
        raise ESError(
            400, "illegal_argument_exception", f"pipeline with id [{pipeline}] does not exist"
        )


def _raise_item(result: dict[str, Any]) -> None:
    if "error" in result:
        err = ESError(result["status"], result["error"]["type"], result["error"]["reason"])
        err.extra = {k: v for k, v in result["error"].items() if k not in ("type", "reason")}
        raise err


async def _write_one(
    ctx: Ctx, action: str, name: str, doc_id: str | None, source: Any, raw: bytes
) -> tuple[int, dict[str, Any]]:
    refresh_mode(ctx)
    cond = condition(ctx.params, action=action)
    name = datemath.index_name(name)

    def write() -> tuple[dict[str, Any], Any]:
        _check_id(doc_id)
        index = _target(ctx, name, action)
        check_data_stream_source(index, action, source, name)
        op = write_op(
            index, action, doc_id, source, raw, None if cond.empty else cond, _routing(ctx)
        )
        (result,) = index.write([op])
        return result, index

    result, index = await run_in_threadpool(write)
    _raise_item(result)
    if await after_write(ctx, {index}):
        result["forced_refresh"] = True
    if action != "delete":
        _state(ctx).metrics.bulk(1, 0)
    status = result.pop("status")
    return status, result


async def index_doc(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    name = ctx.request.path_params["index"]
    doc_id = ctx.request.path_params.get("id")
    op_type = ctx.param("op_type")
    if op_type not in (None, "index", "create"):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"opType must be 'create' or 'index', found: [{op_type}]",
        )
    path = ctx.request.url.path
    action = "create" if "/_create/" in path or op_type == "create" else "index"
    _no_pipeline(ctx)
    raw = await ctx.raw()
    try:
        source = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ESError(400, "document_parsing_exception", f"failed to parse: {exc}") from None
    return await _write_one(ctx, action, name, doc_id, source, raw.strip())


async def delete_doc(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    name, doc_id = ctx.request.path_params["index"], ctx.request.path_params["id"]
    return await _write_one(ctx, "delete", name, doc_id, None, b"")


async def update_doc(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    name, doc_id = ctx.request.path_params["index"], ctx.request.path_params["id"]
    refresh_mode(ctx)
    body = await ctx.json(required=True)
    cond = condition(ctx.params, action="update")
    if cond.version is not None:
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: can't provide version in update;",
        )
    fetch = None  # what the answer's `get` holds: asked for by a `_source` option
    if any(ctx.param(p) is not None for p in ("_source", "_source_includes", "_source_excludes")):
        includes, excludes = from_request(ctx.params, {})
        fetch = None if includes is None else (includes, excludes)
    retries = ctx.int_param("retry_on_conflict", 0)
    name = datemath.index_name(name)

    def update() -> tuple[dict[str, Any], Any]:
        _check_id(doc_id)
        index = _target(ctx, name, "update")
        result = apply_update(
            index,
            doc_id,
            body,
            cond=None if cond.empty else cond,
            routing=_routing(ctx),
            retries=retries,
            fetch=fetch,
        )
        return result, index

    result, index = await run_in_threadpool(update)
    if await after_write(ctx, {index}) and result["result"] != "noop":
        result["forced_refresh"] = True
    status = result.pop("status")
    return status, result


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/{index}/_doc", ["POST"], index_doc),
    ("/{index}/_doc/{id}", ["PUT", "POST"], index_doc),
    ("/{index}/_doc/{id}", ["DELETE"], delete_doc),
    ("/{index}/_create/{id}", ["PUT", "POST"], index_doc),
    ("/{index}/_update/{id}", ["POST"], update_doc),
]
