"""Document, bulk, search, count and scroll endpoints.

Bulk: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-bulk.html
Index/get: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-index_.html
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from .aggmerge import with_typed_keys
from .bulkparse import parse_bulk
from .engine import LogIndex
from .errors import ESError, index_not_found, parsing, unsupported
from .http import Ctx, shards
from .scroll import next_page
from .search import Searched, execute, filter_source, render_hit
from .writes import write_items


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


async def after_write(ctx: Ctx, touched: set[LogIndex]) -> None:
    mode = ctx.param("refresh")
    if mode in ("", "true"):
        for index in touched:
            await run_in_threadpool(index.refresh)
    elif mode == "wait_for":
        for index in touched:
            await run_in_threadpool(index.wait_for_refresh)
    elif mode not in (None, "false"):
        raise ESError(400, "illegal_argument_exception", f"Unknown value for refresh: [{mode}].")


async def bulk(ctx: Ctx) -> dict[str, Any]:
    if ctx.param("pipeline"):
        raise ESError(
            400, "illegal_argument_exception", "ingest pipelines are not supported by logstore"
        )
    raw = await ctx.raw()
    default = ctx.request.path_params.get("index")
    items = parse_bulk(raw, default)
    results, touched = await run_in_threadpool(write_items, ctx, items)
    await after_write(ctx, touched)
    errors = any("error" in next(iter(r.values())) for r in results)
    rejected = sum(1 for r in results if "error" in next(iter(r.values())))
    _state(ctx).metrics.bulk(len(results) - rejected, rejected)
    # rsyslog's omelasticsearch needs `items` in every reply, even an empty one.
    return {"took": ctx.took(), "errors": errors, "items": results}


async def index_doc(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    name = ctx.request.path_params["index"]
    doc_id = ctx.request.path_params.get("id")
    path = ctx.request.url.path
    action = "create" if "/_create/" in path or ctx.param("op_type") == "create" else "index"
    raw = await ctx.raw()
    try:
        source = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ESError(400, "document_parsing_exception", f"failed to parse: {exc}") from None
    results, touched = await run_in_threadpool(
        write_items, ctx, [(action, name, doc_id, source, raw.strip())]
    )
    await after_write(ctx, touched)
    ((result,),) = (r.values() for r in results)
    if "error" in result:
        err = ESError(result["status"], result["error"]["type"], result["error"]["reason"])
        err.extra = {k: v for k, v in result["error"].items() if k not in ("type", "reason")}
        raise err
    _state(ctx).metrics.bulk(1, 0)
    status = result.pop("status")
    return status, result


_UPDATE_KEYS = ("doc", "doc_as_upsert", "upsert", "detect_noop")


async def update_doc(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-update.html: a
    partial `doc` merged into the stored source (objects recursively, the rest replaced),
    `upsert` or `doc_as_upsert` for a missing document, `detect_noop`. Scripts are refused."""
    name, doc_id = ctx.request.path_params["index"], ctx.request.path_params["id"]
    body = await ctx.json(required=True)
    for key in body:
        if key == "script":
            raise unsupported("scripted updates ([script] in _update)")
        if key not in _UPDATE_KEYS:
            raise parsing(f"[UpdateRequest] unknown field [{key}]")
    doc = body.get("doc")
    if doc is not None and not isinstance(doc, dict):
        raise parsing(f"[doc] must be an object, got {doc!r}")
    store = _state(ctx).store
    try:
        indices = store.resolve(name)
    except ESError:
        indices = []  # the write below creates it, for an upsert
    current = None
    for index in indices:
        current = await run_in_threadpool(index.get, doc_id)
        if current is not None:
            break
    if current is None:
        if doc is not None and body.get("doc_as_upsert"):
            new = doc
        elif isinstance(body.get("upsert"), dict):
            new = body["upsert"]
        else:
            raise ESError(
                404, "document_missing_exception", f"[{doc_id}]: document missing", index=name
            )
    else:
        if doc is None:
            raise ESError(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: script or doc is missing;",
            )
        raw, version, seq = current
        old = orjson.loads(raw)
        new = _merged(old, doc)
        if new == old and body.get("detect_noop", True):
            return 200, {
                "_index": name,
                "_id": doc_id,
                "_version": version,
                "result": "noop",
                "_shards": {"total": 0, "successful": 0, "failed": 0},
                "_seq_no": seq,
                "_primary_term": 1,
            }
    encoded = orjson.dumps(new)
    results, touched = await run_in_threadpool(
        write_items, ctx, [("index", name, doc_id, new, encoded)]
    )
    await after_write(ctx, touched)
    ((result,),) = (r.values() for r in results)
    if "error" in result:
        raise ESError(result["status"], result["error"]["type"], result["error"]["reason"])
    result["result"] = "created" if current is None else "updated"
    status = result.pop("status")
    return status, result


def _merged(old: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """ES's partial update: objects merge key by key, any other value replaces."""
    out = dict(old)
    for key, value in doc.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


async def get_doc(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    name, doc_id = ctx.request.path_params["index"], ctx.request.path_params["id"]
    store, sec = _state(ctx).store, _state(ctx).security
    indices = store.resolve(name)
    sec.require_index(ctx.user, "read", [i.meta.name for i in indices])
    if not indices:
        raise index_not_found(name)
    answer = await _get_one(ctx, store, sec, name, doc_id, {})
    return (200 if answer.get("found") else 404), answer


async def mget(ctx: Ctx) -> dict[str, Any]:
    """https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-multi-get.html:
    `docs` ([{_index, _id, _source}]) or `ids` with the path's index; each answered as GET
    answers it, a missing index or document in its own slot."""
    body = await ctx.json(required=True)
    default = ctx.request.path_params.get("index")
    if "ids" in body:
        if default is None:
            raise ESError(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: index is missing for doc 0;",
            )
        wanted = [{"_index": default, "_id": str(i)} for i in body["ids"]]
    elif isinstance(body.get("docs"), list):
        wanted = body["docs"]
    else:
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: no documents to get;",
        )
    for key in body:
        if key not in ("docs", "ids"):
            raise parsing(f"Unknown key for a START_ARRAY in [{key}].")
    store, sec = _state(ctx).store, _state(ctx).security
    answers = []
    for position, spec in enumerate(wanted):
        name = spec.get("_index", default) if isinstance(spec, dict) else None
        doc_id = spec.get("_id") if isinstance(spec, dict) else None
        if name is None or doc_id is None:
            what = "index" if name is None else "id"
            raise ESError(
                400,
                "action_request_validation_exception",
                f"Validation Failed: 1: {what} is missing for doc {position};",
            )
        answers.append(await _get_one(ctx, store, sec, str(name), str(doc_id), spec))
    return {"docs": answers}


async def _get_one(
    ctx: Ctx, store: Any, sec: Any, name: str, doc_id: str, spec: dict[str, Any]
) -> dict[str, Any]:
    try:  # a missing index or a forbidden one fails this document's slot only
        indices = store.resolve(name)
        if not indices:
            raise index_not_found(name)
        sec.require_index(ctx.user, "read", [i.meta.name for i in indices])
    except ESError as err:
        return {"_index": name, "_id": doc_id, "error": err.body()["error"]}
    for index in indices:
        found = await run_in_threadpool(index.get, doc_id)
        if found is not None:
            raw, version, seq = found
            answer: dict[str, Any] = {
                "_index": index.meta.name,
                "_id": doc_id,
                "_version": version,
                "_seq_no": seq,
                "_primary_term": 1,
                "found": True,
            }
            # A doc's own `_source` wins over the request's parameters, as in ES.
            given = {k: v for k, v in spec.items() if k == "_source"}
            includes, excludes = _source_filter(ctx, given)
            if includes is not None:
                source = orjson.loads(raw)
                if includes or excludes:
                    source = filter_source(source, includes, excludes)
                answer["_source"] = source
            return answer
    return {"_index": indices[0].meta.name, "_id": doc_id, "found": False}


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
            or p in state.store.indices
            or p in state.store.state.section("data_streams")
        ]
        expression = ",".join(parts) or "-*"
    indices: list[LogIndex] = state.store.resolve(expression, allow_no_indices=allow_none)
    explicit = all("*" not in p for p in expression.split(",")) and expression not in ("_all", "")
    if explicit:
        state.security.require_index(ctx.user, "read", [i.meta.name for i in indices])
        return indices
    return [i for i in indices if state.security.allowed_index(ctx.user, "read", i.meta.name)]


def _source_filter(ctx: Ctx, body: dict[str, Any]) -> tuple[list[str] | None, list[str]]:
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
    q = ctx.param("q")
    if q is not None:
        qs: dict[str, Any] = {"query": q}
        if ctx.param("df"):
            qs["default_field"] = ctx.param("df")
        if ctx.param("default_operator"):
            qs["default_operator"] = ctx.param("default_operator")
        body = {**body, "query": {"query_string": qs}}
    if ctx.param("sort"):
        body = {**body, "sort": [s for s in str(ctx.param("sort")).split(",") if s]}
    if ctx.param("track_total_hits") is not None:
        value = str(ctx.param("track_total_hits"))
        body = {
            **body,
            "track_total_hits": value == "true" if value in ("true", "false") else int(value),
        }
    return body


def render(
    ctx: Ctx, body: dict[str, Any], res: Searched, n_indices: int, scroll_id: str | None = None
) -> dict[str, Any]:
    includes, excludes = _source_filter(ctx, body)
    sorted_ = bool(res.sort) and res.sort[0].field != "_score"
    hits = [render_hit(h, includes, excludes, sorted_) for h in res.hits]
    track = body.get("track_total_hits", 10_000)
    scores = [h["_score"] for h in hits if h["_score"] is not None]
    hits_obj: dict[str, Any] = {
        "max_score": max(scores) if scores and not sorted_ else None,
        "hits": hits,
    }
    if track is not False:
        limit = res.total if track is True else int(track)
        total: Any = {
            "value": min(res.total, limit),
            "relation": "eq" if res.total <= limit else "gte",
        }
        if ctx.param("rest_total_hits_as_int") == "true":
            total = res.total
        hits_obj = {"total": total, **hits_obj}
    out: dict[str, Any] = {
        "took": ctx.took(),
        "timed_out": False,
        "_shards": shards(n_indices),
        "hits": hits_obj,
    }
    if scroll_id:
        out = {"_scroll_id": scroll_id, **out}
    if res.aggregations is not None:
        typed = ctx.flag("typed_keys") and res.agg_tree is not None
        out["aggregations"] = (
            with_typed_keys(res.agg_tree or [], res.aggregations) if typed else res.aggregations
        )
    return out


async def search(ctx: Ctx) -> dict[str, Any]:
    body = search_body(ctx, await ctx.json())
    indices = read_indices(ctx, ctx.request.path_params.get("index", "_all"))
    return await run_search(ctx, indices, body)


async def run_search(ctx: Ctx, indices: list[LogIndex], body: dict[str, Any]) -> dict[str, Any]:
    """One search on resolved indices: what `_search` answers, and each `_msearch` item."""
    state = _state(ctx)
    await wake(indices)
    size = int(body.get("size", ctx.int_param("size", 10)))
    from_ = int(body.get("from", ctx.int_param("from", 0)))
    started = time.perf_counter()
    scroll = ctx.param("scroll")
    if scroll:
        scroll_id, sctx = state.scrolls.open(indices, body, size, scroll)
        total = await run_in_threadpool(
            lambda: execute(
                indices,
                {**body, "sort": body.get("sort")},
                size=0,
                from_=0,
                searchers=sctx.searchers,
            )
        )
        sctx.total = total.total
        page = await run_in_threadpool(next_page, sctx)
        page.aggregations = total.aggregations
        page.total = total.total
        result = render(ctx, body, page, len(indices), scroll_id)
    else:
        res = await run_in_threadpool(execute, indices, body, size=size, from_=from_)
        result = render(ctx, body, res, len(indices))
    state.metrics.search.observe(time.perf_counter() - started)
    return result


async def scroll_next(ctx: Ctx) -> dict[str, Any]:
    body = await ctx.json()
    scroll_id = (
        body.get("scroll_id") or ctx.param("scroll_id") or ctx.request.path_params.get("scroll_id")
    )
    if not scroll_id:
        raise ESError(
            400, "action_request_validation_exception", "Validation Failed: 1: scrollId is missing;"
        )
    sctx = _state(ctx).scrolls.get(str(scroll_id), body.get("scroll") or ctx.param("scroll"))
    page = await run_in_threadpool(next_page, sctx)
    page.total = sctx.total
    return render(ctx, sctx.body, page, len(sctx.indices), str(scroll_id))


async def clear_scroll(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    body = await ctx.json()
    ids = body.get("scroll_id") or ctx.request.path_params.get("scroll_id") or "_all"
    ids = [ids] if isinstance(ids, str) else list(ids)
    freed = _state(ctx).scrolls.clear(ids)
    return (200 if freed or ids == ["_all"] else 404), {"succeeded": True, "num_freed": freed}


async def count(ctx: Ctx) -> dict[str, Any]:
    body = search_body(ctx, await ctx.json())
    for key in body:  # ES's RestActions.parseTopLevelQuery: `query` only, the rest refused
        if key != "query":
            raise parsing(f"request does not support [{key}]")
    indices = read_indices(ctx, ctx.request.path_params.get("index", "_all"))
    await wake(indices)
    res = await run_in_threadpool(execute, indices, body, size=0, from_=0)
    return {"count": res.total, "_shards": shards(len(indices))}
