"""POST /api/ds/query and the Prometheus resource proxy of the Grafana side.

Queries are grouped by datasource: Prometheus queries run side by side, the Elasticsearch
queries of a request go to logstore in one `_msearch`. Each query answers on its own under
`results.<refId>`: a failed one carries the datasource's error text and never hides the
others. The request answers 200 when at least one query succeeded, else the failures' status
(400 when any was the client's fault), as Grafana does.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import ds_elasticsearch, ds_prometheus, frames
from .config import Datasource, GrafanaConfig
from .errors import UpstreamError
from .intervals import TimeRange, TimeRangeError, parse_range
from .metrics import QUERY_SECONDS, UPSTREAM_ERRORS
from .shapes import grafana_error
from .upstream import Upstreams, msearch

# The Prometheus API paths label_values(), label_names() and metrics() variables read.
RESOURCE_PATHS = re.compile(r"api/v1/(labels|series|metadata|label/[^/]+/values)")


async def ds_query(request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return grafana_error(400, f"bad request data: {exc}")
    if not isinstance(body, dict) or not isinstance(body.get("queries"), list):
        return grafana_error(400, 'bad request data: expected {"from", "to", "queries": [...]}')
    try:
        tr = parse_range(body)
    except TimeRangeError as exc:
        return grafana_error(400, f"bad request data: {exc}")
    config: GrafanaConfig = request.app.state.grafana
    upstreams: Upstreams = request.app.state.upstreams
    results: dict[str, dict[str, Any]] = {}
    es_batches: dict[str, list[dict[str, Any]]] = {}
    prom_jobs = []
    for query in body["queries"]:
        if not isinstance(query, dict):
            return grafana_error(400, "bad request data: every query must be an object")
        if query.get("hide"):
            continue  # Grafana's frontend never sends a hidden query; answer none either
        ref = str(query.get("refId") or "A")
        ds = config.datasource(query.get("datasource"))
        if ds is None:
            results[ref] = frames.query_error(
                f"datasource {query.get('datasource')!r} not found", 400
            )
        elif ds.type == "prometheus":
            prom_jobs.append((ref, _timed(ds, ds_prometheus.run(upstreams.prometheus, ds, query,
                                                                    tr))))
        elif ds.type == "elasticsearch":
            es_batches.setdefault(ds.uid, []).append(query)
        else:
            results[ref] = frames.query_error(
                f"datasource type {ds.type!r} is not served by the console (prometheus and "
                "elasticsearch are)", 400,
            )
    answers = await asyncio.gather(
        *(job for _, job in prom_jobs),
        *(_run_es(upstreams, config.datasources[uid], batch, tr)
          for uid, batch in es_batches.items()),
    )
    for (ref, _), answer in zip(prom_jobs, answers, strict=False):
        results[ref] = answer
    for batch_answer in answers[len(prom_jobs):]:
        results.update(batch_answer)
    return JSONResponse({"results": results}, status_code=_status(results))


def _status(results: dict[str, dict[str, Any]]) -> int:
    failures = [r["status"] for r in results.values() if r.get("error")]
    if not failures or len(failures) < len(results):
        return 200
    return 400 if any(status < 500 for status in failures) else 500


async def _timed(ds: Datasource, job: Any) -> dict[str, Any]:
    started = time.perf_counter()
    answer: dict[str, Any] = await job
    QUERY_SECONDS.labels(datasource=ds.type).observe(time.perf_counter() - started)
    if answer.get("error") and answer["status"] >= 500:
        UPSTREAM_ERRORS.labels(upstream="prometheus").inc()
    return answer


async def _run_es(
    upstreams: Upstreams, ds: Datasource, queries: list[dict[str, Any]], tr: TimeRange
) -> dict[str, dict[str, Any]]:
    started = time.perf_counter()
    time_field = str(ds.json_data.get("timeField") or "@timestamp")
    index = str(ds.json_data.get("index") or ds.json_data.get("database") or "logs-*")
    out: dict[str, dict[str, Any]] = {}
    runnable: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for query in queries:
        ref = str(query.get("refId") or "A")
        try:
            body = ds_elasticsearch.build_search(query, tr, query.get("timeField") or time_field)
        except ValueError as exc:
            out[ref] = frames.query_error(str(exc), 400)
            continue
        runnable.append((query, body))
    if runnable:
        try:
            responses = await msearch(upstreams.logstore, index, [b for _, b in runnable])
        except UpstreamError as exc:
            UPSTREAM_ERRORS.labels(upstream="logstore").inc()
            for query, _ in runnable:
                out[str(query.get("refId") or "A")] = frames.query_error(str(exc), exc.status)
            responses = []
        for (query, _), response in zip(runnable, responses, strict=False):
            ref = str(query.get("refId") or "A")
            if "error" in response:
                status = int(response.get("status") or 500)
                out[ref] = frames.query_error(ds_elasticsearch.error_text(response["error"]),
                                              status)
                continue
            out[ref] = {"status": 200, "frames": ds_elasticsearch.to_frames(query, response)}
    QUERY_SECONDS.labels(datasource=ds.type).observe(time.perf_counter() - started)
    return out


async def prometheus_resource(request: Request) -> Response:
    """Grafana's `/api/datasources/uid/<uid>/resources/<path>` for a Prometheus datasource:
    the label and series lookups of template variables, answered with Prometheus' JSON."""
    config: GrafanaConfig = request.app.state.grafana
    ds = config.datasources.get(request.path_params["uid"])
    if ds is None:
        return grafana_error(404, "Data source not found")
    path = request.path_params["path"]
    if ds.type != "prometheus" or not RESOURCE_PATHS.fullmatch(path):
        return grafana_error(404, "Not found")
    client = request.app.state.upstreams.prometheus
    try:
        response = await client.get("/" + path, params=list(request.query_params.multi_items()))
    except httpx.HTTPError as exc:
        UPSTREAM_ERRORS.labels(upstream="prometheus").inc()
        return grafana_error(502, f"Prometheus at {client.base_url} did not answer: {exc!r}")
    return Response(response.content, status_code=response.status_code,
                    media_type="application/json")
