"""Applying parsed bulk items: security and target checks, grouped writes per index.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-bulk.html
"""

from __future__ import annotations

from typing import Any

from . import datemath
from .bulkparse import _item_error
from .engine import LogIndex
from .errors import ESError
from .http import Ctx
from .indexmeta import WriteOp


def _target(ctx: Ctx, name: str, action: str) -> LogIndex:
    state = ctx.request.app.state
    sec = state.security
    exists = name in state.store.indices or name in state.store.state.section("data_streams")
    if not sec.allowed_index(ctx.user, "write", name):
        raise sec.denied(ctx.user, "indices:data/write/bulk[s]", name)
    if not exists and not sec.allowed_index(ctx.user, "create_index", name):
        raise sec.denied(ctx.user, "indices:admin/auto_create", name)
    index: LogIndex = state.store.write_target(name, action)
    return index


def write_items(ctx: Ctx, items: list[Any]) -> tuple[list[dict[str, Any]], set[LogIndex]]:
    results: list[dict[str, Any] | None] = [None] * len(items)
    groups: dict[int, tuple[LogIndex, list[int], list[WriteOp]]] = {}
    targets: dict[tuple[str, str], LogIndex | ESError] = {}  # the checks once per bulk
    for pos, item in enumerate(items):
        if isinstance(item, dict):
            results[pos] = item
            continue
        action, name, doc_id, source, raw = item
        try:
            name = datemath.index_name(name)  # `<logs-{now/d}>`: today's index
            _check_id(doc_id)
            target = targets.get((name, action))
            if target is None:
                try:
                    target = _target(ctx, name, action)
                except ESError as err:
                    target = err
                targets[name, action] = target
            if isinstance(target, ESError):
                raise target
            index = target
            if index.meta.data_stream and (
                not isinstance(source, dict) or "@timestamp" not in source
            ):
                raise ESError(
                    400,
                    "document_parsing_exception",
                    f"data stream timestamp field [@timestamp] is missing (data stream [{name}])",
                )
        except ESError as err:
            results[pos] = _item_error(action, name, doc_id, err)
            continue
        group = groups.setdefault(id(index), (index, [], []))
        group[1].append(pos)
        group[2].append(WriteOp(action, doc_id, source, raw))
    for index, positions, ops in groups.values():
        for pos, op, res in zip(positions, ops, index.write(ops), strict=True):
            res.setdefault("_index", index.meta.name)
            results[pos] = {op.action: res}
    touched = {g[0] for g in groups.values()}
    return [r for r in results if r is not None], touched


MAX_ID_BYTES = 512  # Lucene's term limit, ES's IndexRequest rule


def _check_id(doc_id: str | None) -> None:
    """ES's IndexRequest validation of a given `_id`."""
    if doc_id is None:
        return
    size = len(doc_id.encode())
    if size == 0:
        problem = "if _id is specified it must not be empty"
    elif size > MAX_ID_BYTES:
        problem = (
            f"id [{doc_id}] is too long, must be no longer than {MAX_ID_BYTES} bytes but was: "
            f"{size}"
        )
    else:
        return
    raise ESError(400, "action_request_validation_exception", f"Validation Failed: 1: {problem};")
