"""logstore benchmark: _bulk ingest via helpers.bulk vs raw tantivy, search p95, freshness, RSS.

    .venv/bin/python bench/logstore_ingest.py --docs 200000

Starts a fresh logstore on a free port with a temporary data dir; keep a run under ~2 minutes
on the shared 2-core machine (the issue's 1M-doc search figure needs --docs 1000000, ~5 min).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import tantivy
from elasticsearch import helpers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stack.standins.logstore.schema import build_schema, fields_from_mapping, to_record
from tests.logstore.conftest import make_server

BASE = datetime(2024, 5, 1, tzinfo=UTC)
SERVICES = ["auth", "users", "games", "gateway", "status"]


def doc(i: int) -> dict[str, object]:
    ts = BASE + timedelta(milliseconds=i * 10)
    return {
        "@timestamp": ts.isoformat().replace("+00:00", "Z"),
        "log": {"level": "error" if i % 50 == 0 else "info", "logger": "app.api"},
        "service": {"name": SERVICES[i % 5], "version": "1.4.2"},
        "event": {"dataset": f"{SERVICES[i % 5]}.app", "duration": (i % 997) * 1000},
        "http": {"request": {"method": "GET" if i % 3 else "POST"},
                 "response": {"status_code": 500 if i % 50 == 0 else 200}},
        "url": {"path": f"/api/{SERVICES[i % 5]}/{i % 1000}"},
        "user": {"id": f"u-{i % 5000}"}, "host": {"name": "node-1"}, "tags": ["app", "json"],
        "message": f"{'POST' if i % 3 == 0 else 'GET'} /api/{SERVICES[i % 5]}/{i % 1000} "
                   f"returned {500 if i % 50 == 0 else 200} in {i % 97} ms trace {i:016x}",
    }  # fmt: skip


def raw_tantivy(n: int) -> float:
    fields = fields_from_mapping({})
    records = []
    for i in range(n):
        src = doc(i)
        raw = orjson.dumps(src)
        records.append(to_record(src, raw, doc_id=str(i), version=1, seq=i, fields=fields).decode())
    with tempfile.TemporaryDirectory() as tmp:
        index = tantivy.Index(build_schema(fields), path=tmp)
        writer = index.writer(heap_size=96_000_000, num_threads=2)
        started = time.perf_counter()
        for rec in records:
            writer.add_json(rec)
        writer.commit()
        return n / (time.perf_counter() - started)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--searches", type=int, default=100)
    args = parser.parse_args()
    sample = len(orjson.dumps(doc(1)))
    with tempfile.TemporaryDirectory() as tmp:
        server = make_server(Path(tmp))
        es = server.client()
        assert server.proc is not None
        actions = ({"_index": "logs-bench-2024.05.01", "_source": doc(i)} for i in range(args.docs))
        started = time.perf_counter()
        ok, _ = helpers.bulk(es, actions, chunk_size=2000, max_chunk_bytes=20_000_000)
        ingest = ok / (time.perf_counter() - started)
        es.indices.refresh(index="logs-bench-*")
        raw = raw_tantivy(min(args.docs, 100_000))
        body = {"query": {"query_string": {"query": "service.name:games AND GET"}}, "size": 0,
                "aggs": {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m"}},
                         "s": {"terms": {"field": "log.level"}}}}  # fmt: skip
        lat = []
        for _ in range(args.searches):
            t0 = time.perf_counter()
            es.search(index="logs-bench-*", **body)
            lat.append((time.perf_counter() - t0) * 1000)
        fresh = []
        for i in range(20):
            t0 = time.perf_counter()
            es.index(index="logs-bench-2024.05.01", document={"message": f"freshmarker{i}"})
            while not es.count(index="logs-bench-*", q=f"freshmarker{i}")["count"]:
                time.sleep(0.02)
            fresh.append(time.perf_counter() - t0)
        rss = rss_mb(server.proc.pid)
        server.stop()
    p95 = statistics.quantiles(lat, n=20)[18]
    f95 = statistics.quantiles(fresh, n=20)[18]
    print(f"docs={args.docs} doc_bytes={sample}")
    print(f"ingest helpers.bulk: {ingest:,.0f} docs/s")
    print(f"raw tantivy add_json (prebuilt records): {raw:,.0f} docs/s; ratio {ingest / raw:.2f}")
    print(f"search qs+date_histogram+terms: p50 {statistics.median(lat):.1f} ms, p95 {p95:.1f} ms")
    print(f"freshness index->visible: p95 {f95:.2f} s")
    print(f"logstore RSS after ingest: {rss:.0f} MB")


if __name__ == "__main__":
    main()
