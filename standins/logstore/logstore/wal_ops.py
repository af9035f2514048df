"""A LogIndex's document operations as its write-ahead log (wal.py) records them: applying an
index, create or delete op (its result, its WAL line, and the tantivy work the indexer does
later) and, when the index opens, replaying the log's lines into tantivy.

A WAL line's op is `i` (index), `c` (create) or `d` (delete); its record carries `_id`,
`_seq` and `_version`, so replay is idempotent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from .errors import ESError
from .indexmeta import WriteOp, new_id
from .versioning import conflict

if TYPE_CHECKING:  # engine.py imports this module
    from .engine import LogIndex

log = logging.getLogger("logstore")

_ONE_SHARD = {"total": 1, "successful": 1, "failed": 0}  # shared by every result: never changed

# WAL lines to append, and the tantivy jobs they make: (_id to delete first, record; None: a
# delete only)
Lines = list[tuple[bytes, bytes]]
Todo = list[tuple[str | None, str | None]]


class Stored(NamedTuple):
    """A document as a realtime get sees it; `source` None: deleted (a tombstone, kept until
    the next commit so that the version goes on and a realtime get misses it)."""

    source: bytes | None
    version: int
    seq: int
    routing: str | None = None


class Committed(NamedTuple):
    """The committed documents of a request's ids, looked up at once (LogIndex.committed_of):
    `found` holds those of `looked_up` that exist."""

    looked_up: frozenset[str]
    found: dict[str, Stored]


def apply_op(
    index: LogIndex, op: WriteOp, lines: Lines, todo: Todo, committed: Committed | None = None
) -> dict[str, Any]:
    """Apply one op (call with the index's lock held): its result, with `status`."""
    if op.action == "delete":
        return _delete_one(index, op, lines, todo, committed)
    if not isinstance(op.source, dict):
        raise ESError(
            400,
            "mapper_parsing_exception",
            "failed to parse: the document must be a JSON object",
        )
    doc_id = op.doc_id if op.doc_id is not None else new_id()
    found = index.current(doc_id, committed) if op.doc_id is not None else None
    current = found.version if found is not None and found.source is not None else None
    if current is not None and op.action == "create":
        # https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-bulk.html
        raise conflict(index, doc_id, f"document already exists (current version [{current}])")
    if op.check is not None:
        version = op.check(found)
    else:  # a tombstone's version goes on, as ES's does
        version = (found.version if found is not None else 0) + 1
    seq = index.seq
    record = index.build_record(op.source, op.raw, doc_id, version, seq)
    if op.routing is not None:
        if not index.keeps_routing:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"index [{index.meta.name}] was made by a logstore that did not keep "
                "[routing]: reindex it to write documents with a routing",
            )
        record = record[:-1] + b',"_routing":' + orjson.dumps(op.routing) + b"}"
    index.seq += 1
    todo.append((doc_id if current is not None else None, record.decode()))
    lines.append((b"c" if op.action == "create" else b"i", record))
    index.pending[doc_id] = Stored(op.raw, version, seq, op.routing)
    return {
        "_index": index.meta.name,
        "_id": doc_id,
        "_version": version,
        "result": "created" if current is None else "updated",
        "_shards": _ONE_SHARD,
        "_seq_no": seq,
        "_primary_term": 1,
        "status": 201 if current is None else 200,
    }


def _delete_one(
    index: LogIndex, op: WriteOp, lines: Lines, todo: Todo, committed: Committed | None
) -> dict[str, Any]:
    """ES's delete: a missing document answers `not_found` (404), still with a seq_no."""
    doc_id = str(op.doc_id)
    found = index.current(doc_id, committed)
    if op.check is not None:
        version = op.check(found)
    else:
        version = (found.version if found is not None else 0) + 1
    seq = index.seq
    index.seq += 1
    live = found is not None and found.source is not None
    if live:
        record = orjson.dumps({"_id": doc_id, "_seq": seq, "_version": version})
        lines.append((b"d", record))
        todo.append((doc_id, None))
        index.pending[doc_id] = Stored(None, version, seq)
    return {
        "_index": index.meta.name,
        "_id": doc_id,
        "_version": version,
        "result": "deleted" if live else "not_found",
        "_shards": _ONE_SHARD,
        "_seq_no": seq,
        "_primary_term": 1,
        "status": 200 if live else 404,
    }


def replay(index: LogIndex) -> None:
    """Put the WAL's lines (written since the last commit) into tantivy, commit them, and drop
    the replayed generations."""
    replayed: set[str] = set()
    gone: set[str] = set()  # deleted by the log (the reader still shows them)
    count = 0
    for op, record in index.wal.replay():
        rec = orjson.loads(record)
        doc_id = rec["_id"]
        if op == b"d":
            index.writer.delete_documents_by_term("_id", doc_id)
            replayed.discard(doc_id)
            gone.add(doc_id)
            index.seq = max(index.seq, int(rec["_seq"]) + 1)
            count += 1
            continue
        if op == b"c" and (
            doc_id in replayed or (doc_id not in gone and index.get_committed(doc_id) is not None)
        ):
            continue
        index.writer.delete_documents_by_term("_id", doc_id)
        index.writer.add_json(record.decode())
        replayed.add(doc_id)
        gone.discard(doc_id)
        index.seq = max(index.seq, int(rec["_seq"]) + 1)
        count += 1
    if count:
        log.info("index %s: replayed %d documents from the write-ahead log", index.meta.name, count)
        index.writer.commit()
    index.tindex.reload()
    index.wal.drop_through(index.wal.gen - 1)
