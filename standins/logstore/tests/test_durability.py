"""kill -9 during bulk ingest loses no acknowledged document and duplicates none."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from elasticsearch import Elasticsearch, helpers
from logstore.testing import Server


def test_kill9_keeps_every_acknowledged_doc(fresh_server: Server) -> None:
    es = Elasticsearch(fresh_server.url, basic_auth=("elastic", "elastic-pw-1"), max_retries=0)
    acked: list[str] = []
    stop = threading.Event()

    def ingest() -> None:
        n = 0
        while not stop.is_set():
            batch: list[dict[str, Any]] = [
                {
                    "_op_type": "create",
                    "_index": "logs-dur-2024.01.01",
                    "_id": f"id{n + i}",
                    "_source": {"message": f"m{n + i}", "@timestamp": "2024-01-01T00:00:00Z"},
                }
                for i in range(200)
            ]
            try:
                ok, _ = helpers.bulk(es, batch)
            except Exception:
                return
            acked.extend(b["_id"] for b in batch[:ok])
            n += 200

    worker = threading.Thread(target=ingest)
    worker.start()
    time.sleep(1.5)
    fresh_server.stop(signal.SIGKILL)
    stop.set()
    worker.join(timeout=10)
    assert len(acked) > 1000
    fresh_server.start()
    es2 = fresh_server.client()
    es2.indices.refresh(index="logs-dur-2024.01.01")
    found = [h["_id"] for h in helpers.scan(es2, index="logs-dur-2024.01.01", size=1000)]
    assert len(found) == len(set(found)), "duplicated documents after replay"
    missing = set(acked) - set(found)
    assert not missing, f"{len(missing)} acknowledged docs lost, e.g. {sorted(missing)[:3]}"


def test_sigterm_stops_quickly(fresh_server: Server) -> None:
    fresh_server.client().index(index="logs-term-2024.01.01", document={"message": "x"})
    started = time.monotonic()
    code = fresh_server.stop(signal.SIGTERM)
    assert code == 0 and time.monotonic() - started < 5
    fresh_server.start()
    assert fresh_server.client().count(index="logs-term-2024.01.01")["count"] == 1
