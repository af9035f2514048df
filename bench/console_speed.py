"""The console's speed and memory: dashboards drawn in a real browser, `/api/ds/query` per
panel, a Discover search with its histogram over a large log store, and the process' RSS.

    .venv/bin/python bench/console_speed.py live [--runs 20]          # the running local stack
    .venv/bin/python bench/console_speed.py discover [--docs 1000000] [--runs 50]

`live` needs `python -m stack up` (with some traffic, e.g. `./nox -s load -- steady`) and reads
`.stack/target.yaml`:
- **drawn**: headless chromium (grader/browser.py), logged in as the viewer, opens svc-red for
  the last 15 minutes; the time from asking for the page until every panel has drawn data
  (checked every 20 ms), each run a fresh page load. Runs where a panel had no data are counted
  apart, not timed.
- **ds/query**: every panel query of every dashboard, sent as the dashboard page sends it
  (15-minute range, maxDataPoints 800), sequentially; the latency of each POST.
- **RSS** of the console process (the one listening on Grafana's port), after both.

`discover` starts its own logstore (1M documents, bench/logstore_ingest.py's generator, 10 ms
apart) and a console on free ports, and times Discover's request (500 newest hits, the total,
and the per-interval histogram over the whole range) through `POST /internal/search/es`, for
several query bar texts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from logstore_ingest import BASE, doc  # noqa: E402

from grader import browser  # noqa: E402
from grader.grafana_api import GrafanaAPI  # noqa: E402
from grader.target import dashboards_ui, find_target_file, load_target  # noqa: E402

DISCOVER_QUERIES = ["", "service.name:games", "log.level:error AND http.request.method:POST",
                    "message:returned*", "event.duration:>=500000"]  # fmt: skip


def quantiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"n={len(ordered)} p50={statistics.median(ordered) * 1000:.0f} ms "
        f"p95={p95 * 1000:.0f} ms max={ordered[-1] * 1000:.0f} ms"
    )


def _listener_rss_mb(port: int) -> float:
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid).memory_info().rss / 2**20
    raise SystemExit(f"nothing listens on port {port}: is the stack up?")


def drawn(ui: Any, runs: int) -> tuple[list[float], int]:
    times, incomplete = [], 0
    url = browser.dashboard_url("grafana", ui.url, "svc-red", since="now-15m")
    with browser.chromium() as driver:
        driver.set_window_size(1440, 1000)
        browser.log_in(driver, "grafana", ui.url, ui.login.username, ui.login.password())
        browser.settled_panels(driver, "grafana", url)  # warm: the browser's cache, the fonts
        for _ in range(runs):
            driver.get("about:blank")
            started = time.perf_counter()
            views = browser.settled_panels(driver, "grafana", url, poll=0.02)
            if views and all(v.state == "data" for v in views):
                times.append(time.perf_counter() - started)
            else:
                incomplete += 1
    return times, incomplete


def ds_query(ui: Any, runs: int) -> list[float]:
    times = []
    with GrafanaAPI(ui) as api:
        dashboards = api.dashboards()
        client = httpx.Client(base_url=ui.url, auth=ui.auth(), timeout=30)
        queries = []
        for dashboard in dashboards:
            for panel in dashboard.panels():
                for target in panel.get("targets", []):
                    ds = target.get("datasource") or panel.get("datasource")
                    expr = str(target.get("expr", "")).replace("$service", "games")
                    queries.append({**target, "expr": expr, "datasource": ds,
                                    "intervalMs": 15_000, "maxDataPoints": 800})  # fmt: skip
        for _ in range(runs):
            for query in queries:
                body = {"from": "now-15m", "to": "now", "queries": [query]}
                started = time.perf_counter()
                client.post("/api/ds/query", json=body).raise_for_status()
                times.append(time.perf_counter() - started)
    return times


def live(args: argparse.Namespace) -> None:
    target = load_target(find_target_file(None, rootdir=ROOT, invocation_dir=ROOT))
    ui = dashboards_ui(target, "grafana")
    port = int(ui.url.rsplit(":", 1)[1])
    times, incomplete = drawn(ui, args.runs)
    print(f"svc-red drawn, 15 min: {quantiles(times) if times else 'no complete run'}"
          f" ({incomplete} runs with a panel not drawn)")
    print(f"/api/ds/query per panel query: {quantiles(ds_query(ui, max(1, args.runs // 4)))}")
    print(f"console RSS: {_listener_rss_mb(port):.0f} MB")


def discover_body(query: str, since_ms: int, until_ms: int) -> dict[str, Any]:
    """The body the Discover page sends (standins/console/console/static/kibana/discover.js)."""
    match: dict[str, Any] = (
        {"query_string": {"query": query, "analyze_wildcard": True}} if query else {"match_all": {}}
    )
    interval = "5m"  # Discover's auto interval: about 50 buckets over the 2.8 hours
    return {
        "size": 500,
        "sort": [{"@timestamp": {"order": "desc"}}],
        "track_total_hits": True,
        "query": {"bool": {"filter": [match, {"range": {"@timestamp": {
            "gte": since_ms, "lte": until_ms, "format": "epoch_millis"}}}]}},
        "aggs": {"histogram": {"date_histogram": {
            "field": "@timestamp", "fixed_interval": interval, "min_doc_count": 0,
            "extended_bounds": {"min": since_ms, "max": until_ms}}}},
    }  # fmt: skip


def discover(args: argparse.Namespace) -> None:
    from console.testing import VIEWER, start_console
    from elasticsearch import helpers
    from logstore.testing import make_server

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        store = make_server(tmp / "logstore")
        es = store.client("elastic")
        es.options(ignore_status=400).indices.create(index="logs-bench-2024.05.01")
        started = time.perf_counter()
        actions = ({"_index": "logs-bench-2024.05.01", "_source": doc(i)} for i in range(args.docs))
        helpers.bulk(es, actions, chunk_size=2000, max_chunk_bytes=20_000_000)
        es.indices.refresh(index="logs-*")
        print(f"loaded {args.docs} documents in {time.perf_counter() - started:.0f} s")
        console = start_console(tmp, prometheus_url="http://127.0.0.1:9", logstore_url=store.url)
        try:
            since = int(BASE.timestamp() * 1000)
            until = since + args.docs * 10
            client = httpx.Client(base_url=console.kibana, auth=VIEWER, timeout=60,
                                  headers={"kbn-xsrf": "bench"})  # fmt: skip
            for query in DISCOVER_QUERIES:
                body = {"params": {"index": "logs-*", "body": discover_body(query, since, until)}}
                client.post("/internal/search/es", json=body).raise_for_status()  # warm
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    answer = client.post("/internal/search/es", json=body)
                    times.append(time.perf_counter() - t0)
                    answer.raise_for_status()
                raw = answer.json()["rawResponse"]
                hits = raw["hits"]["total"]["value"]
                buckets = len(raw["aggregations"]["histogram"]["buckets"])
                shown = json.dumps(query) if query else "(empty: every document)"
                print(f"Discover {shown}: {hits} hits, {buckets} buckets: {quantiles(times)}")
            rss = psutil.Process(console.proc.pid).memory_info().rss / 2**20
            print(f"console RSS: {rss:.0f} MB")
        finally:
            console.stop()
            store.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("live").add_argument("--runs", type=int, default=20)
    disc = sub.add_parser("discover")
    disc.add_argument("--docs", type=int, default=1_000_000)
    disc.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    live(args) if args.what == "live" else discover(args)


if __name__ == "__main__":
    main()
