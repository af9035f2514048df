"""Prometheus queries of /api/ds/query, run as Grafana's Prometheus backend runs them.

The step is the largest of the query's intervalMs, the datasource's scrape interval
(jsonData.timeInterval) and range / maxDataPoints, then widened so no series has more than
11,000 points (Prometheus refuses more). Start and end are aligned to the step, so a panel
refreshed within one step asks the same question. Grafana's global variables are substituted
here, as its backend does: $__interval, $__interval_ms, $__rate_interval (the larger of four
scrape intervals and interval + scrape interval), $__range, $__range_s, $__range_ms.
https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import httpx

from . import frames
from .config import Datasource
from .errors import UpstreamError
from .intervals import TimeRange, TimeRangeError, format_duration, parse_duration_ms

MAX_POINTS = 11_000  # Prometheus: "exceeded maximum resolution of 11,000 points per timeseries"
DEFAULT_SCRAPE = "15s"
_LEGEND = re.compile(r"\{\{\s*(.+?)\s*\}\}")


@dataclass(frozen=True)
class Plan:
    expr: str
    start_ms: int
    end_ms: int
    step_ms: int


def scrape_ms(ds: Datasource) -> int:
    return parse_duration_ms(
        str(ds.json_data.get("timeInterval") or DEFAULT_SCRAPE), key="jsonData.timeInterval"
    )


def step_for(query: dict[str, Any], tr: TimeRange, scrape: int) -> int:
    floor = scrape
    if isinstance(query.get("interval"), str) and query["interval"]:
        floor = parse_duration_ms(query["interval"], key="interval")  # the panel's min interval
    step = max(int(query.get("intervalMs") or 0), floor, 1)
    max_points = int(query.get("maxDataPoints") or 0)
    if max_points > 0:
        step = max(step, math.ceil(tr.duration_ms / max_points))
    step = max(step, math.ceil(tr.duration_ms / MAX_POINTS))
    if step >= 1000:
        step = math.ceil(step / 1000) * 1000  # whole seconds, as Grafana rounds them
    return step


def substitute(expr: str, *, step_ms: int, scrape: int, tr: TimeRange) -> str:
    range_s = tr.duration_ms // 1000
    values = {
        "__interval_ms": str(step_ms),
        "__interval": format_duration(step_ms),
        "__rate_interval_ms": str(max(4 * scrape, step_ms + scrape)),
        "__rate_interval": format_duration(max(4 * scrape, step_ms + scrape)),
        "__range_ms": str(tr.duration_ms),
        "__range_s": str(range_s),
        "__range": f"{range_s}s",
    }
    # Longest names first, so $__interval does not eat the front of $__interval_ms.
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return expr


def plan(query: dict[str, Any], tr: TimeRange, ds: Datasource) -> Plan:
    scrape = scrape_ms(ds)
    step = step_for(query, tr, scrape)
    expr = substitute(str(query.get("expr", "")), step_ms=step, scrape=scrape, tr=tr)
    return Plan(expr, tr.from_ms - tr.from_ms % step, tr.to_ms - tr.to_ms % step, step)


def legend(template: str, labels: dict[str, str]) -> str:
    """`{{label}}` replaced by the series' label value (empty when it has none), as Grafana's
    legendFormat; `__auto` and an empty legend leave the name to the browser."""
    if not template or template == "__auto":
        return ""
    return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), template)


def series_name(labels: dict[str, str]) -> str:
    metric = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{metric}{{{rest}}}" if rest or not metric else metric


async def _call(
    client: httpx.AsyncClient, path: str, params: dict[str, str], method: str
) -> dict[str, Any]:
    try:
        if method == "GET":
            response = await client.get(path, params=params)
        else:
            response = await client.post(path, data=params)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"Prometheus at {client.base_url} did not answer: {exc!r}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        raise UpstreamError(
            str(body.get("error") or body.get("errorType") or "error"),
            status=response.status_code if response.status_code >= 400 else 500,
        )
    if response.status_code != 200 or not isinstance(body, dict):
        raise UpstreamError(
            f"Prometheus answered HTTP {response.status_code}: {response.text[:300]}",
            status=response.status_code if response.status_code >= 400 else 502,
        )
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def _float(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def to_frames(
    data: dict[str, Any], *, ref_id: str, legend_format: str, step_ms: int, executed: str
) -> list[dict[str, Any]]:
    result_type = data.get("resultType")
    result = data.get("result") or []
    meta = {"type": "timeseries-multi", "typeVersion": [0, 1],
            "custom": {"resultType": result_type}, "executedQueryString": executed}
    if result_type == "scalar":
        result = [{"metric": {}, "value": result}]
    out = []
    for series in result:
        labels = {str(k): str(v) for k, v in (series.get("metric") or {}).items()}
        points = series.get("values") or ([series["value"]] if series.get("value") else [])
        times = [round(float(point[0]) * 1000) for point in points]
        values = [_float(point[1]) for point in points]
        shown = legend(legend_format, labels)
        out.append(
            frames.time_series(
                ref_id=ref_id, times=times, values=values, labels=labels, display_name=shown,
                name=shown or series_name(labels), interval_ms=step_ms, meta=meta,
            )
        )
    return out


async def run(
    client: httpx.AsyncClient, ds: Datasource, query: dict[str, Any], tr: TimeRange
) -> dict[str, Any]:
    ref_id = str(query.get("refId", "A"))
    try:
        p = plan(query, tr, ds)
    except (TimeRangeError, ValueError) as exc:
        return frames.query_error(str(exc), 400)
    if not p.expr.strip():
        return frames.query_error("query is empty: give a PromQL expression in `expr`", 400)
    method = "GET" if str(ds.json_data.get("httpMethod", "POST")).upper() == "GET" else "POST"
    executed = f"Expr: {p.expr}\nStep: {format_duration(p.step_ms)}"
    legend_format = str(query.get("legendFormat") or "")
    out: list[dict[str, Any]] = []
    try:
        if query.get("instant"):
            data = await _call(client, "/api/v1/query",
                               {"query": p.expr, "time": _seconds(tr.to_ms)}, method)
            out += to_frames(data, ref_id=ref_id, legend_format=legend_format,
                             step_ms=p.step_ms, executed=executed)
        instant = bool(query.get("instant"))
        if bool(query.get("range", not instant)) or not instant:
            params = {"query": p.expr, "start": _seconds(p.start_ms), "end": _seconds(p.end_ms),
                      "step": _seconds(p.step_ms)}
            data = await _call(client, "/api/v1/query_range", params, method)
            out += to_frames(data, ref_id=ref_id, legend_format=legend_format,
                             step_ms=p.step_ms, executed=executed)
    except UpstreamError as exc:
        return frames.query_error(str(exc), exc.status)
    return {"status": 200, "frames": out}


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".")
