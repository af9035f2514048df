"""Unit tests of the parts with arithmetic or parsing in them (no processes, except for the
start-up errors, which are about the process' exit code)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from console import ds_elasticsearch, ds_prometheus
from console.auth import FAILURE_WINDOW, Auth, LoginLimiter, TooManyFailures
from console.config import Datasource
from console.intervals import TimeRange, TimeRangeError, format_duration, parse_time
from console.testing import DASHBOARDS, PROVISIONING, SAVED_OBJECTS, write_secrets
from console.upstream import msearch
from starlette.requests import Request

NOW = 1_700_000_000_000
PROM_DS = Datasource(1, "prometheus", "Prometheus", "prometheus", "http://p", True,
                     {"timeInterval": "15s"})


def test_relative_and_absolute_times() -> None:
    assert parse_time("now-15m", key="from", now_ms=NOW) == NOW - 900_000
    assert parse_time("now", key="to", now_ms=NOW) == NOW
    assert parse_time("now-1d/d", key="from", now_ms=NOW) % 86_400_000 == 0
    assert parse_time(str(NOW), key="from") == NOW
    assert parse_time("2023-11-14T22:13:20Z", key="from") == NOW
    with pytest.raises(TimeRangeError, match="from 'yesterday'"):
        parse_time("yesterday", key="from")


def test_durations_as_grafana_writes_them() -> None:
    assert [format_duration(ms) for ms in (15_000, 60_000, 90_000, 3_600_000, 250)] == [
        "15s", "1m", "90s", "1h", "250ms"]


def test_step_is_widened_for_long_ranges() -> None:
    thirty_days = TimeRange(NOW - 30 * 86_400_000, NOW)
    step = ds_prometheus.step_for({"intervalMs": 1000, "maxDataPoints": 10**6}, thirty_days,
                                  15_000)
    assert thirty_days.duration_ms / step <= 11_000
    hour = TimeRange(NOW - 3_600_000, NOW)
    assert ds_prometheus.step_for({"intervalMs": 5000, "maxDataPoints": 1000}, hour, 15_000) \
        == 15_000  # never below the scrape interval
    assert ds_prometheus.step_for({"intervalMs": 15000, "maxDataPoints": 60}, hour, 15_000) \
        == 60_000  # range / maxDataPoints


def test_rate_interval_follows_grafana() -> None:
    hour = TimeRange(NOW - 3_600_000, NOW)
    # max(4 x scrape, interval + scrape): 60 s at a 15 s step, 135 s at a 2 min step
    assert ds_prometheus.substitute("$__rate_interval", step_ms=15_000, scrape=15_000,
                                    tr=hour) == "1m"
    assert ds_prometheus.substitute("$__rate_interval", step_ms=120_000, scrape=15_000,
                                    tr=hour) == "135s"


def test_legend_format() -> None:
    labels = {"status": "500", "service": "api"}
    assert ds_prometheus.legend("{{service}} {{ status }}", labels) == "api 500"
    assert ds_prometheus.legend("{{missing}}x", labels) == "x"
    assert ds_prometheus.legend("__auto", labels) == ""


def test_elasticsearch_request_follows_grafanas_model() -> None:
    tr = TimeRange(NOW - 900_000, NOW)
    query = {"refId": "A", "query": "tags:error",
             "metrics": [{"id": "1", "type": "count"},
                         {"id": "5", "type": "avg", "field": "event.duration"}],
             "bucketAggs": [
                 {"id": "3", "type": "terms", "field": "service.name",
                  "settings": {"size": "0", "orderBy": "5", "order": "asc"}},
                 {"id": "2", "type": "date_histogram", "field": "@timestamp",
                  "settings": {"interval": "auto"}}],
             "intervalMs": 1000, "maxDataPoints": 300}
    body = ds_elasticsearch.build_search(query, tr, "@timestamp")
    assert body["size"] == 0
    time_filter, lucene = body["query"]["bool"]["filter"]
    assert time_filter["range"]["@timestamp"] == {"gte": tr.from_ms, "lte": tr.to_ms,
                                                  "format": "epoch_millis"}
    assert lucene["query_string"]["query"] == "tags:error"
    terms = body["aggs"]["3"]
    assert terms["terms"]["size"] == 500 and terms["terms"]["order"] == {"5": "asc"}
    assert terms["aggs"]["5"] == {"avg": {"field": "event.duration"}}  # ordered by it
    histogram = terms["aggs"]["2"]["date_histogram"]
    assert histogram["fixed_interval"] == "3s"  # 15 min / 300 points
    assert histogram["extended_bounds"] == {"min": tr.from_ms, "max": tr.to_ms}
    assert terms["aggs"]["2"]["aggs"] == {"5": {"avg": {"field": "event.duration"}}}


def test_raw_documents_and_unknown_metrics_are_refused_by_name() -> None:
    tr = TimeRange(NOW - 900_000, NOW)
    with pytest.raises(ds_elasticsearch.QueryModelError, match="bucketAggs"):
        ds_elasticsearch.build_search({"metrics": [{"id": "1", "type": "raw_data"}]}, tr, "t")
    with pytest.raises(ds_elasticsearch.QueryModelError, match="'top_metrics' is not served"):
        ds_elasticsearch.build_search(
            {"metrics": [{"id": "1", "type": "top_metrics"}],
             "bucketAggs": [{"id": "2", "type": "date_histogram"}]}, tr, "t")


def test_series_names_as_grafana_names_them() -> None:
    query = {"refId": "A",
             "metrics": [{"id": "1", "type": "count"},
                         {"id": "4", "type": "percentiles", "field": "d",
                          "settings": {"percents": ["50"]}}],
             "bucketAggs": [{"id": "3", "type": "terms", "field": "host"},
                            {"id": "2", "type": "date_histogram"}]}
    bucket = {"key": 1000, "doc_count": 2, "4": {"values": {"50.0": 7.0}}}
    response = {"aggregations": {"3": {"buckets": [
        {"key": "web", "2": {"buckets": [bucket]}}]}}}
    frames = ds_elasticsearch.to_frames(query, response)
    assert [f["schema"]["name"] for f in frames] == ["web Count", "web p50.0 d"]
    assert frames[1]["data"]["values"] == [[1000], [7.0]]
    aliased = ds_elasticsearch.to_frames(query | {"alias": "{{term host}}: {{metric}}"}, response)
    assert [f["schema"]["name"] for f in aliased] == ["web: Count", "web: p50.0"]


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_msearch_is_one_ndjson_request_and_falls_back_to_search() -> None:
    seen: list[httpx.Request] = []

    def with_msearch(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"responses": [{"hits": {}}, {"error": {
            "type": "x", "reason": "bad"}, "status": 400}]})

    async def call(handler: Any) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler),
                                     base_url="http://l") as client:
            return await msearch(client, "logs-*", [{"size": 0}, {"size": 1}])

    answers = _run(call(with_msearch))
    assert [r.url.path for r in seen] == ["/logs-*/_msearch"]
    assert seen[0].headers["content-type"] == "application/x-ndjson"
    lines = seen[0].content.decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"index": "logs-*", "ignore_unavailable": True}, {"size": 0},
        {"index": "logs-*", "ignore_unavailable": True}, {"size": 1}]
    assert answers[1]["status"] == 400
    seen.clear()

    def without_msearch(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("_msearch"):
            return httpx.Response(404, text="Not Found")
        return httpx.Response(200, json={"hits": {"total": {"value": 1}}})

    answers = _run(call(without_msearch))
    assert [r.url.path for r in seen] == ["/logs-*/_msearch", "/logs-*/_search",
                                          "/logs-*/_search"]
    assert answers[0]["hits"]["total"]["value"] == 1


def test_login_limiter_window() -> None:
    clock = [0.0]
    limiter = LoginLimiter(clock=lambda: clock[0])
    for _ in range(5):
        limiter.failed("admin", "10.0.0.1")
    with pytest.raises(TooManyFailures) as locked:
        limiter.check("viewer", "10.0.0.1")  # the address is locked for every user
    assert locked.value.retry_after == FAILURE_WINDOW
    limiter.check("viewer", "10.0.0.2")
    clock[0] = FAILURE_WINDOW + 1
    limiter.check("admin", "10.0.0.1")


def _start_error(tmp_path: Path, *extra: str, provisioning: Path = PROVISIONING,
                 dashboards: Path = DASHBOARDS) -> str:
    cmd = [sys.executable, "-m", "console", "--grafana-listen", "127.0.0.1:1",
           "--kibana-listen", "127.0.0.1:2", "--provisioning", str(provisioning),
           "--dashboards", str(dashboards), "--saved-objects", str(SAVED_OBJECTS),
           "--prometheus-url", "http://127.0.0.1:9", "--logstore-url", "http://127.0.0.1:9",
           "--data", str(tmp_path / "data"), *extra]
    if "--secrets-dir" not in extra:
        cmd += ["--secrets-dir", str(write_secrets(tmp_path / "secrets"))]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done
    return done.stderr


def test_bad_files_stop_the_start_with_the_file_and_key(tmp_path: Path) -> None:
    boards = tmp_path / "boards"
    shutil.copytree(DASHBOARDS, boards)
    (boards / "broken.json").write_text('{"title": "no uid"}')
    assert "broken.json: key `uid`" in _start_error(tmp_path, dashboards=boards)
    (boards / "broken.json").write_text("{not json")
    assert "broken.json: cannot read it as JSON" in _start_error(tmp_path, dashboards=boards)
    provisioning = tmp_path / "provisioning"
    shutil.copytree(PROVISIONING, provisioning)
    (provisioning / "datasources" / "bad.yaml").write_text("datasources:\n  - name: x\n")
    message = _start_error(tmp_path, provisioning=provisioning)
    assert "bad.yaml: datasources[0]: key `uid`" in message
    secrets = write_secrets(tmp_path / "partial-secrets")
    (secrets / "console_session_key").unlink()
    assert "secret console_session_key" in _start_error(
        tmp_path, "--secrets-dir", str(secrets))


def _request_with_cookie(cookie: str) -> Request:
    header = f"console_session={cookie}".encode()
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"cookie", header)],
                    "query_string": b"", "client": ("127.0.0.1", 1)})


def test_a_changed_password_ends_the_old_sessions() -> None:
    before = Auth({"admin": ("old-pw", "admin")}, "key")
    cookie, principal = before.new_session("admin", "admin")
    assert before.authenticate(_request_with_cookie(cookie)) == principal
    after = Auth({"admin": ("new-pw", "admin")}, "key")
    assert after.authenticate(_request_with_cookie(cookie)) is None
    other_key = Auth({"admin": ("old-pw", "admin")}, "another key")
    assert other_key.authenticate(_request_with_cookie(cookie)) is None
