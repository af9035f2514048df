"""Applying parsed bulk items: security and target checks, grouped writes per index.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-bulk.html

Index, create and delete items are written per index in one batch (one WAL fsync). An update
reads the document, so the items before it are written first (ES applies a shard's items in
order), then it is written on its own (updates.py).
"""

from __future__ import annotations

from typing import Any

from . import datemath
from .aliases import require_alias_error
from .bulkparse import Item, _item_error
from .engine import LogIndex
from .errors import ESError
from .http import Ctx
from .indexmeta import WriteOp
from .updates import update_item
from .versioning import Condition


def _target(ctx: Ctx, name: str, action: str, *, require_alias: bool | None = None) -> LogIndex:
    """`require_alias`: the item's flag (bulk), else the request's `require_alias`."""
    state = ctx.request.app.state
    sec = state.security
    if require_alias is None:
        require_alias = ctx.param("require_alias") == "true"
    if require_alias and action != "delete" and not state.store.aliases.exists(name):
        raise require_alias_error(name)
    exists = (
        name in state.store.indices
        or name in state.store.state.section("data_streams")
        or state.store.aliases.exists(name)
    )
    if not sec.allowed_index(ctx.user, "write", name):
        raise sec.denied(ctx.user, "indices:data/write/bulk[s]", name)
    if not exists and action == "delete":
        raise ESError(
            404,
            "index_not_found_exception",
            f"no such index [{name}]",
            index=name,
            **{"resource.type": "index_expression", "resource.id": name, "index_uuid": "_na_"},
        )
    if not exists and not sec.allowed_index(ctx.user, "create_index", name):
        raise sec.denied(ctx.user, "indices:admin/auto_create", name)
    # An update writes with `index`; a data stream takes `create` only, as ES's update does.
    index: LogIndex = state.store.write_target(name, "index" if action == "update" else action)
    return index


def check_data_stream_source(index: LogIndex, action: str, source: Any, name: str) -> None:
    """A write to a data stream (a delete aside) must carry its `@timestamp`."""
    if (
        action != "delete"
        and index.meta.data_stream
        and (not isinstance(source, dict) or "@timestamp" not in source)
    ):
        raise ESError(
            400,
            "document_parsing_exception",
            f"data stream timestamp field [@timestamp] is missing (data stream [{name}])",
        )


def write_op(
    index: LogIndex,
    action: str,
    doc_id: str | None,
    source: Any,
    raw: bytes,
    cond: Condition | None,
    routing: str | None,
) -> WriteOp:
    """A WriteOp with the item's routing and versioning (the plain case costs nothing)."""
    if cond is None and routing is None:
        return WriteOp(action, doc_id, source, raw)
    check = cond.for_write(index, str(doc_id)) if cond is not None else None
    return WriteOp(action, doc_id, source, raw, routing=routing, check=check)


def write_items(
    ctx: Ctx, items: list[Any], *, fetch: Any = None
) -> tuple[list[dict[str, Any]], set[LogIndex]]:
    """`fetch`: the request's `_source` options for the updates' `get` (an item's own win)."""
    results: list[dict[str, Any] | None] = [None] * len(items)
    groups: dict[int, tuple[LogIndex, list[int], list[WriteOp]]] = {}
    targets: dict[tuple[str, str, bool], LogIndex | ESError] = {}  # the checks once per bulk
    request_alias = ctx.param("require_alias") == "true"
    touched: set[LogIndex] = set()
    default_routing = ctx.param("routing")

    def flush() -> None:
        for index, positions, ops in groups.values():
            for pos, op, res in zip(positions, ops, index.write(ops), strict=True):
                res.setdefault("_index", index.meta.name)
                results[pos] = {op.action: res}
            touched.add(index)
        groups.clear()

    item: Item | dict[str, Any]
    for pos, item in enumerate(items):
        if isinstance(item, dict):
            results[pos] = item
            continue
        action, name, doc_id, source, raw, extra = item
        routing = extra.routing if extra is not None and extra.routing else default_routing
        try:
            name = datemath.index_name(str(name))  # `<logs-{now/d}>`: today's index
            _check_id(doc_id)
            alias = request_alias
            if extra is not None and extra.require_alias is not None:
                alias = extra.require_alias
            target = targets.get((name, action, alias))
            if target is None:
                try:
                    target = _target(ctx, name, action, require_alias=alias)
                except ESError as err:
                    target = err
                targets[name, action, alias] = target
            if isinstance(target, ESError):
                raise target
            index = target
            if action == "update":
                flush()
                results[pos] = {"update": update_item(index, doc_id, source, extra, routing, fetch)}
                touched.add(index)
                continue
            check_data_stream_source(index, action, source, name)
            cond = extra.cond if extra is not None else None
            op = write_op(index, action, doc_id, source, raw, cond, routing)
        except ESError as err:
            results[pos] = _item_error(action, name, doc_id, err)
            continue
        group = groups.setdefault(id(index), (index, [], []))
        group[1].append(pos)
        group[2].append(op)
    flush()
    return [r for r in results if r is not None], touched


MAX_ID_BYTES = 512  # Lucene's term limit, ES's IndexRequest rule


def _check_id(doc_id: str | None) -> None:
    """ES's checks of a given `_id`: IndexRouting's (empty) and IndexRequest.validate's."""
    if doc_id is None:
        return
    size = len(doc_id.encode())
    if size == 0:
        raise ESError(400, "illegal_argument_exception", "if _id is specified it must not be empty")
    if size > MAX_ID_BYTES:
        raise ESError(
            400,
            "action_request_validation_exception",
            f"Validation Failed: 1: id [{doc_id}] is too long, must be no longer than "
            f"{MAX_ID_BYTES} bytes but was: {size};",
        )
