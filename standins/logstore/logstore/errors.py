"""Elasticsearch-shaped errors.

Shape: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/common-options.html
(`{"error": {"root_cause": [...], "type", "reason"}, "status": N}`).
"""

from __future__ import annotations

from typing import Any


class LogstoreError(Exception):
    """Base of every logstore error."""


class LogstoreConfigError(LogstoreError):
    """Bad start-up configuration: the process refuses to start."""


class ESError(LogstoreError):
    """An error answered to the client in Elasticsearch's shape."""

    def __init__(self, status: int, type_: str, reason: str, **extra: Any) -> None:
        super().__init__(f"{type_}: {reason}")
        self.status = status
        self.type = type_
        self.reason = reason
        self.extra = extra
        self.root: dict[str, Any] | None = None

    def cause(self) -> dict[str, Any]:
        return {"type": self.type, "reason": self.reason, **self.extra}

    def body(self) -> dict[str, Any]:
        error = {"root_cause": [self.root or self.cause()], **self.cause()}
        return {"error": error, "status": self.status}


class SimpleError(ESError):
    """ES's bare `{"error": "<reason>", "status": N}` (RestResponse.createSimpleErrorResponse),
    as for a refused Content-Type."""

    def body(self) -> dict[str, Any]:
        return {"error": self.reason, "status": self.status}


def index_not_found(name: str) -> ESError:
    return ESError(
        404,
        "index_not_found_exception",
        f"no such index [{name}]",
        index=name,
        **{"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_"},
    )


def doc_error(index: Any, status: int, type_: str, reason: str) -> ESError:
    """An error about one document of `index` (a LogIndex): ES names the index and the shard
    (logstore's one shard is 0)."""
    return ESError(
        status, type_, reason, index_uuid=index.meta.uuid, shard="0", index=index.meta.name
    )


def validation_failed(problem: str) -> ESError:
    """ES's refusal of a request that fails its validation (ActionRequestValidationException)."""
    return ESError(400, "action_request_validation_exception", f"Validation Failed: 1: {problem};")


def bad_request(reason: str, type_: str = "illegal_argument_exception") -> ESError:
    return ESError(400, type_, reason)


def parsing(reason: str) -> ESError:
    return ESError(400, "parsing_exception", reason, line=1, col=1)


def unsupported(what: str) -> ESError:
    return ESError(
        400,
        "illegal_argument_exception",
        f"[{what}] is not supported by logstore (a single-node stand-in); see docs/logstore.md",
    )


def search_failed(
    reason: str, index: str | None = None, *, caused_by: dict[str, Any] | None = None
) -> ESError:
    """A query that fails on the shards: ES wraps it as search_phase_execution_exception; the
    shard's reason carries the cause (`caused_by`), the root cause does not.

    https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-search.html
    """
    err = ESError(
        400, "search_phase_execution_exception", "all shards failed", phase="query", grouped=True
    )
    root: dict[str, Any] = {"type": "query_shard_exception", "reason": reason}
    if index:
        root["index"] = index
    err.root = root
    shard_reason = {**root, "caused_by": caused_by} if caused_by else root
    err.extra["failed_shards"] = [{"shard": 0, "index": index, "reason": shard_reason}]
    return err
