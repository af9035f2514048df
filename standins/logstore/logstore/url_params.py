"""Refuse URL parameters an API does not know, as Elasticsearch's BaseRestHandler does.

ES answers `400 illegal_argument_exception` "request [/_search] contains unrecognized
parameter: [bogus]" (with "-> did you mean [x]?" for a close name) instead of ignoring a
misspelt option; logstore does the same for the APIs below, so a typo never yields a silent
answer to another question. The allowlists are Elasticsearch 8's parameters of each API (the
REST API specs plus the 8.x additions clients send), written here rather than read from the
vendored 7.10 specs, which are test data. Being in a list only means "recognised": an
option logstore does not act on is refused by name (or documented) by its handler.

Handlers are keyed by "<module>.<function>" so this module imports none of them; an API
not listed here is not checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .errors import ESError, unsupported
from .http import Ctx

Handler = Callable[[Ctx], Awaitable[Any]]

# Consumed for every request by ES's RestController / AbstractRestChannel / RestRequest.
_COMMON = frozenset(
    {"pretty", "human", "error_trace", "filter_path", "format", "source", "source_content_type"}
)
_SOURCE = {"_source", "_source_excludes", "_source_includes"}
_INDICES_OPTIONS = {"allow_no_indices", "expand_wildcards", "ignore_unavailable"}
_QUERY_STRING = {"q", "df", "default_operator", "analyzer", "analyze_wildcard", "lenient"}

_SEARCH = (
    _SOURCE
    | _INDICES_OPTIONS
    | _QUERY_STRING
    | {
        "allow_partial_search_results", "batched_reduce_size", "ccs_minimize_roundtrips",
        "docvalue_fields", "explain", "force_synthetic_source", "from", "ignore_throttled",
        "include_named_queries_score", "max_concurrent_shard_requests",
        "min_compatible_shard_node", "pre_filter_shard_size", "preference", "request_cache",
        "rest_total_hits_as_int", "routing", "scroll", "search_type", "seq_no_primary_term",
        "size", "sort", "stats", "stored_fields", "suggest_field", "suggest_mode",
        "suggest_size", "suggest_text", "terminate_after", "timeout", "track_scores",
        "track_total_hits", "typed_keys", "version",
    }
)  # fmt: skip
_COUNT = (
    _INDICES_OPTIONS
    | _QUERY_STRING
    | {"ignore_throttled", "min_score", "preference", "routing", "terminate_after"}
)
_MSEARCH = _INDICES_OPTIONS | {
    "ccs_minimize_roundtrips", "ignore_throttled", "include_named_queries_score",
    "max_concurrent_searches", "max_concurrent_shard_requests", "pre_filter_shard_size",
    "rest_total_hits_as_int", "routing", "search_type", "typed_keys",
}  # fmt: skip
_BULK = _SOURCE | {
    "list_executed_pipelines", "pipeline", "refresh", "require_alias", "require_data_stream",
    "routing", "timeout", "wait_for_active_shards",
}  # fmt: skip
_WRITE = {"refresh", "routing", "timeout", "wait_for_active_shards"}
# index and create share the handler: RestCreateAction also reads `op_type` (to refuse
# anything but "create").
_INDEX = _WRITE | {
    "if_primary_term", "if_seq_no", "include_source_on_error", "op_type", "pipeline",
    "require_alias", "require_data_stream", "version", "version_type",
}  # fmt: skip
_UPDATE = _SOURCE | _WRITE | {
    "if_primary_term", "if_seq_no", "include_source_on_error", "lang", "require_alias",
    "retry_on_conflict",
}  # fmt: skip
_DELETE = _WRITE | {"if_primary_term", "if_seq_no", "version", "version_type"}
_GET = _SOURCE | {
    "force_synthetic_source", "preference", "realtime", "refresh", "routing", "stored_fields",
    "version", "version_type",
}  # fmt: skip
_MGET = _SOURCE | {
    "force_synthetic_source", "preference", "realtime", "refresh", "routing", "stored_fields",
}  # fmt: skip
_DELETE_BY_QUERY = (
    _INDICES_OPTIONS
    | _QUERY_STRING
    | {
        "conflicts", "from", "max_docs", "preference", "refresh", "request_cache",
        "requests_per_second", "routing", "scroll", "scroll_size", "search_timeout",
        "search_type", "slices", "sort", "stats", "terminate_after", "timeout", "version",
        "wait_for_active_shards", "wait_for_completion",
    }
)  # fmt: skip
# The _cat response parameters (RestTable) plus each API's own.
_CAT = {"format", "h", "help", "s", "v", "bytes", "size", "time", "ts", "pri"}
_CAT_INDICES = _CAT | {
    "expand_wildcards", "health", "include_unloaded_segments", "local", "master_timeout",
}  # fmt: skip
_CLUSTER_HEALTH = {
    "expand_wildcards", "level", "local", "master_timeout", "timeout", "wait_for_active_shards",
    "wait_for_events", "wait_for_no_initializing_shards", "wait_for_no_relocating_shards",
    "wait_for_nodes", "wait_for_status",
    "return_200_for_cluster_health_timeout",  # 7.16's, which logstore still honours
}  # fmt: skip

ALLOWED: dict[str, frozenset[str]] = {
    name: _COMMON | params
    for name, params in {
        "api_search.search": _SEARCH,
        "api_search.count": _COUNT,
        "api_msearch.msearch": _MSEARCH,
        "api_docs.bulk": _BULK,
        "api_write.index_doc": _INDEX,
        "api_write.update_doc": _UPDATE,
        "api_write.delete_doc": _DELETE,
        "api_get.get_doc": _GET,
        "api_get.mget": _MGET,
        "api_delete_by_query.delete_by_query": _DELETE_BY_QUERY,
        "api_cat.cat_indices": _CAT_INDICES,
        "api_cat.cat_health": _CAT,
        "api_cluster.cluster_health": _CLUSTER_HEALTH,
        "api_admin.refresh": _INDICES_OPTIONS,
    }.items()
}
# The APIs whose answer logstore renders in another format than JSON (_cat's text table).
_FORMATTED = {"api_cat.cat_indices", "api_cat.cat_health"}
_TRUE = ("", "true")
# Recognised parameters whose effect logstore does not have and no handler looks at: refused
# by name (the `None` values: whatever the value), not answered as if they were absent.
_UNSERVED: dict[str, tuple[tuple[str, tuple[str, ...] | None, str], ...]] = {
    "api_search.search": (
        ("include_named_queries_score", _TRUE, "include_named_queries_score (query scores)"),
    ),
    "api_msearch.msearch": (
        ("include_named_queries_score", _TRUE, "include_named_queries_score (query scores)"),
    ),
    "api_docs.bulk": (
        ("require_data_stream", _TRUE, "require_data_stream"),
        ("list_executed_pipelines", _TRUE, "list_executed_pipelines (no ingest pipelines)"),
    ),
    "api_write.index_doc": (("require_data_stream", _TRUE, "require_data_stream"),),
    "api_delete_by_query.delete_by_query": (
        ("terminate_after", None, "terminate_after in _delete_by_query"),
    ),
}


def _similarity(a: str, b: str) -> float:
    """Lucene's LevenshteinDistance.getDistance: 1 - edits / the longer length."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - previous[-1] / longest


def unrecognized(path: str, invalid: set[str], candidates: frozenset[str]) -> ESError:
    """ES's message: the names sorted, each with the candidates more than half similar."""
    parts = []
    for name in sorted(invalid):
        scored = sorted((-_similarity(name, c), c) for c in candidates)
        close = [c for s, c in scored if -s > 0.5]
        part = f"[{name}]"
        if len(close) == 1:
            part += f" -> did you mean [{close[0]}]?"
        elif close:
            part += f" -> did you mean any of [{', '.join(close)}]?"
        parts.append(part)
    plural = "s" if len(invalid) > 1 else ""
    reason = f"request [{path}] contains unrecognized parameter{plural}: {', '.join(parts)}"
    return ESError(400, "illegal_argument_exception", reason)


def checked(handler: Handler) -> Handler:
    """The handler, preceded by the parameter check when its API has an allowlist."""
    key = f"{handler.__module__.rsplit('.', 1)[-1]}.{handler.__qualname__}"
    allowed = ALLOWED.get(key)
    if allowed is None:
        return handler
    formatted = key in _FORMATTED
    unserved = _UNSERVED.get(key, ())

    async def run(ctx: Ctx) -> Any:
        names = ctx.request.query_params.keys()
        if names:
            invalid = {n for n in names if n not in allowed}
            if invalid:
                raise unrecognized(ctx.request.url.path, invalid, allowed)
            params = ctx.request.query_params
            fmt = params.get("format")
            if fmt is not None and not formatted and fmt.lower() not in ("", "json"):
                raise unsupported(f"format [{fmt}] (logstore answers JSON)")
            if "source" in params:  # ES reads it as the request body
                raise unsupported("the `source` parameter (send the request body instead)")
            for name, values, what in unserved:
                value = params.get(name)
                if value is not None and (values is None or value in values):
                    raise unsupported(what)
        return await handler(ctx)

    return run
