"""POST /api/ds/query against a fake Prometheus and a real logstore, numbers checked."""

from __future__ import annotations

import time
from typing import Any

import httpx
from console.testing import BAD_QUERY_ERROR, FakePrometheus

PROM = {"type": "prometheus", "uid": "prometheus"}
ES = {"type": "elasticsearch", "uid": "elasticsearch"}


def query(client: httpx.Client, *queries: dict[str, Any], span: str = "now-15m"
          ) -> httpx.Response:
    return client.post("/api/ds/query", json={"from": span, "to": "now", "queries": list(queries)})


def values(frame: dict[str, Any]) -> list[Any]:
    return list(frame["data"]["values"][1])


def test_prometheus_range_query(viewer: httpx.Client, prometheus: FakePrometheus) -> None:
    answer = query(viewer, {"refId": "A", "datasource": PROM,
                            "expr": "sum(rate(x[$__rate_interval]))",
                            "legendFormat": "{{job}} rate", "intervalMs": 15000,
                            "maxDataPoints": 100, "range": True, "instant": False})
    assert answer.status_code == 200, answer.text
    sent = prometheus.last("/api/v1/query_range")
    # 15 min / 100 points = 9 s < intervalMs 15 s = scrape interval: step 15 s;
    # $__rate_interval = max(4 x 15 s, 15 s + 15 s) = 60 s = 1m
    assert sent["step"] == "15"
    assert sent["query"] == "sum(rate(x[1m]))"
    assert float(sent["start"]) % 15 == 0 and float(sent["end"]) % 15 == 0
    result = answer.json()["results"]["A"]
    assert result["status"] == 200
    [frame] = result["frames"]
    time_field, value_field = frame["schema"]["fields"]
    assert time_field["name"] == "Time" and time_field["type"] == "time"
    assert time_field["config"]["interval"] == 15000
    assert value_field["labels"] == {"__name__": "up", "job": "api"}
    assert value_field["config"]["displayNameFromDS"] == "api rate"
    assert frame["schema"]["refId"] == "A"
    times, numbers = frame["data"]["values"]
    assert len(times) == len(numbers) == 61  # (end - start) / 15 s + 1
    assert times[1] - times[0] == 15000
    assert numbers[:3] == [1.0, 2.0, 3.0]
    # Prometheus' NaN: null in the values, listed in entities
    assert numbers[-1] is None
    assert frame["data"]["entities"][1] == {"NaN": [60]}


def test_prometheus_series_per_label_and_instant(viewer: httpx.Client) -> None:
    answer = query(
        viewer,
        {"refId": "A", "datasource": PROM, "expr": "sum by (result) (rate(logins_total[5m]))",
         "legendFormat": "{{result}}"},
        {"refId": "B", "datasource": PROM, "expr": "up", "instant": True, "range": False},
    ).json()["results"]
    names = {f["schema"]["fields"][1]["config"]["displayNameFromDS"]: values(f)
             for f in answer["A"]["frames"]}
    assert set(names) == {"ok", "fail"}
    assert set(names["ok"]) == {2.5} and set(names["fail"]) == {0.5}
    [instant] = answer["B"]["frames"]
    assert values(instant) == [7.0]


def test_bad_promql_answers_prometheus_error_text(viewer: httpx.Client) -> None:
    answer = query(viewer, {"refId": "A", "datasource": PROM, "expr": "bad("})
    assert answer.status_code == 400
    result = answer.json()["results"]["A"]
    assert result["status"] == 400
    assert result["error"] == BAD_QUERY_ERROR
    assert result["frames"] == []
    # one failed query among good ones: 200, the good one answered
    mixed = query(viewer, {"refId": "A", "datasource": PROM, "expr": "bad("},
                  {"refId": "B", "datasource": PROM, "expr": "up"})
    assert mixed.status_code == 200
    assert mixed.json()["results"]["B"]["frames"]


def test_thirty_days_widen_the_step_under_11000_points(viewer: httpx.Client,
                                                        prometheus: FakePrometheus) -> None:
    answer = query(viewer, {"refId": "A", "datasource": PROM, "expr": "up", "intervalMs": 1000,
                            "maxDataPoints": 100_000}, span="now-30d")
    assert answer.status_code == 200, answer.text
    sent = prometheus.last("/api/v1/query_range")
    step = float(sent["step"])
    points = (float(sent["end"]) - float(sent["start"])) / step + 1
    assert points <= 11_000, (step, points)
    assert step == 236  # ceil(30 d / 11,000 points) = 235.6 s, in whole seconds
    [frame] = answer.json()["results"]["A"]["frames"]
    assert len(frame["data"]["values"][0]) <= 11_000


def test_range_variables_are_substituted(viewer: httpx.Client,
                                         prometheus: FakePrometheus) -> None:
    now = int(time.time() * 1000)
    body = {"from": str(now - 3_600_000), "to": str(now), "queries": [
        {"refId": "A", "datasource": PROM,
         "expr": "increase(x[$__range]) / $__range_s + $__range_ms + $__interval_ms + "
                 "${__interval}", "intervalMs": 60000}]}
    assert viewer.post("/api/ds/query", json=body).status_code == 200
    assert prometheus.last("/api/v1/query_range")["query"] == (
        "increase(x[3600s]) / 3600 + 3600000 + 60000 + 1m")


def es_query(ref: str, lucene: str, metrics: list[dict[str, Any]],
             buckets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"refId": ref, "datasource": ES, "query": lucene, "timeField": "@timestamp",
            "metrics": metrics, "bucketAggs": buckets, "intervalMs": 60000,
            "maxDataPoints": 500}


HISTOGRAM = {"id": "2", "type": "date_histogram", "field": "@timestamp",
             "settings": {"interval": "1m", "min_doc_count": "0"}}


def test_elasticsearch_counts_percentiles_and_cardinality(viewer: httpx.Client) -> None:
    answer = query(
        viewer,
        es_query("A", "tags:error", [{"id": "1", "type": "count"}], [HISTOGRAM]),
        es_query("B", "event.dataset:access",
                 [{"id": "1", "type": "percentiles", "field": "event.duration",
                   "settings": {"percents": ["50", "100"]}}], [HISTOGRAM]),
        es_query("C", "user.id:*", [{"id": "1", "type": "cardinality", "field": "user.id"}],
                 [HISTOGRAM]),
        es_query("D", 'url.path:"/api/auth/login" AND http.request.method:POST',
                 [{"id": "1", "type": "count"}, {"id": "3", "type": "max",
                                                 "field": "event.duration"}],
                 [{**HISTOGRAM, "settings": {"interval": "auto", "min_doc_count": "1"}}]),
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    [errors] = results["A"]["frames"]
    assert errors["schema"]["name"] == "Count"
    assert sum(v or 0 for v in values(errors)) == 4
    # min_doc_count 0 and extended bounds: a bucket for every minute of the 15
    assert len(values(errors)) >= 15
    percentiles = {f["schema"]["name"]: values(f) for f in results["B"]["frames"]}
    assert set(percentiles) == {"p50.0 event.duration", "p100.0 event.duration"}
    assert max(v or 0 for v in percentiles["p100.0 event.duration"]) == 600
    [users] = results["C"]["frames"]
    assert users["schema"]["name"] == "Unique Count user.id"
    assert max(v or 0 for v in values(users)) == 3
    logins = {f["schema"]["name"]: values(f) for f in results["D"]["frames"]}
    assert set(logins) == {"Count", "Max event.duration"}
    assert sum(v or 0 for v in logins["Count"]) == 3
    assert max(v or 0 for v in logins["Max event.duration"]) == 300


def test_elasticsearch_terms_table(viewer: httpx.Client) -> None:
    terms = {"id": "2", "type": "terms", "field": "message.keyword",
             "settings": {"size": "10", "order": "desc", "orderBy": "_count",
                          "min_doc_count": "1"}}
    answer = query(viewer, es_query("A", "tags:error", [{"id": "1", "type": "count"}], [terms]))
    [table] = answer.json()["results"]["A"]["frames"]
    names = [field["name"] for field in table["schema"]["fields"]]
    assert names == ["message.keyword", "Count"]
    assert table["data"]["values"] == [["boom one", "boom two"], [3, 1]]


def test_terms_then_histogram_names_series_by_term(viewer: httpx.Client) -> None:
    terms = {"id": "3", "type": "terms", "field": "user.id",
             "settings": {"size": "5", "order": "desc", "orderBy": "_count"}}
    answer = query(viewer, es_query("A", "event.dataset:access", [{"id": "1", "type": "count"}],
                                    [terms, HISTOGRAM]))
    frames = answer.json()["results"]["A"]["frames"]
    assert {f["schema"]["name"]: sum(v or 0 for v in values(f)) for f in frames} == {
        "u1": 2, "u2": 2, "u3": 2}


def test_elasticsearch_errors_carry_the_reason(viewer: httpx.Client) -> None:
    answer = query(viewer, es_query("A", "tags:(error", [{"id": "1", "type": "count"}],
                                    [HISTOGRAM]))
    result = answer.json()["results"]["A"]
    assert answer.status_code == 400, answer.text
    assert result["error"].strip(), result
    assert result["errorSource"] == "downstream"
    unsupported = query(viewer, es_query("A", "*", [{"id": "1", "type": "moving_avg"}],
                                         [HISTOGRAM])).json()["results"]["A"]
    assert "moving_avg" in unsupported["error"]


def test_unknown_datasource(viewer: httpx.Client) -> None:
    answer = query(viewer, {"refId": "A", "datasource": {"uid": "nope"}, "expr": "up"})
    assert answer.status_code == 400
    assert "nope" in answer.json()["results"]["A"]["error"]
