"""Scroll contexts: `helpers.scan` pages through a pinned, point-in-time view of the indices.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/paginate-search-results.html#scroll-search-results
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import tantivy

from .datemath import parse_time_value
from .engine import LogIndex
from .search import Hit, Q_and, Searched, execute, translator
from .search_contexts import Contexts
from .slices import Slicer
from .sort import SortKey, is_fast, parse_sort


@dataclass
class ScrollContext:
    indices: list[LogIndex]
    searchers: dict[str, tantivy.Searcher]
    body: dict[str, Any]
    size: int
    keep_alive: float
    expires: float
    total: int = 0
    position: int = 0  # which index, for _doc order
    last_seq: int = -1
    after: list[Any] | None = None
    done: bool = False
    slicer: Slicer | None = None  # a sliced scroll's share of each index
    ordered: list[Hit] | None = None  # every hit, when the sort is done here (sort.py)
    served: int = 0  # of `ordered`
    lock: threading.Lock = field(default_factory=threading.Lock)


class Scrolls(Contexts[ScrollContext]):
    def open(
        self, indices: list[LogIndex], body: dict[str, Any], size: int, keep_alive: str
    ) -> tuple[str, ScrollContext]:
        seconds = parse_time_value(keep_alive, key="scroll")
        scroll_id = secrets.token_urlsafe(24)

        def pin() -> ScrollContext:
            return ScrollContext(
                indices,
                {i.meta.name: i.searcher() for i in indices},
                body,
                size,
                seconds,
                time.monotonic() + seconds,
            )

        return scroll_id, self.add(scroll_id, pin)

    def get(self, scroll_id: str, keep_alive: str | None) -> ScrollContext:
        ctx = self.find(scroll_id)
        if keep_alive:
            return self.renew(ctx, parse_time_value(keep_alive, key="scroll"))
        return self.renew(ctx, None)

    def clear(self, ids: list[str]) -> int:
        return self.remove(None if ids == ["_all"] else ids)


def next_page(ctx: ScrollContext) -> Searched:
    with ctx.lock:
        sort = parse_sort(ctx.body.get("sort"))
        if sort and sort[0].field != "_doc":
            return _sorted_page(ctx, sort)
        return _doc_page(ctx)


def _sorted_page(ctx: ScrollContext, sort: list[SortKey]) -> Searched:
    """The next page of a sorted scroll. Pages continue from the last hit's sort values and
    `_shard_doc`, so that documents tied on the sort are neither skipped nor repeated (the
    hits show the sort they asked for). A sort tantivy cannot order itself (sort.py) is
    sorted whole once, and paged from that."""
    tiebreak = all(k.field != "_shard_doc" for k in sort)
    body = dict(ctx.body)
    if tiebreak:
        body["sort"] = [
            *(ctx.body["sort"] if isinstance(ctx.body["sort"], list) else [ctx.body["sort"]]),
            "_shard_doc",
        ]
    if ctx.ordered is None and not _fast_first(ctx, sort[0]):
        whole = execute(
            ctx.indices,
            body,
            size=max(ctx.total, 1),
            from_=0,
            searchers=ctx.searchers,
            slicer=ctx.slicer,
            window=max(ctx.total, 1),
        )
        ctx.ordered = whole.hits
    if ctx.ordered is not None:
        hits = ctx.ordered[ctx.served : ctx.served + ctx.size]
        ctx.served += len(hits)
        result = Searched(hits, ctx.total, None, sort)
    else:
        if ctx.after is not None:
            body["search_after"] = ctx.after
        result = execute(
            ctx.indices,
            body,
            size=ctx.size,
            from_=0,
            searchers=ctx.searchers,
            slicer=ctx.slicer,
        )
        if result.hits:
            ctx.after = list(result.hits[-1].sort)
    if tiebreak:
        for hit in result.hits:
            hit.sort = hit.sort[: len(sort)]
        result.sort = sort
    result.total = ctx.total
    return result


def _fast_first(ctx: ScrollContext, key: SortKey) -> bool:
    return key.missing == "_last" and all(is_fast(translator(i), key) for i in ctx.indices)


def _doc_page(ctx: ScrollContext) -> Searched:
    hits: list[Hit] = []
    while len(hits) < ctx.size and ctx.position < len(ctx.indices):
        index = ctx.indices[ctx.position]
        searcher = ctx.searchers[index.meta.name]
        tr = translator(index)
        query = tr.translate(ctx.body.get("query", {"match_all": {}}))
        if ctx.slicer is not None:
            query = Q_and(query, ctx.slicer(index, searcher))
        after = tantivy.Query.range_query(
            index.schema, "_seq", tantivy.FieldType.Integer, ctx.last_seq, None, False, True
        )
        res = searcher.search(
            Q_and(query, after),
            ctx.size - len(hits),
            order_by_field="_seq",
            order=tantivy.Order.Asc,
        )
        for seq, addr in res.hits:
            hits.append(Hit((seq,), index, searcher, addr, None))
            ctx.last_seq = int(seq)
        if len(hits) < ctx.size:
            ctx.position += 1
            ctx.last_seq = -1
    return Searched(hits, ctx.total, None, [])
