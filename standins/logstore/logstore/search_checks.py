"""The checks ES makes on a search request, with its messages: SearchRequest.validate and
RestSearchAction's (before the indices are resolved), and the per-index limits each shard
checks (window sizes, keep-alives).
"""

from __future__ import annotations

from typing import Any

from . import cluster_settings
from .datemath import parse_time_value
from .engine import LogIndex
from .errors import ESError, bad_request, parsing, unsupported
from .http import Ctx
from .search import MAX_WINDOW

_SEARCH_TYPES = ("query_then_fetch", "dfs_query_then_fetch")
# URL parameters of _search that ask for something logstore does not do.
_REFUSED_PARAMS = {
    "explain": "explain",
    "terminate_after": "terminate_after",
    "track_scores": "track_scores",
    "stats": "stats",
    "suggest_field": "suggest",
    "suggest_text": "suggest",
}
ACCURATE = 2**31 - 1  # track_total_hits: true (and -1)


def check_request(ctx: Ctx, body: dict[str, Any]) -> None:
    for param, what in _REFUSED_PARAMS.items():
        value = ctx.param(param)
        if value not in (None, "false", "0"):
            raise unsupported(what)
    search_type = ctx.param("search_type")
    if search_type in ("query_and_fetch", "dfs_query_and_fetch"):
        raise bad_request(f"Unsupported search type [{search_type}]")
    if search_type is not None and search_type not in _SEARCH_TYPES:
        raise bad_request(f"No search type for [{search_type}]")
    problems = []
    if ctx.int_param("batched_reduce_size", 512) < 2:
        problems.append("batchedReduceSize must be >= 2")
    if ctx.int_param("pre_filter_shard_size", 1) < 1:
        problems.append("preFilterShardSize must be >= 1")
    scroll = ctx.param("scroll")
    size = body.get("size", ctx.int_param("size", 10))
    if scroll:
        if size == 0:
            problems.append("[size] cannot be [0] in a scroll context")
        if ctx.param("request_cache") == "true":
            problems.append("[request_cache] cannot be used in a scroll context")
        if body.get("search_after") is not None:
            problems.append("`search_after` cannot be used in a scroll context.")
        if int(body.get("from", ctx.int_param("from", 0)) or 0) > 0:
            problems.append("using [from] is not allowed in a scroll context")
        if body.get("pit") is not None:
            problems.append("using [point in time] is not allowed in a scroll context")
    else:
        if body.get("search_after") is not None and int(body.get("from", 0) or 0) > 0:
            problems.append("[from] parameter must be set to 0 when [search_after] is used")
        if body.get("slice") is not None and body.get("pit") is None:
            problems.append("[slice] can only be used with [scroll] or [point-in-time] requests")
    if problems:
        numbered = "".join(f"{n}: {p};" for n, p in enumerate(problems, 1))
        raise ESError(400, "action_request_validation_exception", f"Validation Failed: {numbered}")
    track_total(ctx, body)


def track_total(ctx: Ctx, body: dict[str, Any]) -> int | None:
    """track_total_hits as a bound (None: not tracked), checked as ES checks it."""
    track = body.get("track_total_hits")
    if track is None:
        bound: int | None = ACCURATE if ctx.flag("rest_total_hits_as_int") else 10_000
    elif track is True:
        bound = ACCURATE
    elif track is False:
        bound = None
    elif isinstance(track, int):
        if track < -1:
            raise bad_request(
                f"[track_total_hits] parameter must be positive or equals to -1, got {track}"
            )
        bound = ACCURATE if track == -1 else track
    else:
        raise parsing(f"[track_total_hits] must be a boolean or a number, got {track!r}")
    if ctx.flag("rest_total_hits_as_int") and bound is not None and bound != ACCURATE:
        raise bad_request(
            "[rest_total_hits_as_int] cannot be used if the tracking of total hits is not "
            f"accurate, got {track}"
        )
    return bound


def check_refused_limits(body: dict[str, Any], index: LogIndex) -> None:
    """ES checks these index limits before anything else looks at the rescore or the script
    fields; logstore serves neither (search.py refuses them by name), but answers a request
    over the limit as ES does."""
    settings = index.meta.settings
    rescores = body.get("rescore")
    limit = int(settings.get("index.max_rescore_window", MAX_WINDOW))
    for item in rescores if isinstance(rescores, list) else [rescores] if rescores else []:
        window = item.get("window_size", 10) if isinstance(item, dict) else 10
        if isinstance(window, int) and window > limit:
            raise bad_request(
                f"Rescore window [{window}] is too large. It must be less than [{limit}]. This "
                "prevents allocating massive heaps for storing the results to be rescored. This "
                "limit can be set by changing the [index.max_rescore_window] index level setting."
            )
    scripts = body.get("script_fields")
    limit = int(settings.get("index.max_script_fields", 32))
    if isinstance(scripts, dict) and len(scripts) > limit:
        raise bad_request(
            "Trying to retrieve too many script_fields. Must be less than or equal to: "
            f"[{limit}] but was [{len(scripts)}]. This limit can be set by changing the "
            "[index.max_script_fields] index level setting."
        )


def check_shard_phases(ctx: Ctx, shard_total: int, n_indices: int) -> None:
    """Logstore searches each index in one piece: ES's partial reduces (reported as
    `num_reduce_phases`) would run only over more shards than these say, and a `routing`
    would search only some of the shards; refused there rather than answered as if the index
    had one shard."""
    value = ctx.param("batched_reduce_size")
    if value is not None and ctx.int_param("batched_reduce_size", 0) < shard_total:
        raise unsupported(
            f"batched_reduce_size below the number of shards searched ({shard_total})"
        )
    if ctx.param("routing") and shard_total > n_indices:
        raise unsupported("routing on a search of an index with several shards")


def keep_alive(ctx: Ctx, value: Any) -> None:
    """A scroll's or point in time's keep_alive, within `search.max_keep_alive`."""
    seconds = parse_time_value(value, key="keep_alive")
    cluster_settings.check_keep_alive(ctx.request.app.state.store, seconds * 1000)


def shard_count(indices: list[LogIndex]) -> int:
    """The shards the indices declare (`_shards.total`; logstore keeps each in one piece)."""
    return sum(max(1, int(i.meta.settings.get("index.number_of_shards", 1) or 1)) for i in indices)


def result_window(index: LogIndex) -> int:
    return int(index.meta.settings.get("index.max_result_window", MAX_WINDOW))
