"""Parsing a _bulk body.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-bulk.html

A bad document line, or an item ES refuses on its own (no such pipeline, a missing `_id`),
fails its own item only. An action line that ES's parser refuses (an empty object, an unknown
action or metadata parameter such as 7.x's `_version` / `_routing`) fails the whole request
with ES's reason, as in ES. An unparsable action line fails its item (and the line after it,
unless that looks like an action): logstore keeps the rest of a shipper's batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .errors import ESError, unsupported
from .versioning import Condition, condition

_ACTIONS = ("index", "create", "delete", "update")
# ES's BulkRequestParser: the parameters an action line may carry.
_META_KEYS = {
    "_index",
    "_id",
    "routing",
    "op_type",
    "version",
    "version_type",
    "if_seq_no",
    "if_primary_term",
    "retry_on_conflict",
    "pipeline",
    "_source",
    "require_alias",
    "require_data_stream",
    "list_executed_pipelines",
    "dynamic_templates",
}


@dataclass(frozen=True)
class Extra:
    """What an action line says beyond `_index` / `_id` (None for the shippers' plain lines)."""

    routing: str | None = None
    cond: Condition | None = None
    fetch: Any = None  # an update's `_source` (what its `get` answers)
    retries: int = 0  # an update's retry_on_conflict
    require_alias: bool | None = None  # the item's own flag (None: the request's)


Item = tuple[str, str | None, Any, Any, bytes, Extra | None]


def _item_error(action: str, index: str | None, doc_id: Any, err: ESError) -> dict[str, Any]:
    return {action: {"_index": index, "_id": doc_id, "status": err.status, "error": err.cause()}}


def _bad_line(line_no: int, problem: str) -> ESError:
    return ESError(
        400, "illegal_argument_exception", f"Malformed action/metadata line [{line_no}], {problem}"
    )


def _action_of(line: bytes, line_no: int) -> tuple[str, dict[str, Any]]:
    """Raises ValueError for an unparsable line, ESError for what ES refuses by name."""
    action_obj = orjson.loads(line)
    if not isinstance(action_obj, dict):
        raise ValueError("expected an object")
    if not action_obj:
        raise _bad_line(line_no, "expected FIELD_NAME but found [END_OBJECT]")
    if len(action_obj) != 1:
        raise _bad_line(line_no, "expected END_OBJECT but found [FIELD_NAME]")
    ((action, meta),) = action_obj.items()
    if action not in _ACTIONS:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Malformed action/metadata line [{line_no}], expected field [create], [delete], "
            f"[index] or [update] but found [{action}]",
        )
    if not isinstance(meta, dict):
        raise _bad_line(line_no, "expected START_OBJECT but found [VALUE_STRING]")
    for key in meta:
        if key not in _META_KEYS:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Action/metadata line [{line_no}] contains an unknown parameter [{key}]",
            )
    if meta.get("dynamic_templates"):
        raise unsupported("dynamic_templates in a bulk action")
    if meta.get("require_data_stream") in (True, "true"):
        raise unsupported("require_data_stream in a bulk action")
    return action, meta


def _extra(action: str, meta: dict[str, Any]) -> Extra | None:
    if not any(k not in ("_index", "_id") for k in meta):
        return None
    routing = meta.get("routing")
    cond = condition(meta, action=action)
    return Extra(
        routing=None if routing is None else str(routing),
        cond=None if cond.empty else cond,
        fetch=meta.get("_source"),
        retries=int(meta.get("retry_on_conflict", 0) or 0),
        require_alias=meta["require_alias"] in (True, "true") if "require_alias" in meta else None,
    )


def parse_bulk(
    raw: bytes, default_index: str | None, pipeline: str | None = None
) -> list[Item | dict[str, Any]]:
    """Items as (action, index, id, source, raw, extra) or, for a bad item, its error result.
    An update's source is its request body (doc, upsert, ...)."""
    lines = raw.split(b"\n")
    out: list[Item | dict[str, Any]] = []
    # A shipper repeats one action line (`{"index":{"_index":"logs-x"}}`) for every document:
    # parse each distinct line once (meta is only read, never changed).
    seen: dict[bytes, tuple[str, Any, str | None, Extra | None, ESError | None]] = {}
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        try:
            known = seen.get(line)
            if known is not None:
                action, index, doc_id, extra, problem = known
            else:
                action, meta = _action_of(line, i)
                if action == "index" and meta.get("op_type") == "create":
                    action = "create"
                extra = _extra(action, meta)
                index = meta.get("_index", default_index)
                doc_id = None if meta.get("_id") is None else str(meta["_id"])
                problem = _problem(action, index, doc_id, meta.get("pipeline", pipeline))
                if len(seen) < 64:
                    seen[line] = (action, index, doc_id, extra, problem)
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
        if action != "delete":
            source_line = lines[i].strip() if i < len(lines) else b""
            i += 1
        else:
            source_line = b""
        if problem is not None:
            out.append(_item_error(action, index, doc_id, problem))
            continue
        source: Any = None
        if action != "delete":
            try:
                source = orjson.loads(source_line)
            except orjson.JSONDecodeError as exc:
                err = ESError(400, "document_parsing_exception", f"[{i}:1] failed to parse: {exc}")
                out.append(_item_error(action, index, doc_id, err))
                continue
        out.append((action, str(index), doc_id, source, source_line, extra))
    return out


def _problem(action: str, index: Any, doc_id: str | None, pipeline: Any) -> ESError | None:
    """An item ES refuses before writing: no index, no `_id` where one is needed, a pipeline
    (logstore has no ingest pipelines: none exists)."""
    if index is None:
        return ESError(
            400, "action_request_validation_exception", "Validation Failed: 1: index is missing;"
        )
    if doc_id is None and action in ("delete", "update"):
        return ESError(
            400, "action_request_validation_exception", "Validation Failed: 1: id is missing;"
        )
    if pipeline not in (None, "_none") and action in ("index", "create"):
        return ESError(
            400, "illegal_argument_exception", f"pipeline with id [{pipeline}] does not exist"
        )
    return None


def _looks_like_action(line: bytes) -> bool:
    try:
        parsed = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and len(parsed) == 1 and next(iter(parsed)) in _ACTIONS
