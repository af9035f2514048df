"""The `_search`, `_count` and scroll endpoints: URL parameters, request checks, response shape.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-search.html
The checks and their messages are ES's own (SearchRequest.validate, RestSearchAction), made
before the indices are resolved, as there.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from . import can_match, cluster_settings, fetch_fields, highlight, pit, slices
from . import sort as sorting
from .aggmerge import with_typed_keys
from .api_docs import read_indices, wake
from .engine import LogIndex
from .errors import ESError, bad_request, index_not_found, parsing, unsupported
from .http import Ctx, shards
from .scroll import next_page
from .search import MAX_WINDOW, Searched, execute
from .search_checks import (
    check_refused_limits,
    check_request,
    check_shard_phases,
    keep_alive,
    result_window,
    shard_count,
    track_total,
)


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


def search_body(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    """The body with the URL's query parameters that stand for body keys folded in."""
    q = ctx.param("q")
    if q is not None:
        qs: dict[str, Any] = {"query": q}
        for param, key in (
            ("df", "default_field"),
            ("default_operator", "default_operator"),
            ("analyzer", "analyzer"),
            ("lenient", "lenient"),
            ("analyze_wildcard", "analyze_wildcard"),
        ):
            if ctx.param(param) is not None:
                qs[key] = ctx.param(param)
        body = {**body, "query": {"query_string": qs}}
    if ctx.param("sort"):
        body = {**body, "sort": [s for s in str(ctx.param("sort")).split(",") if s]}
    if ctx.param("track_total_hits") is not None:
        value = str(ctx.param("track_total_hits"))
        try:
            track: Any = value == "true" if value in ("true", "false") else int(value)
        except ValueError:
            raise bad_request(
                f"Failed to parse value [{value}] as only [true] or [false] are allowed."
            ) from None
        body = {**body, "track_total_hits": track}
    return body


def render(
    ctx: Ctx, body: dict[str, Any], res: Searched, n_indices: int, scroll_id: str | None = None
) -> dict[str, Any]:
    spec = fetch_fields.parse(ctx.params, body)
    sorted_ = bool(res.sort) and res.sort[0].field != "_score"
    hits = [fetch_fields.render_hit(h, spec, sorted_) for h in res.hits]
    if body.get("highlight") is not None and res.hits:
        _highlight(body, res, hits)
    if sorted_ and any(k.format or k.numeric_type for k in res.sort):
        for hit, found in zip(res.hits, hits, strict=True):
            fields = hit.index.fields
            found["sort"] = [
                sorting.display(v, k, fields.get(k.field))
                for v, k in zip(hit.sort, res.sort, strict=False)
            ]
    bound = track_total(ctx, body)
    scores = [h["_score"] for h in hits if h.get("_score") is not None]
    hits_obj: dict[str, Any] = {
        "max_score": max(scores) if scores and not sorted_ else None,
        "hits": hits,
    }
    if ctx.flag("rest_total_hits_as_int"):
        hits_obj = {"total": -1 if bound is None else res.total, **hits_obj}
    elif bound is not None:
        total = {"value": min(res.total, bound), "relation": "eq" if res.total <= bound else "gte"}
        hits_obj = {"total": total, **hits_obj}
    out: dict[str, Any] = {
        "took": ctx.took(),
        "timed_out": False,
        "_shards": {**shards(n_indices), "skipped": res.skipped},
        "hits": hits_obj,
    }
    if scroll_id:
        out = {"_scroll_id": scroll_id, **out}
    if res.pit_id is not None:
        out = {"pit_id": res.pit_id, **out}
    if res.aggregations is not None:
        typed = ctx.flag("typed_keys") and res.agg_tree is not None
        out["aggregations"] = (
            with_typed_keys(res.agg_tree or [], res.aggregations) if typed else res.aggregations
        )
    return out


def _highlight(body: dict[str, Any], res: Searched, hits: list[dict[str, Any]]) -> None:
    options, wanted = highlight.parse(body["highlight"])
    terms = highlight.Terms()
    highlight.collect(body.get("query"), terms)
    for hit, out in zip(res.hits, hits, strict=True):
        source = orjson.loads(hit.searcher.doc(hit.address)["_source"][0])
        marked = highlight.highlight(source, hit.index.fields, terms, options, wanted)
        if marked:
            out["highlight"] = marked


async def search(ctx: Ctx) -> dict[str, Any]:
    body = search_body(ctx, await ctx.json())
    check_request(ctx, body)
    if body.get("pit") is not None:
        if "index" in ctx.request.path_params:
            raise ESError(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: [indices] cannot be used with point in time. Do not "
                "specify any index with point in time.;",
            )
        return await run_search(ctx, [], body)
    indices = read_indices(ctx, ctx.request.path_params.get("index", "_all"))
    return await run_search(ctx, indices, body)


def lookup(ctx: Ctx) -> Any:
    """A terms lookup's document source (realtime, as ES's GET), after the read check."""
    state = _state(ctx)

    def get(name: str, doc_id: str) -> dict[str, Any] | None:
        indices = state.store.resolve(name)
        if not indices:
            raise index_not_found(name)
        state.security.require_index(ctx.user, "read", [i.meta.name for i in indices])
        for index in indices:
            found = index.get(doc_id)
            if found is not None:
                source: dict[str, Any] = orjson.loads(found[0])
                return source
        return None

    return get


def index_boosts(ctx: Ctx, body: dict[str, Any], indices: list[LogIndex]) -> dict[str, float]:
    """`indices_boost` ([{name: boost}] or {name: boost}): each index's first match wins."""
    spec = body.get("indices_boost")
    if spec is None:
        return {}
    pairs = list(spec.items()) if isinstance(spec, dict) else []
    if isinstance(spec, list):
        for item in spec:
            if not isinstance(item, dict) or len(item) != 1:
                raise parsing(f"[indices_boost] entries must be {{index: boost}}, got {item!r}")
            pairs += list(item.items())
    if not pairs and not isinstance(spec, dict | list):
        raise parsing("[indices_boost] must be an array or an object")
    wanted = {i.meta.name for i in indices}
    boosts: dict[str, float] = {}
    for name, boost in pairs:
        skip = ctx.param("ignore_unavailable") == "true"
        matched = _state(ctx).store.resolve(str(name), ignore_unavailable=skip)
        if not matched and "*" not in str(name) and not skip:
            raise index_not_found(str(name))
        for index in matched:
            if index.meta.name in wanted:
                boosts.setdefault(index.meta.name, float(boost))
    return boosts


async def run_search(ctx: Ctx, indices: list[LogIndex], body: dict[str, Any]) -> dict[str, Any]:
    """One search on resolved indices: what `_search` answers, and each `_msearch` item."""
    state = _state(ctx)
    searchers = None
    pit_id = None
    if body.get("pit") is not None:
        indices, searchers, pit_id = pit.resolve(state, body["pit"])
        body = pit.with_tiebreaker(body)
    await wake(indices)
    size = int(body.get("size", ctx.int_param("size", 10)))
    from_ = int(body.get("from", ctx.int_param("from", 0)))
    window = min([result_window(i) for i in indices] or [MAX_WINDOW])
    started = time.perf_counter()
    scroll = ctx.param("scroll")
    kwargs = {
        "lookup": lookup(ctx),
        "boosts": index_boosts(ctx, body, indices),
        "max_buckets": cluster_settings.max_buckets(state.store),
    }
    for index in indices:
        check_refused_limits(body, index)
        fetch_fields.check_index(
            fetch_fields.parse(ctx.params, body),
            index.meta.name,
            index.meta.settings,
            index.meta.mappings,
        )
    slicer = slices.slicer(body.get("slice"), indices)
    check_shard_phases(ctx, shard_count(indices), len(indices))
    pre_filter = can_match.runs(
        ctx.int_param("pre_filter_shard_size", 0) or None, shard_count(indices)
    ) and not can_match.must_visit_all(body.get("aggs", body.get("aggregations")))
    if scroll:
        if size > window:
            raise bad_request(
                f"Batch size is too large, size must be less than or equal to: [{window}] but "
                f"was [{size}]. Scroll batch sizes cost as much memory as result windows so "
                "they are controlled by the [index.max_result_window] index level setting."
            )
        keep_alive(ctx, scroll)
        scroll_id, sctx = state.scrolls.open(
            indices, fetch_fields.fold(ctx.params, body), size, scroll
        )
        sctx.slicer = slicer
        # The total and the aggregations once, on the scroll's own snapshot; then page one.
        first = await run_in_threadpool(
            lambda: execute(
                indices, body, size=0, from_=0, searchers=sctx.searchers, slicer=slicer, **kwargs
            )
        )
        sctx.total = first.total
        page = await run_in_threadpool(next_page, sctx)
        page.aggregations, page.agg_tree = first.aggregations, first.agg_tree
        result = render(ctx, body, page, shard_count(indices), scroll_id)
    else:
        res = await run_in_threadpool(
            lambda: execute(
                indices,
                body,
                size=size,
                from_=from_,
                searchers=searchers,
                window=window,
                slicer=slicer,
                pre_filter=pre_filter,
                **kwargs,
            )
        )
        res.pit_id = pit_id
        result = render(ctx, body, res, shard_count(indices))
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
    again = body.get("scroll") or ctx.param("scroll")
    if again:
        keep_alive(ctx, again)
    sctx = _state(ctx).scrolls.get(str(scroll_id), again)
    page = await run_in_threadpool(next_page, sctx)
    return render(ctx, sctx.body, page, shard_count(sctx.indices), str(scroll_id))


async def count(ctx: Ctx) -> dict[str, Any]:
    body = search_body(ctx, await ctx.json())
    for key in body:  # ES's RestActions.parseTopLevelQuery: `query` only, the rest refused
        if key != "query":
            raise parsing(f"request does not support [{key}]")
    for param, what in (("min_score", "min_score"), ("terminate_after", "terminate_after")):
        if ctx.param(param) is not None:
            raise unsupported(what)
    indices = read_indices(ctx, ctx.request.path_params.get("index", "_all"))
    await wake(indices)
    res = await run_in_threadpool(
        lambda: execute(indices, body, size=0, from_=0, lookup=lookup(ctx))
    )
    return {"count": res.total, "_shards": shards(shard_count(indices))}


async def clear_scroll(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    body = await ctx.json()
    ids = body.get("scroll_id") or ctx.request.path_params.get("scroll_id") or "_all"
    ids = [ids] if isinstance(ids, str) else list(ids)
    freed = _state(ctx).scrolls.clear(ids)
    return (200 if freed or ids == ["_all"] else 404), {"succeeded": True, "num_freed": freed}


G, P, D = "GET", "POST", "DELETE"
ROUTES = [
    ("/_search", [G, P], search),
    ("/_count", [G, P], count),
    ("/_search/scroll", [G, P], scroll_next),
    ("/_search/scroll", [D], clear_scroll),
    ("/_search/scroll/{scroll_id}", [G, P], scroll_next),
    ("/_search/scroll/{scroll_id}", [D], clear_scroll),
    ("/{index}/_search", [G, P], search),
    ("/{index}/_count", [G, P], count),
]
