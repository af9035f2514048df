"""Elasticsearch APIs logstore does not serve, refused by name.

Without these routes a request to one of them would reach no handler, or worse, a served
route with a path parameter (`GET /_stats` is `GET /{index}` for an index named `_stats`,
an index_not_found answer that hides what was asked). Each answers a 400 naming the API
(errors.unsupported), whatever its method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .errors import unsupported
from .http import Ctx

EVERY_METHOD = ["GET", "POST", "PUT", "DELETE", "HEAD"]

# path patterns -> what the refusal names (listed in the API table of docs/logstore.md)
UNSERVED: dict[str, tuple[str, ...]] = {
    "index statistics (`_stats`)": (
        "/_stats", "/_stats/{metric}", "/{index}/_stats", "/{index}/_stats/{metric}",
    ),
    "`_reindex`": ("/_reindex",),
    "`_update_by_query`": ("/{index}/_update_by_query",),
    "ingest pipelines (`_ingest`)": (
        "/_ingest/pipeline", "/_ingest/pipeline/{id}", "/_ingest/pipeline/{id}/_simulate",
    ),
    "the task management API (`_tasks`)": ("/_tasks", "/_tasks/{task_id}"),
    "`_analyze`": ("/_analyze", "/{index}/_analyze"),
    "`_validate/query`": ("/_validate/query", "/{index}/_validate/query"),
    "`_explain`": ("/{index}/_explain/{id}",),
    "term vectors (`_termvectors`)": ("/{index}/_termvectors", "/{index}/_termvectors/{id}"),
    "`_forcemerge`": ("/_forcemerge", "/{index}/_forcemerge"),
    "`_shrink`, `_split` and index `_clone`": (
        "/{index}/_shrink/{target}", "/{index}/_split/{target}", "/{index}/_clone/{target}",
    ),
    "the rollover API (`_rollover`; ILM rolls data streams over)": (
        "/{index}/_rollover", "/{index}/_rollover/{new_index}",
    ),
    "search templates": (
        "/_search/template", "/{index}/_search/template", "/_msearch/template",
        "/{index}/_msearch/template", "/_render/template",
    ),
    "`_async_search`": ("/_async_search", "/{index}/_async_search", "/_async_search/{id}"),
    "SQL (`_sql`)": ("/_sql", "/_sql/translate"),
    "EQL (`_eql`)": ("/{index}/_eql/search",),
    "`_cluster/state`": ("/_cluster/state", "/_cluster/state/{metric}"),
    "`_cluster/stats`": ("/_cluster/stats",),
    "`_cluster/allocation/explain`": ("/_cluster/allocation/explain",),
    "`_cluster/reroute`": ("/_cluster/reroute",),
    "`_cluster/pending_tasks`": ("/_cluster/pending_tasks",),
    "`_segments`": ("/_segments", "/{index}/_segments"),
    "`_cache/clear`": ("/_cache/clear", "/{index}/_cache/clear"),
    "`_flush`": ("/_flush", "/{index}/_flush"),
    "`_resolve/index`": ("/_resolve/index/{name}",),
    "`_shard_stores`": ("/_shard_stores", "/{index}/_shard_stores"),
    "`_disk_usage`": ("/{index}/_disk_usage",),
}  # fmt: skip


def _refusal(what: str) -> Callable[[Ctx], Awaitable[Any]]:
    async def refuse(ctx: Ctx) -> Any:
        raise unsupported(what)

    return refuse


ROUTES: list[tuple[str, list[str], Any]] = [
    (path, EVERY_METHOD, _refusal(what)) for what, paths in UNSERVED.items() for path in paths
]
