"""Writes racing commits: an acknowledged document is always visible to realtime GET and to
`create` (409) — whether it is pending, in the commit under way, or committed — and none is lost
or duplicated. Commits run outside the write lock, tantivy adds off the request path."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
from logstore.engine import LogIndex
from logstore.indexmeta import IndexMeta, WriteOp


def _op(action: str, doc_id: str) -> WriteOp:
    src = {"message": f"m {doc_id}", "@timestamp": "2024-01-01T00:00:00Z"}
    return WriteOp(action, doc_id, src, orjson.dumps(src))


def test_writes_racing_commits(tmp_path: Path) -> None:
    meta = IndexMeta(name="logs-race-2024.01.01", uuid="u1", creation_date=0)
    kicks = threading.Event()
    index = LogIndex(tmp_path / "i", meta, writer_threads=1, kick=kicks.set)
    stop = threading.Event()

    def committer() -> None:
        while not stop.is_set():
            index.refresh()

    def indexer() -> None:
        while not stop.is_set():
            if kicks.wait(0.01):
                kicks.clear()
                index.drain()

    threads = [threading.Thread(target=committer), threading.Thread(target=indexer)]
    for thread in threads:
        thread.start()
    try:
        for n in range(300):
            (res,) = index.write([_op("create", f"d{n}")])
            assert res["status"] == 201
            (again,) = index.write([_op("create", f"d{n}")])
            assert again["status"] == 409, again
            assert index.get(f"d{n}") is not None
            if n % 25 == 0:  # refresh=wait_for while a commit may be under way
                index.wait_for_refresh(timeout=10)
                assert index.get_committed(f"d{n}") is not None
            if n % 10 == 0:
                (upd,) = index.write([_op("index", f"d{n}")])
                assert upd["status"] == 200 and upd["_version"] == 2
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    index.refresh()
    assert index.doc_count() == 300
    index.close()
    reopened = LogIndex(tmp_path / "i", meta, writer_threads=1)
    assert reopened.doc_count() == 300
    found = reopened.get("d10")
    assert found is not None and found[1] == 2
    reopened.close()
