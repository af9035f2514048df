"""logstore benchmark: _bulk ingest via helpers.bulk vs raw tantivy, search p95, freshness, RSS.

    .venv/bin/python bench/logstore_ingest.py --docs 200000

Starts a fresh logstore on a free port with a temporary data dir; keep a run under ~2 minutes
on the shared 2-core machine (the issue's 1M-doc search figure needs --docs 1000000, ~5 min).

`--baseline DIR` first measures ingest against the logstore found in DIR (a copy of an older
tree, e.g. `mkdir DIR && git archive REV stack | tar -x -C DIR`), so before/after numbers come
from one run. `--orjson-client`
adds a run whose client serialises with the client's own `OrjsonSerializer`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import tantivy
from elasticsearch import Elasticsearch, helpers
from elasticsearch.serializer import OrjsonSerializer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stack.standins.logstore.schema import RecordBuilder, build_schema, fields_from_mapping
from tests.logstore.conftest import PASSWORDS, Server, make_server

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
    build = RecordBuilder(fields)
    records = []
    for i in range(n):
        src = doc(i)
        records.append(build(src, orjson.dumps(src), str(i), 1, i).decode())
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


@contextlib.contextmanager
def started(tmp: Path, tree: Path | None = None) -> Iterator[Server]:
    """A fresh logstore; from `tree` (python -m resolves `stack` from the cwd) if given."""
    here = Path.cwd()
    if tree is not None:
        os.chdir(tree)
    try:
        server = make_server(tmp)
    finally:
        os.chdir(here)
    try:
        yield server
    finally:
        if server.proc is not None:
            server.stop()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest(es: Elasticsearch, n: int, server: Server) -> str:
    """Docs/s, and CPU per document of the server and of this client (steadier than docs/s
    on a shared machine)."""
    assert server.proc is not None
    actions = ({"_index": "logs-bench-2024.05.01", "_source": doc(i)} for i in range(n))
    s0, c0, t0 = cpu_seconds(server.proc.pid), time.process_time(), time.perf_counter()
    ok, _ = helpers.bulk(es, actions, chunk_size=2000, max_chunk_bytes=20_000_000)
    rate = ok / (time.perf_counter() - t0)
    server_us = (cpu_seconds(server.proc.pid) - s0) / ok * 1e6
    client_us = (time.process_time() - c0) / ok * 1e6
    return f"{rate:,.0f} docs/s (CPU per doc: server {server_us:.0f} us, client {client_us:.0f} us)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--baseline", type=Path, help="a tree holding an older logstore")
    parser.add_argument("--orjson-client", action="store_true")
    args = parser.parse_args()
    sample = len(orjson.dumps(doc(1)))
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp, started(Path(tmp), args.baseline) as old:
            print(
                f"baseline ({args.baseline}) helpers.bulk: {ingest(old.client(), args.docs, old)}"
            )
    if args.orjson_client:
        with tempfile.TemporaryDirectory() as tmp, started(Path(tmp)) as srv:
            client = Elasticsearch(
                srv.url,
                basic_auth=("elastic", PASSWORDS["elastic"]),
                serializer=OrjsonSerializer(),
                request_timeout=30,
            )
            rate = ingest(client, args.docs, srv)
            print(f"ingest helpers.bulk, OrjsonSerializer client: {rate}")
    with tempfile.TemporaryDirectory() as tmp, started(Path(tmp)) as server:
        es = server.client()
        assert server.proc is not None
        t0 = time.perf_counter()
        ingested = ingest(es, args.docs, server)
        ingest_rate = args.docs / (time.perf_counter() - t0)
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
    p95 = statistics.quantiles(lat, n=20)[18]
    f95 = statistics.quantiles(fresh, n=20)[18]
    print(f"docs={args.docs} doc_bytes={sample}")
    print(f"ingest helpers.bulk: {ingested}")
    ratio = ingest_rate / raw
    print(f"raw tantivy add_json (prebuilt records): {raw:,.0f} docs/s; ratio {ratio:.2f}")
    print(f"search qs+date_histogram+terms: p50 {statistics.median(lat):.1f} ms, p95 {p95:.1f} ms")
    print(f"freshness index->visible: p95 {f95:.2f} s")
    print(f"logstore RSS after ingest: {rss:.0f} MB")


if __name__ == "__main__":
    main()
