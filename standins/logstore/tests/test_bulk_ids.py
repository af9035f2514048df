"""A `_bulk` request's `_id`s are looked up in the committed index at once (LogIndex.committed_of):
`create` still conflicts with a committed, pending or committing document and with an earlier
item of the same request, and a deleted document may be created again, as with one lookup per
document."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from logstore.engine import LogIndex
from logstore.indexmeta import IndexMeta, WriteOp
from logstore.wal_ops import Committed


def _index(path: Path) -> LogIndex:
    meta = IndexMeta(name="logs-app-2024.05.01", uuid="u", creation_date=0)
    return LogIndex(path, meta, writer_threads=1)


@pytest.fixture()
def index(tmp_path: Path) -> Iterator[LogIndex]:
    idx = _index(tmp_path / "i")
    yield idx
    idx.close()


def op(action: str, doc_id: str, n: int = 0) -> WriteOp:
    source = {"message": f"line {n}", "event.id": doc_id, "log.level": "info"}
    return WriteOp(action, doc_id, source if action != "delete" else None, orjson.dumps(source))


def statuses(results: list[dict[str, Any]]) -> list[int]:
    return [r["status"] for r in results]


def conflict(result: dict[str, Any]) -> str:
    return str(result["error"]["type"])


def test_create_conflicts_with_a_committed_document(index: LogIndex) -> None:
    index.write([op("create", "a"), op("create", "b")])
    index.refresh()
    results = index.write([op("create", "c"), op("create", "a"), op("create", "d")])
    assert statuses(results) == [201, 409, 201]
    assert conflict(results[1]) == "version_conflict_engine_exception"
    assert "document already exists (current version [1])" in results[1]["error"]["reason"]


def test_create_conflicts_with_an_earlier_item_of_the_same_request(index: LogIndex) -> None:
    results = index.write([op("create", "a"), op("create", "b"), op("create", "a")])
    assert statuses(results) == [201, 201, 409]
    assert conflict(results[2]) == "version_conflict_engine_exception"


def test_create_conflicts_with_a_pending_document(index: LogIndex) -> None:
    index.write([op("create", "a")])  # acknowledged, not committed
    assert statuses(index.write([op("create", "a"), op("create", "b")])) == [409, 201]


def test_create_conflicts_with_a_document_being_committed(index: LogIndex) -> None:
    index.write([op("create", "a")])
    # What a refresh does first (under the lock), before tantivy's commit shows the document.
    with index.lock:
        index.committing.update(index.pending)
        index.pending = {}
    assert statuses(index.write([op("create", "a")])) == [409]


def test_a_whole_request_of_committed_ids_conflicts(index: LogIndex) -> None:
    ids = [f"e-{i}" for i in range(50)]
    index.write([op("create", i) for i in ids])
    index.refresh()
    # Every id found: as many hits as ids looked up, nothing left to look up one by one.
    assert statuses(index.write([op("create", i) for i in ids])) == [409] * 50


def test_a_deleted_document_can_be_created_again(index: LogIndex) -> None:
    index.write([op("create", "a"), op("create", "b")])
    index.refresh()
    results = index.write([op("delete", "a"), op("create", "a"), op("create", "b")])
    assert statuses(results) == [200, 201, 409]
    assert results[1]["_version"] == 3  # the tombstone's version goes on, as ES's does
    index.write([op("delete", "b")])
    index.refresh()  # committed deleted: gone from the index
    results = index.write([op("create", "b"), op("delete", "nothing")])
    assert statuses(results) == [201, 404]
    assert results[0]["_version"] == 1


def test_index_and_delete_see_committed_versions(index: LogIndex) -> None:
    index.write([op("create", "a")])
    index.refresh()
    results = index.write([op("index", "a"), op("delete", "a"), op("delete", "a")])
    assert statuses(results) == [200, 200, 404]
    assert [r["_version"] for r in results] == [2, 3, 4]


def _random_requests(seed: int) -> list[list[WriteOp]]:
    rnd = random.Random(seed)
    ids = [f"id-{i}" for i in range(40)]
    return [
        [
            op(rnd.choice(("create", "create", "index", "delete")), rnd.choice(ids), n)
            for n in range(rnd.randint(1, 30))
        ]
        for _ in range(40)
    ]


def test_answers_are_those_of_one_lookup_per_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same requests, with refreshes between some, against an index that looks every id
    up on its own: every result is the same."""
    requests = _random_requests(7)
    refresh_after = {i for i in range(len(requests)) if i % 3 == 2}

    def run(index: LogIndex) -> list[list[dict[str, Any]]]:
        out = []
        for i, ops in enumerate(requests):
            out.append(index.write(ops))
            if i in refresh_after:
                index.refresh()
        index.close()
        return out

    batched = run(_index(tmp_path / "batched"))
    one_by_one = _index(tmp_path / "one-by-one")
    monkeypatch.setattr(one_by_one, "committed_of", lambda ops: Committed(frozenset(), {}))
    assert batched == run(one_by_one)
    assert {409, 404, 201, 200} <= {r["status"] for results in batched for r in results}
