"""Partial updates (`_update`, and bulk `update` items).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-update.html

A partial `doc` merges into the stored source (objects key by key, the rest replaced);
`upsert` or `doc_as_upsert` for a missing document; `detect_noop`. As in ES, the update reads
the document and writes it back only if nothing wrote it in between (its seq_no), retrying
`retry_on_conflict` times; `if_seq_no` / `if_primary_term` are checked against what it read.
`_source` asks for the new source in the answer's `get`. Scripts are refused by name.
"""

from __future__ import annotations

from typing import Any

import orjson

from . import routing as routing_rules
from .bulkparse import Extra
from .engine import LogIndex, Stored
from .errors import ESError, doc_error, unsupported
from .indexmeta import WriteOp
from .source_filter import filter_source
from .versioning import Condition

# ES's UpdateRequest fields (the ones "did you mean" picks from).
_FIELDS = ("script", "scripted_upsert", "upsert", "doc", "doc_as_upsert", "detect_noop", "_source")
Fetch = tuple[list[str], list[str]] | None


def _similarity(a: str, b: str) -> float:
    """Lucene's LevenshteinDistance: 1 - distance / longer length."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(row[j - 1] + 1, previous[j] + 1, previous[j - 1] + (ca != cb)))
        previous = row
    return 1 - previous[-1] / max(len(a), len(b), 1)


def _unknown_field(key: str) -> ESError:
    scored = sorted(
        ((s, f) for f in _FIELDS if (s := _similarity(key, f)) > 0.5), key=lambda t: (-t[0], t[1])
    )
    hint = ""
    if len(scored) == 1:
        hint = f" did you mean [{scored[0][1]}]?"
    elif scored:
        hint = f" did you mean any of {[f for _, f in scored]}?".replace("'", "")
    return ESError(
        400, "x_content_parse_exception", f"[1:2] [UpdateRequest] unknown field [{key}]{hint}"
    )


def check_body(body: Any) -> dict[str, Any]:
    """ES's parse and validation of an update body."""
    if not isinstance(body, dict):
        raise ESError(400, "x_content_parse_exception", "[1:1] [UpdateRequest] expected an object")
    for key in body:
        if key not in _FIELDS:
            raise _unknown_field(key)
        if key in ("script", "scripted_upsert"):
            raise unsupported("scripted updates ([script] in _update)")
    doc = body.get("doc")
    if doc is None:
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: script or doc is missing;",
        )
    if not isinstance(doc, dict):
        raise ESError(400, "x_content_parse_exception", f"[doc] must be an object, got {doc!r}")
    if "upsert" in body and not isinstance(body["upsert"], dict):
        raise ESError(400, "x_content_parse_exception", "[upsert] must be an object")
    return body


def fetch_spec(value: Any) -> Fetch:
    """A `_source` option as (includes, excludes); None: no `get` in the answer."""
    if value is None or value is False or value == "false":
        return None
    if value is True or value == "true":
        return [], []
    if isinstance(value, str):
        return [s for s in value.split(",") if s], []
    if isinstance(value, list):
        return [str(v) for v in value], []
    if isinstance(value, dict):
        inc: Any = value.get("includes", value.get("include", []))
        exc: Any = value.get("excludes", value.get("exclude", []))
        return ([inc] if isinstance(inc, str) else list(inc)), (
            [exc] if isinstance(exc, str) else list(exc)
        )
    raise ESError(400, "x_content_parse_exception", f"[_source] cannot be {value!r}")


def merged(old: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """ES's partial update: objects merge key by key, any other value replaces."""
    out = dict(old)
    for key, value in doc.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def apply_update(
    index: LogIndex,
    doc_id: str,
    body: dict[str, Any],
    *,
    cond: Condition | None,
    routing: str | None,
    retries: int,
    fetch: Fetch,
) -> dict[str, Any]:
    """The result (with `status`), or an ESError."""
    body = check_body(body)
    if "_source" in body:
        fetch = fetch_spec(body["_source"])
    doc: dict[str, Any] = body["doc"]
    for attempt in range(retries + 1):
        found: Stored | None = index.get(doc_id)
        if found is not None and not routing_rules.reaches(
            index.meta.settings, doc_id, found.routing, routing
        ):
            found = None
        if found is None:
            if body.get("doc_as_upsert"):
                new = doc
            elif isinstance(body.get("upsert"), dict):
                new = body["upsert"]
            else:
                raise doc_error(
                    index, 404, "document_missing_exception", f"[{doc_id}]: document missing"
                )
            op = WriteOp("create", doc_id, new, orjson.dumps(new), routing=routing)
        else:
            if cond is not None:
                cond.for_write(index, doc_id)(found)  # 409 unless it is the one asked for
            old = orjson.loads(found.source or b"{}")
            new = merged(old, doc)
            if new == old and body.get("detect_noop", True):
                result: dict[str, Any] = {
                    "_index": index.meta.name,
                    "_id": doc_id,
                    "_version": found.version,
                    "result": "noop",
                    "_shards": {"total": 0, "successful": 0, "failed": 0},
                    "_seq_no": found.seq,
                    "_primary_term": 1,
                    "status": 200,
                }
                return _with_get(result, new, found.routing, fetch)
            same = Condition(if_seq_no=found.seq, if_primary_term=1).for_write(index, doc_id)
            op = WriteOp("index", doc_id, new, orjson.dumps(new), routing=found.routing, check=same)
        (result,) = index.write([op])
        if "error" in result:
            if result["status"] == 409 and attempt < retries:
                continue
            cause: dict[str, Any] = result["error"]
            err = ESError(int(result["status"]), cause["type"], cause["reason"])
            err.extra = {k: v for k, v in cause.items() if k not in ("type", "reason")}
            raise err
        result["_index"] = index.meta.name
        return _with_get(result, new, op.routing, fetch)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _with_get(
    result: dict[str, Any], source: dict[str, Any], routing: str | None, fetch: Fetch
) -> dict[str, Any]:
    if fetch is None:
        return result
    includes, excludes = fetch
    get: dict[str, Any] = {"_seq_no": result["_seq_no"], "_primary_term": 1}
    if routing is not None:
        get["_routing"] = routing
    get["found"] = True
    get["_source"] = filter_source(source, includes, excludes) if includes or excludes else source
    return {**result, "get": get}


def update_item(
    index: LogIndex,
    doc_id: str | None,
    body: Any,
    extra: Extra | None,
    routing: str | None,
    fetch: Fetch,
) -> dict[str, Any]:
    """A bulk `update` item's result; an error fails the item only."""
    if extra is not None and extra.fetch is not None:
        fetch = fetch_spec(extra.fetch)
    try:
        return apply_update(
            index,
            str(doc_id),
            body,
            cond=extra.cond if extra is not None else None,
            routing=routing,
            retries=extra.retries if extra is not None else 0,
            fetch=fetch,
        )
    except ESError as err:
        return {
            "_index": index.meta.name,
            "_id": doc_id,
            "status": err.status,
            "error": err.cause(),
        }
