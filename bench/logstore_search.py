"""logstore search benchmark over a large index: query latency, freshness and memory.

    .venv/bin/python bench/logstore_search.py --docs 1000000

Starts a fresh logstore on a free port (23000-23999) with a temporary data dir, loads `--docs`
ECS-like documents (~420 B, bench/logstore_ingest.py's generator, 10 ms apart: 1M documents
span ~2.8 hours in one daily index) with `helpers.bulk`, then measures:

- search latency, client-side, of `query_string` + `date_histogram` + `terms` (the
  query), over several query strings, sequentially, once the server is quiet (tantivy's
  merges after the load done);
- freshness: `index` one document (no refresh parameter), then poll `_count` for it every
  20 ms; the time until it is counted. Measured idle and while a second client keeps
  bulk-loading;
- the server's RSS (from /proc) after the load and after the searches, and the index size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers
from elasticsearch.serializer import OrjsonSerializer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from logstore_ingest import cpu_seconds, doc, rss_mb, started

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from logstore.testing import PASSWORDS

INDEX = "logs-bench-2024.05.01"
QUERIES = [
    "service.name:games AND GET",
    "log.level:error",
    "returned AND 500",
    "service.name:auth OR service.name:users",
    "GET AND NOT service.name:status",
    "trace",
]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def load(es: Elasticsearch, start: int, n: int) -> None:
    actions = ({"_index": INDEX, "_source": doc(i)} for i in range(start, start + n))
    helpers.bulk(es, actions, chunk_size=2000, max_chunk_bytes=20_000_000)


def search_body(query: str) -> dict[str, Any]:
    return {
        "query": {"query_string": {"query": query}},
        "size": 0,
        "aggs": {
            "per_minute": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m"}},
            "levels": {"terms": {"field": "log.level"}},
            "services": {"terms": {"field": "service.name", "size": 10}},
        },
    }


def quiesce(pid: int, limit: float = 120.0) -> float:
    """Wait until the server uses under 5% of a core over a second (tantivy's background
    merges after a big load would otherwise be timed as search latency); returns the wait."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < 0.05:
            break
    return time.perf_counter() - t0


def freshness(es: Elasticsearch, samples: int, tag: str) -> list[float]:
    out = []
    for i in range(samples):
        marker = f"fresh{tag}{i}x"
        t0 = time.perf_counter()
        es.index(index=INDEX, document={"@timestamp": "2024-05-01T00:00:00Z", "message": marker})
        while not es.count(index=INDEX, q=f"message:{marker}")["count"]:
            time.sleep(0.02)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40, help="passes over the query list")
    parser.add_argument("--fresh", type=int, default=30, help="freshness samples per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, started(Path(tmp)) as server:
        assert server.proc is not None
        pid = server.proc.pid
        es = Elasticsearch(
            server.url,
            basic_auth=("elastic", PASSWORDS["elastic"]),
            serializer=OrjsonSerializer(),
            request_timeout=120,
        )
        t0, c0 = time.perf_counter(), cpu_seconds(pid)
        load(es, 0, args.docs)
        took = time.perf_counter() - t0
        print(
            f"loaded {args.docs:,} docs in {took:.0f} s ({args.docs / took:,.0f} docs/s, "
            f"server CPU {(cpu_seconds(pid) - c0) / args.docs * 1e6:.0f} us/doc)"
        )
        t0 = time.perf_counter()
        count = es.count(index=INDEX)["count"]  # a search-idle index refreshes first
        print(f"first search after the load: {time.perf_counter() - t0:.2f} s, count {count:,}")
        print(f"RSS after load: {rss_mb(pid):.0f} MB")
        print(f"server quiet (merges done) after {quiesce(pid):.0f} s")
        size = sum(p.stat().st_size for p in Path(tmp, "data").rglob("*") if p.is_file())
        print(f"data dir: {size / 1e6:.0f} MB")

        lat: dict[str, list[float]] = {q: [] for q in QUERIES}
        hits: dict[str, int] = {}
        for _ in range(args.rounds):
            for q in QUERIES:
                t0 = time.perf_counter()
                res = es.search(index="logs-bench-*", **search_body(q))
                lat[q].append((time.perf_counter() - t0) * 1000)
                hits[q] = res["hits"]["total"]["value"]
        every = [v for values in lat.values() for v in values]
        print(
            f"search qs+date_histogram+terms, {len(every)} requests: "
            f"p50 {statistics.median(every):.1f} ms, p95 {p95(every):.1f} ms, "
            f"max {max(every):.1f} ms"
        )
        for q in QUERIES:
            print(f"  {q!r}: hits {hits[q]:,}, p95 {p95(lat[q]):.1f} ms")
        print(f"RSS after searches: {rss_mb(pid):.0f} MB")

        idle = freshness(es, args.fresh, "idle")
        print(f"freshness idle: p50 {statistics.median(idle):.2f} s, p95 {p95(idle):.2f} s")
        stop = threading.Event()

        def background() -> None:
            start = args.docs + 1
            while not stop.is_set():
                load(es, start, 2000)
                start += 2000

        loader = threading.Thread(target=background, daemon=True)
        loader.start()
        try:
            busy = freshness(es, args.fresh, "busy")
        finally:
            stop.set()
            loader.join()
        print(
            f"freshness during bulk load: p50 {statistics.median(busy):.2f} s, "
            f"p95 {p95(busy):.2f} s"
        )
        print(f"RSS at the end: {rss_mb(pid):.0f} MB")


if __name__ == "__main__":
    main()
