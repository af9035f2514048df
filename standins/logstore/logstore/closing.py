"""Closing and opening indices.

Close: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-close.html
Open: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-open.html

A closed index keeps its documents, settings and mappings (its state is `IndexMeta.state`,
saved in index.json, so it survives a restart); reads and writes naming it answer ES's
index_closed_exception, wildcards skip it unless `expand_wildcards` says `closed`.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from . import cluster_settings, indexopts
from .errors import ESError
from .http import Ctx


def _targets(ctx: Ctx, default_states: str) -> list[Any]:
    state = ctx.request.app.state
    indices = indexopts.resolve(
        ctx, ctx.request.path_params["index"], default_states=default_states
    )
    state.security.require_index(ctx.user, "manage", [i.meta.name for i in indices])
    return indices


def _set_state(store: Any, index: Any, new: str) -> None:
    if new == "close":
        index.refresh()  # what was acknowledged is committed, as ES flushes before closing
    with index.lock:
        index.meta.state = new
        store.save_meta(index)


async def close_index(ctx: Ctx) -> dict[str, Any]:
    store = ctx.request.app.state.store
    # ES 8 counts closing as destructive, as DELETE /{index}
    cluster_settings.refuse_wildcards(store, ctx.request.path_params["index"])
    indices = _targets(ctx, "open")
    streams = store.state.section("data_streams")
    writing = sorted(
        i.meta.name
        for i in indices
        if i.meta.data_stream in streams
        and streams[i.meta.data_stream]["indices"][-1:] == [i.meta.name]
    )
    if writing:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"cannot close the following data stream write indices [{','.join(writing)}]",
        )
    for index in indices:
        await run_in_threadpool(_set_state, store, index, "close")
    return {
        "acknowledged": True,
        "shards_acknowledged": True,
        "indices": {i.meta.name: {"closed": True} for i in indices},
    }


async def open_index(ctx: Ctx) -> dict[str, Any]:
    store = ctx.request.app.state.store
    for index in _targets(ctx, "closed"):
        await run_in_threadpool(_set_state, store, index, "open")
    return {"acknowledged": True, "shards_acknowledged": True}


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/{index}/_close", ["POST"], close_index),
    ("/{index}/_open", ["POST"], open_index),
]
