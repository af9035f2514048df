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

`--baseline DIR` measures the logstore of another tree (a `git worktree` of main) beside this
one in the same run: search rounds and freshness samples alternate between the two servers.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from logstore_ingest import cpu_seconds, doc, orjson_client, rss_mb, started

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from logstore.testing import Server

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


@dataclass
class Target:
    """One logstore under test: the tree it runs from, its server and a client."""

    label: str
    server: Server
    es: Elasticsearch
    tmp: Path

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid


def load_phase(t: Target, docs: int) -> None:
    t0, c0 = time.perf_counter(), cpu_seconds(t.pid)
    load(t.es, 0, docs)
    took = time.perf_counter() - t0
    print(
        f"[{t.label}] loaded {docs:,} docs in {took:.0f} s ({docs / took:,.0f} docs/s, "
        f"server CPU {(cpu_seconds(t.pid) - c0) / docs * 1e6:.0f} us/doc)"
    )
    t0 = time.perf_counter()
    count = t.es.count(index=INDEX)["count"]  # a search-idle index refreshes first
    print(f"[{t.label}] first search after the load: {time.perf_counter() - t0:.2f} s, "
          f"count {count:,}; RSS {rss_mb(t.pid):.0f} MB")  # fmt: skip


def search_phase(targets: list[Target], rounds: int) -> None:
    """Rounds alternate between the targets, so a neighbour's load hits them alike."""
    lat: dict[str, dict[str, list[float]]] = {t.label: {q: [] for q in QUERIES} for t in targets}
    hits: dict[str, dict[str, int]] = {t.label: {} for t in targets}
    for _ in range(rounds):
        for t in targets:
            for q in QUERIES:
                t0 = time.perf_counter()
                res = t.es.search(index="logs-bench-*", **search_body(q))
                lat[t.label][q].append((time.perf_counter() - t0) * 1000)
                hits[t.label][q] = res["hits"]["total"]["value"]
    for t in targets:
        every = [v for values in lat[t.label].values() for v in values]
        print(
            f"[{t.label}] search qs+date_histogram+terms, {len(every)} requests: "
            f"p50 {statistics.median(every):.1f} ms, p95 {p95(every):.1f} ms, "
            f"max {max(every):.1f} ms"
        )
        for q in QUERIES:
            print(f"  {q!r}: hits {hits[t.label][q]:,}, p95 {p95(lat[t.label][q]):.1f} ms")
        print(f"[{t.label}] RSS after searches: {rss_mb(t.pid):.0f} MB")


def freshness_phase(targets: list[Target], samples: int, docs: int) -> None:
    """Idle, then while a second client bulk-loads into the same server; each target in
    turn, in blocks of 5 samples, alternating."""
    for phase in ("idle", "busy"):
        found: dict[str, list[float]] = {t.label: [] for t in targets}
        for block in range(0, samples, 5):
            for t in targets:
                stop = threading.Event()

                def background(es: Elasticsearch = t.es, stop: threading.Event = stop) -> None:
                    start = docs + 1
                    while not stop.is_set():
                        load(es, start, 2000)
                        start += 2000

                loader = threading.Thread(target=background, daemon=True)
                if phase == "busy":
                    loader.start()
                try:
                    found[t.label] += freshness(t.es, min(5, samples - block), f"{phase}{block}")
                finally:
                    stop.set()
                    if phase == "busy":
                        loader.join()
        for t in targets:
            values = found[t.label]
            print(
                f"[{t.label}] freshness {phase}: p50 {statistics.median(values):.2f} s, "
                f"p95 {p95(values):.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40, help="passes over the query list")
    parser.add_argument("--fresh", type=int, default=30, help="freshness samples per phase")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also measure the logstore of this tree (e.g. a `git worktree` of main), side by "
        "side: loads one after the other, search rounds and freshness blocks alternating",
    )
    args = parser.parse_args()
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.baseline:
        trees.append((f"baseline {args.baseline}", args.baseline))
    with contextlib.ExitStack() as stack:
        targets = []
        for label, tree in trees:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            server = stack.enter_context(started(tmp, tree))
            targets.append(Target(label, server, orjson_client(server, timeout=120), tmp))
        for t in targets:
            load_phase(t, args.docs)
        for t in targets:
            print(f"[{t.label}] server quiet (merges done) after {quiesce(t.pid):.0f} s")
            size = sum(p.stat().st_size for p in Path(t.tmp, "data").rglob("*") if p.is_file())
            print(f"[{t.label}] data dir: {size / 1e6:.0f} MB")
        search_phase(targets, args.rounds)
        freshness_phase(targets, args.fresh, args.docs)
        for t in targets:
            print(f"[{t.label}] RSS at the end: {rss_mb(t.pid):.0f} MB")


if __name__ == "__main__":
    main()
