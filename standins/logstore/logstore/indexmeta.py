"""An index's metadata, one write operation, and generated document ids."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class WriteOp:
    action: str  # "index", "create" or "delete"
    doc_id: str | None
    source: Any
    raw: bytes
    routing: str | None = None  # kept with the document (ES's `_routing`)
    # Versioning (versioning.py): given the document as stored (None: never seen; a
    # tombstone: deleted), the new version, or an ESError (409) when a condition fails.
    check: Callable[[Any], int] | None = None


@dataclass
class IndexMeta:
    name: str
    uuid: str
    creation_date: int
    settings: dict[str, str] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    data_stream: str | None = None
    # The fields documents introduced (dynamic_mapping.py): `{"properties": {...}}`.
    dynamic_mappings: dict[str, Any] = field(default_factory=dict)
    # ES's index state, "open" or "close" (POST /{index}/_close): a closed index keeps its
    # data and metadata, answers index_closed_exception to reads and writes.
    state: str = "open"

    @property
    def is_closed(self) -> bool:
        return self.state == "close"

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__, option=orjson.OPT_INDENT_2)


_ID_PREFIX = secrets.token_urlsafe(9)  # 72 random bits per process
_ID_COUNTER = itertools.count()


def new_id() -> str:
    """20 url-safe characters, like Elasticsearch's generated ids: a per-process random prefix
    and a counter (a getrandom call per document cost ~10% of bulk time)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"
