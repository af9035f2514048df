"""Document, bulk, search, count and scroll endpoints.

Bulk: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-bulk.html
Index/get: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-index_.html
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from .bulkparse import parse_bulk
from .engine import LogIndex
from .errors import ESError
from .http import Ctx
from .source_filter import from_request
from .writes import write_items


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


def refresh_mode(ctx: Ctx) -> str | None:
    """The `refresh` parameter, checked before anything is written."""
    mode = ctx.param("refresh")
    if mode not in (None, "", "true", "false", "wait_for"):
        raise ESError(400, "illegal_argument_exception", f"Unknown value for refresh: [{mode}].")
    return mode


async def after_write(ctx: Ctx, touched: set[LogIndex]) -> bool:
    """Apply `refresh`; True when the write forced a refresh (ES's `forced_refresh`)."""
    mode = refresh_mode(ctx)
    if mode in ("", "true"):
        for index in touched:
            await run_in_threadpool(index.refresh)
        return True
    if mode == "wait_for":
        for index in touched:
            await run_in_threadpool(index.wait_for_refresh)
    return False


async def bulk(ctx: Ctx) -> dict[str, Any]:
    refresh_mode(ctx)
    raw = await ctx.raw()
    default = ctx.request.path_params.get("index")
    items = parse_bulk(raw, default, ctx.param("pipeline"))
    fetch = None  # the request's `_source` options: what each update's `get` answers
    if any(ctx.param(p) is not None for p in ("_source", "_source_includes", "_source_excludes")):
        includes, excludes = from_request(ctx.params, {})
        fetch = None if includes is None else (includes, excludes)
    results, touched = await run_in_threadpool(write_items, ctx, items, fetch=fetch)
    if await after_write(ctx, touched):  # ES marks every item that is not a failure
        for result in results:
            item = next(iter(result.values()))
            if "error" not in item:
                item["forced_refresh"] = True
    rejected = sum(1 for r in results if "error" in next(iter(r.values())))
    _state(ctx).metrics.bulk(len(results) - rejected, rejected)
    # rsyslog's omelasticsearch needs `items` in every reply, even an empty one.
    return {"took": ctx.took(), "errors": rejected > 0, "items": results}


async def wake(indices: list[LogIndex]) -> None:
    """A search on a search-idle index with unrefreshed writes refreshes it first, as ES does
    (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/index-modules.html#index-refresh-interval-setting)."""
    for index in [i for i in indices if i.searched()]:
        await run_in_threadpool(index.refresh)


def read_indices(
    ctx: Ctx,
    expression: str,
    *,
    ignore_unavailable: bool | None = None,
    allow_no_indices: bool | None = None,
) -> list[LogIndex]:
    """The indices a read names that the user may read (the query parameters' options, unless
    given: an _msearch header's own)."""
    state = _state(ctx)
    if allow_no_indices is None:
        allow_no_indices = ctx.param("allow_no_indices", "true") != "false"
    if ignore_unavailable is None:
        ignore_unavailable = ctx.param("ignore_unavailable") == "true"
    allow_none = allow_no_indices
    if ignore_unavailable:
        parts = [
            p
            for p in expression.split(",")
            if "*" in p
            or p in ("_all", "")
            or p in state.store.indices
            or p in state.store.state.section("data_streams")
            or state.store.aliases.exists(p)
        ]
        expression = ",".join(parts) or "-*"
    indices: list[LogIndex] = state.store.resolve(
        expression,
        allow_no_indices=allow_none,
        ignore_unavailable=ignore_unavailable,  # a closed index is skipped, not refused
        expand_wildcards=ctx.param("expand_wildcards") or "open",
    )
    explicit = all("*" not in p for p in expression.split(",")) and expression not in ("_all", "")
    if explicit:
        state.security.require_index(ctx.user, "read", [i.meta.name for i in indices])
        return indices
    return [i for i in indices if state.security.allowed_index(ctx.user, "read", i.meta.name)]


def source_filter(ctx: Ctx, body: dict[str, Any]) -> tuple[list[str] | None, list[str]]:
    spec: Any = body.get("_source", ctx.param("_source", "true"))
    inc_p, exc_p = ctx.param("_source_includes"), ctx.param("_source_excludes")
    if spec in (False, "false"):
        return None, []
    includes: list[str] = []
    excludes: list[str] = exc_p.split(",") if exc_p else []
    if isinstance(spec, str) and spec != "true":
        includes = spec.split(",")
    elif isinstance(spec, list):
        includes = [str(s) for s in spec]
    elif isinstance(spec, dict):
        inc: Any = spec.get("includes", spec.get("include", []))
        exc: Any = spec.get("excludes", spec.get("exclude", []))
        includes = [inc] if isinstance(inc, str) else list(inc)
        excludes += [exc] if isinstance(exc, str) else list(exc)
    if inc_p:
        includes += inc_p.split(",")
    return includes, excludes


def search_body(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    """The search body with the URL's query parameters folded in (api_search.py's)."""
    from .api_search import search_body as fold

    return fold(ctx, body)
