"""grader/grafana_api.py against a Grafana faked in the test: the dashboards come from the
target's API, every query goes through /api/ds/query, and a broken panel is named."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from grader.dashboard_queries import problems, run_dashboards
from grader.grafana_api import (
    GrafanaAPI,
    GrafanaAPIError,
    GrafanaPrometheus,
    frame_points,
    log_panel_problems,
)
from grader.target import Credentials, UiLogin

RED = {
    "uid": "red",
    "title": "RED",
    "templating": {"list": [{"name": "service", "type": "query",
                             "query": {"query": "label_values(up, job)"}}]},
    "panels": [
        {"title": "Up", "type": "timeseries",
         "datasource": {"type": "prometheus", "uid": "prom"},
         "targets": [{"refId": "A", "expr": 'up{job="$service"}'}]},
        {"title": "Typo", "type": "stat",
         "datasource": {"type": "prometheus", "uid": "prom"},
         "targets": [{"refId": "A", "expr": "sum(http_requets_total)"}]},
        {"title": "Errors", "type": "timeseries",
         "datasource": {"type": "elasticsearch", "uid": "es"},
         "targets": [{"refId": "A", "query": "tags:error", "metrics": [{"type": "count"}],
                      "bucketAggs": [{"type": "date_histogram", "field": "@timestamp"}]}]},
    ],
}  # fmt: skip


def _frame(stamp_ms: int, value: float | None, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "schema": {"fields": [{"name": "Time", "type": "time"},
                              {"name": "Value", "type": "number", "labels": labels}]},
        "data": {"values": [[stamp_ms], [value]]},
    }  # fmt: skip


class FakeGrafana:
    """Knows `up` for jobs a and b; `sum(http_requets_total)` has no series; the ES query
    errors when `es_error` is set."""

    def __init__(self) -> None:
        self.queries: list[dict[str, Any]] = []
        self.es_error: str | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"].startswith("Basic ")
        path = request.url.path
        if path == "/api/search":
            return httpx.Response(200, json=[{"uid": "red", "title": "RED", "type": "dash-db"}])
        if path == "/api/dashboards/uid/red":
            return httpx.Response(200, json={"dashboard": RED, "meta": {}})
        if path == "/api/datasources":
            return httpx.Response(200, json=[{"uid": "prom", "type": "prometheus",
                                              "isDefault": True}])  # fmt: skip
        if path == "/api/datasources/uid/prom/resources/api/v1/label/job/values":
            return httpx.Response(200, json={"status": "success", "data": ["b", "a"]})
        if path == "/api/ds/query":
            return self._query(json.loads(request.content))
        return httpx.Response(404, json={"message": "Not found"})

    def _query(self, body: dict[str, Any]) -> httpx.Response:
        [query] = body["queries"]
        self.queries.append(query)
        now = int(time.time() * 1000)
        if query["datasource"]["type"] == "elasticsearch":
            if self.es_error:
                return httpx.Response(400, json={"results": {"A": {"error": self.es_error}}})
            frames = [_frame(now, 3, {})]
        elif query["expr"].startswith("max(timestamp("):
            frames = [_frame(now, now / 1000, {})]
        elif query["expr"].startswith("up{"):
            frames = [_frame(now, 1, {"job": query["expr"][8:9]})]
        else:
            frames = []
        return httpx.Response(200, json={"results": {"A": {"status": 200, "frames": frames}}})


@pytest.fixture
def fake() -> FakeGrafana:
    return FakeGrafana()


@pytest.fixture
def api(fake: FakeGrafana, tmp_path: Path) -> GrafanaAPI:
    (tmp_path / "pw").write_text("secret\n")
    login = Credentials(username="viewer", password_file=tmp_path / "pw")
    ui = UiLogin(component="console", url="http://console:3000", login=login)
    return GrafanaAPI(ui, transport=httpx.MockTransport(fake))


def test_every_query_runs_through_ds_query_and_a_misspelled_metric_is_named(
    api: GrafanaAPI, fake: FakeGrafana
) -> None:
    dashboards = api.dashboards()
    assert [d.uid for d in dashboards] == ["red"]
    uid = api.datasource_uid("prometheus")
    through = GrafanaPrometheus(api, datasource_uid=uid, interval_ms=1000)
    results = run_dashboards(through, dashboards, scrape_interval_s=1)
    found = problems(results, max_age_s=60)
    assert found == [
        "dashboard red, panel \"Typo\" (A): 'sum(http_requets_total)' returned no data"
    ]
    sent = {q["expr"] for q in fake.queries}
    assert {'up{job="a"}', 'up{job="b"}'} <= sent  # every value of $service
    assert all(q["instant"] is True and q["datasource"]["uid"] == "prom" for q in fake.queries)


def test_log_panels_fail_with_the_datasource_s_error(api: GrafanaAPI, fake: FakeGrafana) -> None:
    dashboards = api.dashboards()
    assert log_panel_problems(api, dashboards) == []
    fake.es_error = "query_string: Cannot parse 'tags:('"
    [line] = log_panel_problems(api, dashboards)
    assert line.startswith('dashboard red, panel "Errors" (A)') and "Cannot parse" in line


def test_an_unknown_component_answer_is_an_error_naming_it(tmp_path: Path) -> None:
    ui = UiLogin(component="grafana", url="http://g", login=None)

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "Unauthorized"})

    with (
        GrafanaAPI(ui, transport=httpx.MockTransport(refuse)) as api,
        pytest.raises(GrafanaAPIError, match="grafana: GET /api/search: HTTP 401: Unauthorized"),
    ):
        api.dashboards()


def test_frame_points_counts_values_not_times() -> None:
    result = {"frames": [{"data": {"values": [[1, 2, 3], [0, None, 2]]}}]}
    assert frame_points(result) == 2
    assert frame_points(result, nonzero=True) == 1
