"""GET /{index}/_doc/{id} and _mget.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-get.html
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-multi-get.html

A get is realtime (an unrefreshed document is found) unless `realtime=false`, which reads
what the last refresh made searchable; `refresh=true` refreshes first. `routing` reaches the
shard ES would (routing.py); `version` conflicts (409) when the document's differs.
`stored_fields` answers `fields` for the fields mapped `store: true`, from the source.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from . import routing
from .engine import LogIndex, Stored
from .errors import ESError, index_not_found, validation_failed
from .http import Ctx
from .schema import get_path
from .source_filter import filter_source, from_body, from_request
from .versioning import condition

# The keys of an _mget `docs` entry (ES's MultiGetRequest); `_routing`, `_version` are not.
_DOC_KEYS = {"_index", "_id", "routing", "_source", "stored_fields", "version", "version_type"}


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


def _list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [s for s in str(value).split(",") if s]


async def get_doc(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    name, doc_id = ctx.request.path_params["index"], ctx.request.path_params["id"]
    store, sec = _state(ctx).store, _state(ctx).security
    indices = store.resolve(name)
    sec.require_index(ctx.user, "read", [i.meta.name for i in indices])
    if not indices:
        raise index_not_found(name)
    spec: dict[str, Any] = {}
    if ctx.param("version") is not None:
        spec["version"] = ctx.param("version")
        spec["version_type"] = ctx.param("version_type")
    answer = await _get_one(ctx, name, doc_id, spec, errors_in_slot=False)
    return (200 if answer.get("found") else 404), answer


async def mget(ctx: Ctx) -> dict[str, Any]:
    """`docs` ([{_index, _id, routing, _source, stored_fields, version}]) or `ids` with the
    path's index; each answered as GET answers it, a missing index or document in its slot."""
    body = await ctx.json()
    default = ctx.request.path_params.get("index")
    for key in body:
        if key not in ("docs", "ids"):
            raise ESError(
                400,
                "parse_exception",
                f"unknown parameter [{key}] in request body or parameter is of the wrong "
                "type[START_ARRAY] ",
            )
    wanted: list[Any]
    if "ids" in body:
        if not isinstance(body["ids"], list):
            raise ESError(400, "parse_exception", "ids must be an array of strings")
        wanted = [{"_id": str(i)} for i in body["ids"]]
    elif isinstance(body.get("docs"), list):
        wanted = body["docs"]
    else:
        wanted = []
    if not wanted:
        raise validation_failed("no documents to get")
    for position, spec in enumerate(wanted):
        if not isinstance(spec, dict):
            raise ESError(400, "parse_exception", "docs array element should include an object")
        for key in spec:
            if key not in _DOC_KEYS:
                raise ESError(
                    400,
                    "parse_exception",
                    f"failed to parse multi get request. unknown field [{key}]",
                )
        if spec.get("_index", default) is None:
            raise validation_failed(f"index is missing for doc {position}")
        if spec.get("_id") is None:
            raise validation_failed(f"id is missing for doc {position}")
    if ctx.param("refresh") in ("", "true"):
        for spec in wanted:
            try:
                indices = _state(ctx).store.resolve(str(spec.get("_index", default)))
            except ESError:
                continue
            for index in indices:
                await run_in_threadpool(index.refresh)
    answers = []
    for spec in wanted:
        name = str(spec.get("_index", default))
        answers.append(await _get_one(ctx, name, str(spec["_id"]), spec, errors_in_slot=True))
    return {"docs": answers}


async def _get_one(
    ctx: Ctx, name: str, doc_id: str, spec: dict[str, Any], *, errors_in_slot: bool
) -> dict[str, Any]:
    state = _state(ctx)
    try:  # a missing index or a forbidden one fails this document's slot only (in _mget)
        state.store.aliases.single_index(name)  # an alias to several indices: ES's error
        indices: list[LogIndex] = state.store.resolve(name)
        if not indices:
            raise index_not_found(name)
        state.security.require_index(ctx.user, "read", [i.meta.name for i in indices])
    except ESError as err:
        if not errors_in_slot:
            raise
        return {"_index": name, "_id": doc_id, "error": err.body()["error"]}
    want = condition(spec, action="read")
    realtime = ctx.param("realtime") != "false"
    requested = spec.get("routing", ctx.param("routing"))
    requested = None if requested is None else str(requested)
    if not errors_in_slot and ctx.param("refresh") in ("", "true"):
        for index in indices:
            await run_in_threadpool(index.refresh)
    for index in indices:
        found: Stored | None = await run_in_threadpool(
            index.get if realtime else index.get_committed, doc_id
        )
        if found is None or found.source is None:
            continue
        if not routing.reaches(index.meta.settings, doc_id, found.routing, requested):
            continue
        want.check_read(index, doc_id, found.version)
        return _answer(ctx, index, doc_id, found, spec)
    return {"_index": indices[0].meta.name, "_id": doc_id, "found": False}


def _answer(
    ctx: Ctx, index: LogIndex, doc_id: str, found: Stored, spec: dict[str, Any]
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "_index": index.meta.name,
        "_id": doc_id,
        "_version": found.version,
        "_seq_no": found.seq,
        "_primary_term": 1,
    }
    if found.routing is not None:
        answer["_routing"] = found.routing
    answer["found"] = True
    raw = found.source or b"{}"
    # A document's own options win over the request's parameters, as in ES.
    stored = _list(spec.get("stored_fields", ctx.param("stored_fields")))
    explicit = "_source" in spec or any(
        ctx.param(p) is not None for p in ("_source", "_source_includes", "_source_excludes")
    )
    if "_source" in spec:
        includes, excludes = from_body(spec["_source"])
    else:
        includes, excludes = from_request(ctx.params, {})
    if stored is not None and "_source" not in stored and not explicit:
        includes = None  # stored_fields without _source: no source, as in ES
    source: Any = None
    if includes is not None or stored:
        source = orjson.loads(raw)
    if stored:
        fields = _stored_values(index, source, stored)
        if fields:
            answer["fields"] = fields
    if includes is not None:
        if includes or excludes:
            source = filter_source(source, includes, excludes)
        answer["_source"] = source
    return answer


def _stored_paths(mapping: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if not isinstance(mapping, dict):
        return out
    for key, spec in (mapping.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        path = prefix + key
        if spec.get("store") in (True, "true"):
            out.add(path)
        out |= _stored_paths(spec, path + ".")
    return out


def _stored_values(index: LogIndex, source: Any, wanted: list[str]) -> dict[str, list[Any]]:
    """ES answers the stored fields only: those mapped `store: true` (their values are the
    source's); metadata fields such as `_routing` are answered at the top level."""
    stored = _stored_paths(index.meta.mappings)
    fields: dict[str, list[Any]] = {}
    for path in wanted:
        if path.startswith("_") or path not in stored or not isinstance(source, dict):
            continue
        value = get_path(source, path)
        if value is None:
            continue
        fields[path] = value if isinstance(value, list) else [value]
    return fields


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_mget", ["GET", "POST"], mget),
    ("/{index}/_mget", ["GET", "POST"], mget),
    ("/{index}/_doc/{id}", ["GET", "HEAD"], get_doc),
]
