"""logstore benchmark: _bulk ingest via helpers.bulk vs raw tantivy, search p95, freshness, RSS.

    .venv/bin/python bench/logstore_ingest.py --docs 200000

Starts fresh logstores on free ports (23000-23999) with temporary data dirs. Ingest rounds
(`--repeat`, default 3) interleave the variants so a neighbour's load hits them alike; medians
are shown, with CPU per document from /proc, which that load disturbs far less than docs/s.
The 1M-document search figures come from bench/logstore_search.py.

`--shape shipper` sends what the log shipper sends instead: `create` with a unique `_id` and a
flat dotted ECS document, 1000 a request (the search figures keep the nested shape);
`--connections N` sends with N concurrent clients, so that requests overlap.

`--baseline DIR` adds, in each round, a run against the logstore found in DIR (a copy of an
older tree's `stack/`), so before/after numbers come from one run. `--orjson-client` adds a run
whose client serialises with the client's own `OrjsonSerializer`. Each round also times raw
tantivy (`add_json` of prebuilt records into the same schema, then one commit), and the run
measures the client's own ceiling: `helpers.bulk` against a null server (a separate process
that answers every `_bulk` at once with a canned, valid reply), the most docs/s this client
can send on this machine whatever the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import tantivy
from elasticsearch import Elasticsearch, helpers
from elasticsearch.serializer import OrjsonSerializer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from logstore.records import RecordBuilder
from logstore.schema import build_schema, fields_from_mapping
from logstore.testing import PASSWORDS, Server, free_port, make_server

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


def shipper_doc(i: int) -> dict[str, object]:
    """An app log line as the shipper sends it: the chassis' ECS line (flat dotted keys) with
    what rsyslog adds (tags, event.dataset, host.name); `event.id` is also its `_id`."""
    ts = BASE + timedelta(milliseconds=i * 10)
    error = i % 50 == 0
    service = SERVICES[i % 5]
    return {
        "tags": ["error"] if error else [],
        "@timestamp": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "log.level": "error" if error else "info",
        "message": f"{'POST' if i % 3 == 0 else 'GET'} /api/{service}/{i % 1000} "
                   f"returned {500 if error else 200} in {i % 97} ms trace {i:016x}",
        "ecs.version": "8.11.0", "event.id": f"{service}-{i:012d}",
        "http.request.id": f"{i:032x}", "log.logger": f"{service}.api",
        "log.origin.file.line": 40 + i % 200, "log.origin.file.name": "handlers.py",
        "log.origin.function": "handle", "process.pid": 4000 + i % 7,
        "process.thread.name": "MainThread", "service.name": service,
        "service.version": "1.4.2", "event.dataset": "app", "host.name": "node-1",
    }  # fmt: skip


def bulk_action(shape: str, i: int) -> dict[str, object]:
    """One helpers.bulk action of the shape: `ecs` (index, no _id) or `shipper`."""
    if shape == "shipper":
        return {"_op_type": "create", "_index": "logs-app-2024.05.01",
                "_id": f"{SERVICES[i % 5]}-{i:012d}", "_source": shipper_doc(i)}  # fmt: skip
    return {"_index": "logs-bench-2024.05.01", "_source": doc(i)}


def raw_tantivy(n: int, shape: str = "ecs") -> tuple[float, float]:
    """tantivy alone on prebuilt records: docs/s and CPU per document (us, every thread)."""
    fields = fields_from_mapping({})
    build = RecordBuilder(fields)
    records = []
    for i in range(n):
        src = shipper_doc(i) if shape == "shipper" else doc(i)
        records.append(build(src, orjson.dumps(src), str(i), 1, i).decode())
    with tempfile.TemporaryDirectory() as tmp:
        index = tantivy.Index(build_schema(fields), path=tmp)
        writer = index.writer(heap_size=96_000_000, num_threads=2)
        started, cpu = time.perf_counter(), time.process_time()
        for rec in records:
            writer.add_json(rec)
        writer.commit()
        return n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1e6


async def _null_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    replies: dict[int, bytes] = {}
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length)
        n = body.count(b"\n") // 2
        if n not in replies:
            item = {"index": {"_index": "x", "_id": "1", "_version": 1, "result": "created",
                              "status": 201}}  # fmt: skip
            replies[n] = orjson.dumps({"took": 0, "errors": False, "items": [item] * n})
        payload = replies[n]
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"x-elastic-product: Elasticsearch\r\ncontent-length: %d\r\n\r\n"
            % len(payload)
            + payload
        )
        await writer.drain()


def null_server(port: int) -> None:
    async def serve() -> None:
        server = await asyncio.start_server(_null_conn, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def client_ceiling(n: int, *, orjson_client: bool, shape: str = "ecs") -> str:
    """helpers.bulk against the null server: the client's own cost per document."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--null-server", str(port)])
    try:
        time.sleep(1.0)
        kwargs: dict[str, object] = {"serializer": OrjsonSerializer()} if orjson_client else {}
        es = Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=30, **kwargs)  # type: ignore[arg-type]
        actions = (bulk_action(shape, i) for i in range(n))
        c0, t0 = time.process_time(), time.perf_counter()
        ok, _ = helpers.bulk(es, actions, chunk_size=2000, max_chunk_bytes=20_000_000)
        rate = ok / (time.perf_counter() - t0)
        return f"{rate:,.0f} docs/s (client CPU {(time.process_time() - c0) / ok * 1e6:.0f} us/doc)"
    finally:
        proc.kill()
        proc.wait()


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


def ingest(
    es: Elasticsearch, n: int, server: Server, shape: str = "ecs", connections: int = 1
) -> tuple[float, float, float]:
    """Docs/s, and CPU per document (us) of the server and of this client (steadier than
    docs/s on a shared machine). `connections` > 1: as many threads, each sending its share
    with helpers.bulk, so that requests overlap (a pipelining shipper)."""
    assert server.proc is not None
    chunk = 1000 if shape == "shipper" else 2000  # the shipper's batch, helpers.bulk's default
    sent: list[int] = []

    def send(part: range) -> None:
        actions = (bulk_action(shape, i) for i in part)
        ok, _ = helpers.bulk(es, actions, chunk_size=chunk, max_chunk_bytes=20_000_000)
        sent.append(ok)

    threads = [
        threading.Thread(target=send, args=(range(k, n, connections),)) for k in range(connections)
    ]
    s0, c0, t0 = cpu_seconds(server.proc.pid), time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = sum(sent)
    assert ok == n, f"{n - ok} documents not acknowledged"
    rate = ok / (time.perf_counter() - t0)
    server_us = (cpu_seconds(server.proc.pid) - s0) / ok * 1e6
    client_us = (time.process_time() - c0) / ok * 1e6
    return rate, server_us, client_us


def show(label: str, runs: list[tuple[float, float, float]]) -> float:
    """Print every run and the medians; returns the median docs/s."""
    rate = statistics.median(r[0] for r in runs)
    each = ", ".join(f"{r[0]:,.0f}" for r in runs)
    print(
        f"{label}: median {rate:,.0f} docs/s (runs: {each}); CPU per doc: server "
        f"{statistics.median(r[1] for r in runs):.0f} us, "
        f"client {statistics.median(r[2] for r in runs):.0f} us"
    )
    return rate


def orjson_client(server: Server, timeout: float = 30) -> Elasticsearch:
    return Elasticsearch(
        server.url,
        basic_auth=("elastic", PASSWORDS["elastic"]),
        serializer=OrjsonSerializer(),
        request_timeout=timeout,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="ingest rounds (medians shown)")
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--baseline", type=Path, help="a tree holding an older logstore")
    parser.add_argument("--orjson-client", action="store_true")
    parser.add_argument(
        "--shape",
        choices=("ecs", "shipper"),
        default="ecs",
        help="ecs: nested documents, `index` without _id; shipper: the log shipper's "
        "`create` with a unique _id and a flat dotted ECS document",
    )
    parser.add_argument(
        "--connections", type=int, default=1, help="concurrent bulk senders in each ingest run"
    )
    parser.add_argument("--null-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.null_server:
        null_server(args.null_server)
        return
    sample = shipper_doc(1) if args.shape == "shipper" else doc(1)
    print(f"docs={args.docs} shape={args.shape} doc_bytes={len(orjson.dumps(sample))} "
          f"rounds={args.repeat}")  # fmt: skip
    ceiling = client_ceiling(args.docs, orjson_client=False, shape=args.shape)
    print(f"client ceiling, helpers.bulk to a null server: {ceiling}")
    if args.orjson_client:
        ceiling = client_ceiling(args.docs, orjson_client=True, shape=args.shape)
        print(f"client ceiling, OrjsonSerializer: {ceiling}")
    # Rounds interleave the variants, so a neighbour's load hits them alike.
    old_runs, new_runs, fast_runs, raw_runs = [], [], [], []
    for _ in range(args.repeat):
        if args.baseline:
            with tempfile.TemporaryDirectory() as tmp, started(Path(tmp), args.baseline) as old:
                old_runs.append(ingest(old.client(), args.docs, old, args.shape, args.connections))
        with tempfile.TemporaryDirectory() as tmp, started(Path(tmp)) as srv:
            new_runs.append(ingest(srv.client(), args.docs, srv, args.shape, args.connections))
        if args.orjson_client:
            with tempfile.TemporaryDirectory() as tmp, started(Path(tmp)) as srv:
                fast_runs.append(ingest(orjson_client(srv), args.docs, srv, args.shape))
        raw_runs.append(raw_tantivy(min(args.docs, 100_000), args.shape))
    if old_runs:
        show(f"baseline ({args.baseline}) helpers.bulk", old_runs)
    rate = show("ingest helpers.bulk", new_runs)
    if fast_runs:
        show("ingest helpers.bulk, OrjsonSerializer client", fast_runs)
    raw = statistics.median(r[0] for r in raw_runs)
    raw_cpu = statistics.median(r[1] for r in raw_runs)
    print(
        f"raw tantivy add_json + commit (prebuilt records, same schema): {raw:,.0f} docs/s, "
        f"{raw_cpu:.0f} us CPU per doc; ingest/raw ratio {rate / raw:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp, started(Path(tmp)) as server:
        es = server.client()
        assert server.proc is not None
        ingest(es, args.docs, server)
        es.indices.refresh(index="logs-bench-*")
        body: dict[str, Any] = {
            "query": {"query_string": {"query": "service.name:games AND GET"}}, "size": 0,
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
    print(f"search qs+date_histogram+terms: p50 {statistics.median(lat):.1f} ms, p95 {p95:.1f} ms")
    print(f"freshness index->visible: p95 {f95:.2f} s")
    print(f"logstore RSS after ingest: {rss:.0f} MB")


if __name__ == "__main__":
    main()
