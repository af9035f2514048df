"""Parsing a _bulk body: a malformed line fails its own item only.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-bulk.html
"""

from __future__ import annotations

from typing import Any

import orjson

from .errors import ESError

_ACTIONS = ("index", "create", "delete", "update")


def _item_error(action: str, index: str | None, doc_id: Any, err: ESError) -> dict[str, Any]:
    return {action: {"_index": index, "_id": doc_id, "status": err.status, "error": err.cause()}}


def parse_bulk(
    raw: bytes, default_index: str | None
) -> list[tuple[str, str | None, Any, Any, bytes] | dict[str, Any]]:
    """Items as (action, index, id, source, raw) or, for a bad item, its error result."""
    lines = raw.split(b"\n")
    out: list[tuple[str, str | None, Any, Any, bytes] | dict[str, Any]] = []
    # A shipper repeats one action line (`{"index":{"_index":"logs-x"}}`) for every document:
    # parse each distinct line once (meta is only read, never changed).
    seen: dict[bytes, tuple[str, dict[str, Any]]] = {}
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        try:
            known = seen.get(line)
            if known is not None:
                action, meta = known
            else:
                action_obj = orjson.loads(line)
                ((action, meta),) = action_obj.items()
                if action not in _ACTIONS or not isinstance(meta, dict):
                    raise ValueError(
                        f"Malformed action/metadata line [{i}], expected one of "
                        f"{list(_ACTIONS)} with an object"
                    )
                if len(seen) < 64:
                    seen[line] = (action, meta)
        except (ValueError, AttributeError) as exc:
            out.append(
                _item_error(
                    "index",
                    default_index,
                    None,
                    ESError(
                        400,
                        "illegal_argument_exception",
                        f"Malformed action/metadata line [{i}]: {exc}",
                    ),
                )
            )
            if i < len(lines) and not _looks_like_action(lines[i]):
                i += 1
            continue
        index = meta.get("_index", default_index)
        doc_id = meta.get("_id")
        if action in ("delete", "update"):
            if action == "update":
                i += 1
            out.append(
                _item_error(
                    action,
                    index,
                    doc_id,
                    ESError(
                        400,
                        "illegal_argument_exception",
                        f"bulk action [{action}] is not supported by logstore",
                    ),
                )
            )
            continue
        source_line = lines[i].strip() if i < len(lines) else b""
        i += 1
        if index is None:
            out.append(
                _item_error(
                    action,
                    None,
                    doc_id,
                    ESError(
                        400,
                        "action_request_validation_exception",
                        "Validation Failed: 1: index is missing;",
                    ),
                )
            )
            continue
        try:
            source = orjson.loads(source_line)
        except orjson.JSONDecodeError as exc:
            out.append(
                _item_error(
                    action,
                    index,
                    doc_id,
                    ESError(400, "document_parsing_exception", f"[{i}:1] failed to parse: {exc}"),
                )
            )
            continue
        out.append(
            (action, str(index), None if doc_id is None else str(doc_id), source, source_line)
        )
    return out


def _looks_like_action(line: bytes) -> bool:
    try:
        parsed = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and len(parsed) == 1 and next(iter(parsed)) in _ACTIONS
