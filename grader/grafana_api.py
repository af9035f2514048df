"""The target's dashboards, read and queried through Grafana's HTTP API, as Grafana's frontend
does: the real Grafana in compose, the console locally, a student's Grafana from its profile.

- Dashboards: `GET /api/search?type=dash-db`, then `GET /api/dashboards/uid/<uid>`
  (https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/).
- Queries: `POST /api/ds/query` (https://grafana.com/docs/grafana/latest/developers/http_api/
  data_source/#query-a-data-source): `{from, to, queries: [...]}` in, `results.<refId>` with
  `frames[]` (`data.values`: one list per field, the time field first) or `error` out.
- `label_values()` variables: the Prometheus datasource's resource proxy,
  `GET /api/datasources/uid/<uid>/resources/api/v1/label/<label>/values`, which Grafana's
  Prometheus datasource serves for its own variable editor.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from grader.dashboards import Dashboard, DashboardError, dashboard_from_model
from grader.errors import GraderError
from grader.target import UiLogin


class GrafanaAPIError(GraderError):
    """The Grafana-compatible component refused or failed a request (status and text given)."""


class GrafanaAPI:
    def __init__(
        self, ui: UiLogin, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.ui = ui
        self._client = httpx.Client(
            base_url=ui.url.rstrip("/"), auth=ui.auth(), timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GrafanaAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        where = f"{self.ui.component}: {method} {path}"
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GrafanaAPIError(f"{where}: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            detail = body.get("message") if isinstance(body, dict) else None
            raise GrafanaAPIError(
                f"{where}: HTTP {response.status_code}: {detail or response.text[:200]}"
            )
        if body is None:
            raise GrafanaAPIError(f"{where}: the answer is not JSON: {response.text[:200]!r}")
        return body

    def dashboards(self) -> list[Dashboard]:
        """Every dashboard the login can see, as Grafana serves its JSON model."""
        found = self.request("GET", "/api/search", params={"type": "dash-db"})
        if not isinstance(found, list):
            raise GrafanaAPIError(f"{self.ui.component}: /api/search answered {found!r:.200}")
        dashboards = []
        for hit in found:
            uid = hit.get("uid") if isinstance(hit, dict) else None
            if not uid:
                raise GrafanaAPIError(f"{self.ui.component}: /api/search listed {hit!r:.200}")
            answer = self.request("GET", f"/api/dashboards/uid/{uid}")
            source = f"{self.ui.component} dashboard {uid}"
            try:
                dashboards.append(dashboard_from_model(answer.get("dashboard"), source))
            except DashboardError as exc:
                raise GrafanaAPIError(str(exc)) from None
        return dashboards

    def datasource_uid(self, kind: str) -> str:
        """The uid of the default datasource of type `kind` (else the first of that type)."""
        sources = [d for d in self.request("GET", "/api/datasources") if d.get("type") == kind]
        if not sources:
            raise GrafanaAPIError(f"{self.ui.component} has no {kind} datasource")
        return str(next((d for d in sources if d.get("isDefault")), sources[0])["uid"])

    def ds_query(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /api/ds/query`; per-query errors stay in `results.<refId>.error` (Grafana
        answers 400 when every query failed: that answer is returned, not raised)."""
        where = f"{self.ui.component}: POST /api/ds/query"
        try:
            response = self._client.post("/api/ds/query", json=body)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GrafanaAPIError(f"{where}: {type(exc).__name__}: {exc}") from None
        if response.status_code not in (200, 207, 400, 500) or "results" not in answer:
            raise GrafanaAPIError(f"{where}: HTTP {response.status_code}: {answer!r:.300}")
        results: dict[str, Any] = answer["results"]
        return results


class GrafanaPrometheus:
    """The calls grader/dashboard_queries.py makes of Prometheus, answered through the
    target's Grafana: instant queries through `/api/ds/query`, label values through the
    datasource's resource proxy. So the check proves the datasource (URL, login) as well."""

    def __init__(self, api: GrafanaAPI, *, datasource_uid: str, interval_ms: int) -> None:
        self.api = api
        self.datasource = {"type": "prometheus", "uid": datasource_uid}
        self.interval_ms = interval_ms

    def instant(self, expr: str) -> tuple[list[dict[str, Any]], float | None]:
        now_ms = int(time.time() * 1000)
        query = {
            "refId": "A",
            "datasource": self.datasource,
            "expr": expr,
            "instant": True,
            "range": False,
            "intervalMs": self.interval_ms,
            "maxDataPoints": 100,
        }
        body = {"from": str(now_ms - 300_000), "to": str(now_ms), "queries": [query]}
        result = self.api.ds_query(body).get("A", {})
        if result.get("error"):
            raise GrafanaAPIError(f"{expr!r}: {result['error']}")
        series, at = [], None
        for frame in result.get("frames", []):
            values = frame.get("data", {}).get("values", [])
            if len(values) < 2 or not values[0]:
                continue
            fields = frame.get("schema", {}).get("fields", [])
            labels = (fields[1].get("labels") if len(fields) > 1 else None) or {}
            for stamp, value in zip(values[0], values[1], strict=False):
                if value is not None:
                    series.append({"metric": labels, "value": [stamp / 1000, str(value)]})
                    at = stamp / 1000
        return series, at

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        params = {"match[]": match} if match else {}
        path = f"/api/datasources/uid/{self.datasource['uid']}/resources/api/v1/label/"
        answer = self.api.request("GET", f"{path}{label}/values", params=params)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise GrafanaAPIError(f"label values of {label!r}: {answer!r:.200}")
        return sorted(str(v) for v in data)

    def newest_sample(self, selector: str) -> float | None:
        series, _ = self.instant(f"max(timestamp({selector}))")
        return float(series[0]["value"][1]) if series else None


def frame_points(result: Mapping[str, Any], *, nonzero: bool = False) -> int:
    """How many non-null values (`nonzero`: non-null and not 0, as for log counts, where an
    empty minute is a 0 bucket) the frames of one `results.<refId>` hold, the first field of
    each frame (its time or its terms column) aside."""
    points = 0
    for frame in result.get("frames", []):
        values = frame.get("data", {}).get("values", [])
        points += sum(
            1
            for column in values[1:]
            for value in column
            if value is not None and not (nonzero and value == 0)
        )
    return points


def log_panel_problems(
    api: GrafanaAPI, dashboards: list[Dashboard], *, since: str = "now-15m"
) -> list[str]:
    """Each Elasticsearch panel query through `/api/ds/query` as Grafana's frontend sends it
    (the target's query model as saved in the dashboard): one line per query that failed or
    found no log documents since `since`."""
    found = []
    for dashboard in dashboards:
        for panel, target in dashboard.elasticsearch_targets():
            ref = str(target.get("refId", "A"))
            query = {**target, "refId": ref, "intervalMs": 60_000, "maxDataPoints": 500}
            result = api.ds_query({"from": since, "to": "now", "queries": [query]}).get(ref, {})
            where = f'dashboard {dashboard.uid}, panel "{panel}" ({ref}): {target.get("query")!r}'
            if result.get("error"):
                found.append(f"{where} failed: {result['error']}")
            elif frame_points(result, nonzero=True) == 0:
                found.append(f"{where} found no log documents in the range {since} to now")
    return found
