"""POST /{index}/_delete_by_query.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-delete-by-query.html

As in ES: the documents the query matches in what the last refresh made searchable are
deleted in batches of `scroll_size`, each only if it is still the version the search saw
(else a version conflict: `conflicts=abort`, the default, stops after the batch and answers
409 with the failures; `proceed` counts them). `max_docs` bounds the deletions, `refresh`
refreshes the indices afterwards. It runs to completion within the request: an asynchronous
task (`wait_for_completion=false`), slicing, throttling and a custom scroll are refused by
name.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from .api_docs import read_indices, refresh_mode, search_body, wake
from .engine import LogIndex
from .errors import ESError, parsing, unsupported
from .http import Ctx
from .indexmeta import WriteOp
from .search import translator
from .versioning import PRIMARY_TERM, Condition

_BODY_KEYS = ("query", "max_docs", "conflicts")
_REFUSED_PARAMS = {
    "slices": "slices in _delete_by_query (slicing)",
    "scroll": "scroll in _delete_by_query",
    "routing": "routing in _delete_by_query",
    "sort": "sort in _delete_by_query",
    "search_type": "search_type in _delete_by_query",
    "preference": "preference in _delete_by_query",
}


def _options(ctx: Ctx, body: dict[str, Any]) -> tuple[str, int | None, int]:
    if ctx.param("wait_for_completion") == "false":
        raise unsupported("wait_for_completion=false in _delete_by_query (tasks)")
    for name, what in _REFUSED_PARAMS.items():
        value = ctx.param(name)
        if value is not None and not (name == "slices" and value == "1"):
            raise unsupported(what)
    rps = ctx.param("requests_per_second")
    if rps not in (None, "-1", "-1.0"):
        raise unsupported("requests_per_second in _delete_by_query (throttling)")
    for key in body:
        if key == "slice":
            raise unsupported("slice in _delete_by_query (slicing)")
        if key not in _BODY_KEYS:
            raise parsing(f"Unknown key for a START_OBJECT in [{key}].")
    conflicts = str(body.get("conflicts", ctx.param("conflicts", "abort")))
    if conflicts not in ("abort", "proceed"):
        raise ESError(
            400,
            "illegal_argument_exception",
            f'conflicts may only be "proceed" or "abort" but was [{conflicts}]',
        )
    raw_max = body.get("max_docs", ctx.param("max_docs"))
    max_docs = None
    if raw_max is not None:
        try:
            max_docs = int(raw_max)
        except (TypeError, ValueError):
            raise ESError(
                400, "illegal_argument_exception", f"[max_docs] must be a number: {raw_max}"
            ) from None
        if max_docs <= 0:
            raise ESError(
                400,
                "action_request_validation_exception",
                f"Validation Failed: 1: maxDocs should be greater than 0 if set, "
                f"but was [{max_docs}];",
            )
    scroll_size = ctx.int_param("scroll_size", 1000)
    if scroll_size <= 0:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"[size] parameter cannot be negative, found [{scroll_size}]",
        )
    return conflicts, max_docs, scroll_size


def _matches(index: LogIndex, query: Any) -> list[tuple[str, int]]:
    """(_id, seq_no) of the matching documents, as the last refresh left them."""
    searcher = index.searcher()
    if searcher.num_docs == 0:
        return []
    found = searcher.search(translator(index).translate(query), searcher.num_docs).hits
    out = []
    for _, address in found:
        doc = searcher.doc(address)
        out.append((doc["_id"][0], int(doc["_seq"][0])))
    out.sort(key=lambda m: m[1])  # oldest first, a stable order for max_docs
    return out


def _run(
    indices: list[LogIndex], query: Any, conflicts: str, max_docs: int | None, scroll_size: int
) -> dict[str, Any]:
    counts = {"total": 0, "deleted": 0, "batches": 0, "version_conflicts": 0}
    failures: list[dict[str, Any]] = []
    budget = max_docs
    for index in indices:
        matches = _matches(index, query)
        if budget is not None:
            matches = matches[:budget]
            budget -= len(matches)
        counts["total"] += len(matches)
        for start in range(0, len(matches), scroll_size):
            batch = matches[start : start + scroll_size]
            ops = [
                WriteOp(
                    "delete",
                    doc_id,
                    None,
                    b"",
                    check=Condition(if_seq_no=seq, if_primary_term=PRIMARY_TERM).for_write(
                        index, doc_id
                    ),
                )
                for doc_id, seq in batch
            ]
            counts["batches"] += 1
            for (doc_id, _), result in zip(batch, index.write(ops), strict=True):
                if "error" in result:
                    counts["version_conflicts"] += 1
                    if conflicts == "abort":
                        failures.append(
                            {
                                "index": index.meta.name,
                                "id": doc_id,
                                "cause": result["error"],
                                "status": result["status"],
                            }
                        )
                elif result["result"] == "deleted":
                    counts["deleted"] += 1
            if failures:
                return {**counts, "failures": failures}
        if budget == 0:
            break
    return {**counts, "failures": failures}


async def delete_by_query(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    mode = refresh_mode(ctx)
    body = await ctx.json()
    conflicts, max_docs, scroll_size = _options(ctx, body)
    query = search_body(ctx, {k: v for k, v in body.items() if k == "query"}).get(
        "query", {"match_all": {}}
    )
    indices = read_indices(ctx, ctx.request.path_params["index"])
    state = ctx.request.app.state
    state.security.require_index(ctx.user, "write", [i.meta.name for i in indices])
    await wake(indices)
    done = await run_in_threadpool(_run, indices, query, conflicts, max_docs, scroll_size)
    if mode in ("", "true"):
        for index in indices:
            await run_in_threadpool(index.refresh)
    failures = done.pop("failures")
    answer = {
        "took": ctx.took(),
        "timed_out": False,
        **done,
        "noops": 0,
        "retries": {"bulk": 0, "search": 0},
        "throttled_millis": 0,
        "requests_per_second": -1.0,
        "throttled_until_millis": 0,
        "failures": failures,
    }
    status = max([f["status"] for f in failures], default=200)
    return status, answer


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/{index}/_delete_by_query", ["POST"], delete_by_query),
]
