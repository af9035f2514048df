"""Point in time: `POST /{index}/_pit?keep_alive=1m` pins the indices as they are, searches
name it (`pit: {id, keep_alive}`, no index in the path) and page with `search_after`;
`DELETE /_pit` frees it. Kibana 8 and ElastAlert page this way.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/point-in-time-api.html
A point in time holds one tantivy searcher per index, opened when it was: later writes, and
refreshes, are not seen through it. Its sort gets ES's implicit `_shard_doc` tiebreaker.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any

import tantivy

from .cluster_settings import check_keep_alive
from .datemath import parse_time_value
from .engine import LogIndex
from .errors import parsing, validation_failed
from .http import Ctx, shards
from .search_contexts import Contexts


@dataclass
class PointInTime:
    indices: list[LogIndex]
    searchers: dict[str, tantivy.Searcher]
    keep_alive: float
    expires: float


class Pits(Contexts[PointInTime]):
    def open(self, indices: list[LogIndex], keep_alive: str) -> str:
        seconds = parse_time_value(keep_alive, key="keep_alive")
        # ES's ids are base64 (the official client passes them through as they are).
        pit_id = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()

        def pin() -> PointInTime:
            searchers = {i.meta.name: i.searcher() for i in indices}
            return PointInTime(indices, searchers, seconds, time.monotonic() + seconds)

        self.add(pit_id, pin)
        return pit_id

    def get(self, pit_id: str, keep_alive: Any) -> PointInTime:
        found = self.find(pit_id)
        if keep_alive is None:
            return self.renew(found, None)
        return self.renew(found, parse_time_value(keep_alive, key="keep_alive"))

    def close(self, ids: list[str]) -> int:
        return self.remove(ids)


def pits(state: Any) -> Pits:
    found: Pits | None = getattr(state, "pits", None)
    if found is None:
        found = Pits()
        state.pits = found
    return found


def resolve(state: Any, spec: Any) -> tuple[list[LogIndex], dict[str, tantivy.Searcher], str]:
    """A search's `pit`: its indices, their pinned searchers, and its id."""
    if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
        raise parsing("[pit] requires an [id]")
    for key in spec:
        if key not in ("id", "keep_alive"):
            raise parsing(f"[pit] unknown field [{key}]")
    if spec.get("keep_alive") is not None:
        seconds = parse_time_value(spec["keep_alive"], key="keep_alive")
        check_keep_alive(state.store, seconds * 1000)
    found = pits(state).get(spec["id"], spec.get("keep_alive"))
    return found.indices, found.searchers, spec["id"]


def with_tiebreaker(body: dict[str, Any]) -> dict[str, Any]:
    """ES adds `_shard_doc` to a point-in-time search's sort, unless the sort has it."""
    sort = body.get("sort")
    if sort is None:
        return body
    items = sort if isinstance(sort, list) else [sort]
    names = [i if isinstance(i, str) else next(iter(i), None) for i in items]
    if "_shard_doc" in names or any(
        isinstance(n, str) and n.startswith("_shard_doc:") for n in names
    ):
        return body
    return {**body, "sort": [*items, "_shard_doc"]}


async def open_pit(ctx: Ctx) -> dict[str, Any]:
    from .api_docs import read_indices

    keep_alive = ctx.param("keep_alive")
    if not keep_alive:
        raise validation_failed("[keep_alive] is not specified")
    seconds = parse_time_value(keep_alive, key="keep_alive")
    check_keep_alive(ctx.request.app.state.store, seconds * 1000)
    indices = read_indices(ctx, ctx.request.path_params["index"])
    pit_id = pits(ctx.request.app.state).open(indices, keep_alive)
    return {"id": pit_id, "_shards": shards(len(indices))}


async def close_pit(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    body = await ctx.json()
    pit_id = body.get("id")
    if not isinstance(pit_id, str) or not pit_id:
        raise validation_failed("[id] is not specified")
    freed = pits(ctx.request.app.state).close([pit_id])
    return (200 if freed else 404), {"succeeded": True, "num_freed": freed}


G, P, D = "GET", "POST", "DELETE"
ROUTES = [
    ("/{index}/_pit", [P], open_pit),
    ("/_pit", [D], close_pit),
]
