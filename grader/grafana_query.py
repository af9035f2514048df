"""The same panel queries through Grafana's own query API, for the compose runtime.

`POST /api/ds/query` runs queries through a datasource as a panel would, so it proves the
provisioned datasource (URL, basic auth from the secret) as well as the expressions. It does not
expand dashboard variables: the grader sends the expressions grader/dashboard_queries.py already
substituted. Request and response shapes:
https://grafana.com/docs/grafana/latest/developers/http_api/data_source/#query-a-data-source
(`{from, to, queries: [{refId, datasource: {uid}, expr, ...}]}` in; `results.<refId>.frames[]`
with `data.values` (one list per field) or `results.<refId>.error` out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from grader.dashboard_queries import QueryResult
from grader.dashboards import DATASOURCE_TYPE, DATASOURCE_UID
from grader.errors import GraderError

BATCH = 20  # queries per request: small enough that one slow query cannot time out the lot


def ds_query_body(
    exprs: Sequence[str],
    *,
    now_ms: int,
    range_s: float,
    interval_ms: int,
    datasource_uid: str = DATASOURCE_UID,
) -> dict[str, Any]:
    """One range query per expression over the last `range_s`, refIds Q0, Q1, ..."""
    datasource = {"type": DATASOURCE_TYPE, "uid": datasource_uid}
    return {
        "from": str(now_ms - round(range_s * 1000)),
        "to": str(now_ms),
        "queries": [
            {
                "refId": f"Q{i}",
                "datasource": datasource,
                "expr": expr,
                "range": True,
                "instant": False,
                "intervalMs": interval_ms,
                "maxDataPoints": 200,
                "format": "time_series",
            }
            for i, expr in enumerate(exprs)
        ],
    }


def frame_points(result: dict[str, Any]) -> int:
    """How many non-null values the frames of one `results.<refId>` hold (time fields aside:
    each frame's first field is its time column)."""
    points = 0
    for frame in result.get("frames", []):
        values = frame.get("data", {}).get("values", [])
        points += sum(1 for column in values[1:] for value in column if value is not None)
    return points


def grafana_problems(
    client: httpx.Client,
    results: Sequence[QueryResult],
    *,
    now_ms: int,
    range_s: float,
    interval_ms: int,
) -> list[str]:
    """Each result's expression through Grafana (`client`: base URL and login of a Grafana
    user); one line per query that Grafana failed or answered with no data points."""
    found = []
    for start in range(0, len(results), BATCH):
        batch = results[start : start + BATCH]
        body = ds_query_body(
            [r.expr for r in batch], now_ms=now_ms, range_s=range_s, interval_ms=interval_ms
        )
        try:
            response = client.post("/api/ds/query", json=body)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GraderError(f"POST /api/ds/query failed: {type(exc).__name__}: {exc}") from None
        if response.status_code not in (200, 207, 400) or "results" not in answer:
            raise GraderError(f"POST /api/ds/query: HTTP {response.status_code}: {answer}")
        for i, r in enumerate(batch):
            one = answer["results"].get(f"Q{i}", {})
            if one.get("error"):
                found.append(f"{r.describe()} failed in Grafana: {one['error']}")
            elif frame_points(one) == 0:
                found.append(f"{r.describe()} returned no data through Grafana")
    return found
