"""`_msearch`: several searches in one NDJSON request (Grafana's Elasticsearch datasource sends
every panel query this way).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-multi-search.html
The body is header/body line pairs; the header is read as ES's MultiSearchRequest reads it
(an unknown key fails the whole request). Each search runs as `_search` would, with the same
`read` privilege check, and answers in its own slot: one failing search (a missing index, a
refused query) is an `{"error", "status"}` item and does not fail the others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson

from .api_docs import read_indices
from .api_search import run_search
from .errors import ESError
from .http import Ctx
from .search_checks import track_total

# Query parameters _msearch takes. Those that cannot change a single node's answer are
# accepted; `rest_total_hits_as_int` and `typed_keys` shape each response (http.Ctx reads them).
_PARAMS = {
    "allow_no_indices",
    "ccs_minimize_roundtrips",
    "expand_wildcards",
    "ignore_throttled",
    "ignore_unavailable",
    "max_concurrent_searches",
    "max_concurrent_shard_requests",
    "pre_filter_shard_size",
    "rest_total_hits_as_int",
    "routing",
    "search_type",
    "typed_keys",
    "pretty",
    "human",
    "error_trace",
}
# Header keys, with the camelCase spellings ES also reads.
_HEADER_ALIASES = {
    "indices": "index",
    "searchType": "search_type",
    "ccsMinimizeRoundtrips": "ccs_minimize_roundtrips",
    "requestCache": "request_cache",
    "expandWildcards": "expand_wildcards",
    "ignoreUnavailable": "ignore_unavailable",
    "allowNoIndices": "allow_no_indices",
    "ignoreThrottled": "ignore_throttled",
}
_HEADER_KEYS = {
    "index",
    "search_type",
    "ccs_minimize_roundtrips",
    "request_cache",
    "preference",
    "routing",
    "allow_partial_search_results",
    "expand_wildcards",
    "ignore_unavailable",
    "allow_no_indices",
    "ignore_throttled",
}
_SEARCH_TYPES = ("query_then_fetch", "dfs_query_then_fetch")
# Every logstore index is open and wildcards never match hidden (dot) indices, so only these
# expand_wildcards values mean what logstore does.
_WILDCARD_STATES = {"open", "closed"}


@dataclass
class Item:
    expression: str
    ignore_unavailable: bool | None
    allow_no_indices: bool | None
    body: dict[str, Any]


def _bad(reason: str) -> ESError:
    return ESError(400, "illegal_argument_exception", reason)


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise _bad(f"Failed to parse value [{value}] as only [true] or [false] are allowed for [{key}]")


def _check_search_type(value: Any) -> None:
    if value is not None and value not in _SEARCH_TYPES:
        raise _bad(f"No search type for [{value}]")


def _check_expand_wildcards(value: Any) -> None:
    if value is None:
        return
    states = value if isinstance(value, list) else str(value).split(",")
    for state in states:
        if state not in _WILDCARD_STATES:
            raise _bad(
                f"expand_wildcards [{state}] is not supported by logstore (wildcards match open, "
                "non-hidden indices only): use [open]"
            )


def parse_params(ctx: Ctx) -> int:
    """Validate the query parameters; the bound on concurrent searches."""
    for key in ctx.params:
        if key not in _PARAMS:
            raise _bad(f"request [{ctx.request.url.path}] contains unrecognized parameter: [{key}]")
    _check_search_type(ctx.param("search_type"))
    _check_expand_wildcards(ctx.param("expand_wildcards"))
    for key in ("typed_keys", "rest_total_hits_as_int", "ignore_unavailable", "allow_no_indices"):
        if ctx.param(key) not in (None, ""):
            _bool(key, ctx.param(key))
    limit = ctx.int_param("max_concurrent_searches", 4)
    if limit < 1:
        raise _bad("maxConcurrentSearches must be positive")
    return limit


def parse_lines(raw: bytes, default_index: str) -> list[Item]:
    """Header/body pairs, as ES's MultiSearchRequest.readMultiLineFormat reads them."""
    if raw and not raw.endswith(b"\n"):
        raise _bad("The msearch request must be terminated by a newline [\\n]")
    lines = raw.split(b"\n")[:-1] if raw else []
    items = []
    for n in range(0, len(lines) - 1, 2):  # a header without its body line is dropped, as in ES
        header = _object(lines[n], n + 1) if lines[n].strip() else {}
        body = _object(lines[n + 1], n + 2) if lines[n + 1].strip() else {}
        items.append(_item(header, body, default_index))
    if not items:
        raise ESError(
            400, "action_request_validation_exception", "Validation Failed: 1: no requests added;"
        )
    return items


def _object(line: bytes, number: int) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ESError(
            400, "x_content_parse_exception", f"[{number}:1] line {number} of _msearch: {exc}"
        ) from None
    if not isinstance(value, dict):
        raise ESError(
            400,
            "parsing_exception",
            f"line {number} of _msearch must be a JSON object, got {type(value).__name__}",
        )
    return value


def _item(header: dict[str, Any], body: dict[str, Any], default_index: str) -> Item:
    options: dict[str, Any] = {}
    for key, value in header.items():
        name = _HEADER_ALIASES.get(key, key)
        if name not in _HEADER_KEYS:
            raise _bad(f"key [{key}] is not supported in the metadata section")
        options[name] = value
    _check_search_type(options.get("search_type"))
    _check_expand_wildcards(options.get("expand_wildcards"))
    index = options.get("index", default_index)
    expression = ",".join(index) if isinstance(index, list) else str(index)
    flags = {
        key: None if options.get(key) is None else _bool(key, options[key])
        for key in ("ignore_unavailable", "allow_no_indices")
    }
    return Item(expression or "_all", flags["ignore_unavailable"], flags["allow_no_indices"], body)


async def _one(ctx: Ctx, item: Item, gate: asyncio.Semaphore) -> dict[str, Any]:
    async with gate:
        try:
            indices = read_indices(
                ctx,
                item.expression,
                ignore_unavailable=item.ignore_unavailable,
                allow_no_indices=item.allow_no_indices,
            )
            result = await run_search(ctx, indices, item.body)
        except ESError as exc:
            return exc.body()
    return {**result, "status": 200}


async def msearch(ctx: Ctx) -> dict[str, Any]:
    limit = parse_params(ctx)
    items = parse_lines(await ctx.raw(), ctx.request.path_params.get("index", "_all"))
    for item in items:  # ES checks this for the whole request, before any search
        track_total(ctx, item.body)
    gate = asyncio.Semaphore(limit)
    responses = await asyncio.gather(*(_one(ctx, item, gate) for item in items))
    return {"took": ctx.took(), "responses": list(responses)}
