"""An index's metadata, one write operation, and generated document ids."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class WriteOp:
    action: str  # "index" or "create"
    doc_id: str | None
    source: Any
    raw: bytes


@dataclass
class IndexMeta:
    name: str
    uuid: str
    creation_date: int
    settings: dict[str, str] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    data_stream: str | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__, option=orjson.OPT_INDENT_2)


_ID_PREFIX = secrets.token_urlsafe(9)  # 72 random bits per process
_ID_COUNTER = itertools.count()


def new_id() -> str:
    """20 url-safe characters, like Elasticsearch's generated ids: a per-process random prefix
    and a counter (a getrandom call per document cost ~10% of bulk time)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"
