"""The searches of the stack's Kibana dashboard (the Vega visualizations of
stack/config/kibana/saved-objects.ndjson), with Kibana's placeholders filled as Kibana fills
them, against a few log documents: each must answer with rows for the panel to draw."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

SAVED_OBJECTS = Path(__file__).resolve().parents[3] / "stack/config/kibana/saved-objects.ndjson"
MINUTE = 60_000
T0 = 1_717_236_000_000  # 2024-06-01T10:00:00Z: no other test's logs-* documents are near
TIME_MIN, TIME_MAX = T0 - 5 * MINUTE, T0 + 10 * MINUTE  # the dashboard's time picker
# The fields the panels read, mapped as the stack's index templates map them.
MAPPING = {
    "properties": {
        "@timestamp": {"type": "date"},
        "message": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "tags": {"type": "keyword"},
        "event": {"properties": {"duration": {"type": "long"}}},
        "http": {"properties": {"request": {"properties": {"method": {"type": "keyword"}}}}},
        "url": {"properties": {"path": {"type": "keyword"}}},
        "user": {"properties": {"id": {"type": "keyword"}}},
    }
}


def _vega_specs() -> dict[str, dict[str, Any]]:
    specs = {}
    for line in SAVED_OBJECTS.read_text().splitlines():
        obj = json.loads(line)
        vis = obj.get("attributes", {}).get("visState")
        if vis and json.loads(vis).get("type") == "vega":
            params = json.loads(vis)["params"]
            specs[obj["attributes"]["title"]] = json.loads(params["spec"])
    return specs


VEGA = _vega_specs()


def _filled(value: Any) -> Any:
    """Kibana's `{"%timefilter%": "min"|"max"}`: the time picker's bounds in epoch ms."""
    if isinstance(value, dict):
        if set(value) == {"%timefilter%"}:
            return {"min": TIME_MIN, "max": TIME_MAX}[value["%timefilter%"]]
        return {k: _filled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v) for v in value]
    return value


def _request(url: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The index and body Kibana sends for a Vega `data.url`: with `%context%`, the
    dashboard's query (none here) and the time picker's range on `%timefield%`."""
    body = _filled(url["body"])
    if url.get("%context%"):
        span = {"gte": TIME_MIN, "lte": TIME_MAX, "format": "epoch_millis"}
        body["query"] = {
            "bool": {
                "must": [{"match_all": {}}],
                "filter": [{"range": {url["%timefield%"]: span}}],
            }
        }
    return url["index"], body


@pytest.fixture(scope="module")
def logs(es: Elasticsearch) -> None:
    """An app index and an access index, as the shipper writes them, over five minutes."""
    app, access = "logs-app-vega-2024.06.01", "logs-access-vega-2024.06.01"
    for index in (app, access):
        es.indices.create(index=index, mappings=MAPPING)
    docs: list[dict[str, Any]] = []
    for minute in range(5):
        ts = T0 + minute * MINUTE
        docs.append({"_index": app, "@timestamp": ts, "message": "order placed", "tags": []})
        if minute % 2 == 0:
            docs.append(
                {"_index": app, "@timestamp": ts + 1, "message": "db timeout", "tags": ["error"]}
            )
        for n, (method, path) in enumerate((("POST", "/api/auth/login"), ("GET", "/api/games"))):
            docs.append(
                {
                    "_index": access,
                    "@timestamp": ts + 10 + n,
                    "message": f"{method} {path} 200",
                    "http": {"request": {"method": method}},
                    "url": {"path": path},
                    "user": {"id": f"user-{(minute + n) % 3}"},
                    "event": {"duration": (minute + 1) * 1_000_000 * (n + 1)},
                    "tags": [],
                }
            )
    helpers.bulk(es, ({"_index": d.pop("_index"), "_source": d} for d in docs), refresh=True)


def _at(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _datum_paths(spec: dict[str, Any]) -> list[list[str]]:
    """What the panel's `calculate` transforms read from each row: `datum.a.b['c']`."""
    paths = []
    for step in spec.get("transform", []):
        for found in re.findall(r"datum((?:\.\w+|\['[^']+'\])+)", step.get("calculate", "")):
            paths.append(re.findall(r"\.(\w+)|\['([^']+)'\]", found))
    return [[a or b for a, b in path] for path in paths]


def test_the_dashboard_has_its_vega_panels() -> None:
    assert len(VEGA) == 5, sorted(VEGA)


@pytest.mark.parametrize("title", sorted(VEGA))
def test_each_vega_panel_gets_rows(es: Elasticsearch, logs: None, title: str) -> None:
    spec = VEGA[title]
    index, body = _request(spec["data"]["url"])
    res = es.search(index=index, **body)
    rows = _at(res.body, spec["data"]["format"]["property"])
    assert isinstance(rows, list) and rows, res.body
    for path in _datum_paths(spec):
        values = []
        for row in rows:
            value: Any = row
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            values.append(value)
        assert any(isinstance(v, int | float) and v > 0 for v in values), (path, rows)


def test_user_activity_counts_logins_and_users(es: Elasticsearch, logs: None) -> None:
    index, body = _request(VEGA["User activity (logins, distinct users)"]["data"]["url"])
    buckets = es.search(index=index, **body)["aggregations"]["time"]["buckets"]
    assert len(buckets) == 16  # every minute of the time picker, empty ones included
    busy = [b for b in buckets if b["doc_count"]]
    assert [b["logins"]["doc_count"] for b in busy] == [1] * 5
    assert [b["users"]["value"] for b in busy] == [2] * 5
    assert {b["logins"]["doc_count"] for b in buckets if not b["doc_count"]} == {0}


def test_top_error_messages(es: Elasticsearch, logs: None) -> None:
    index, body = _request(VEGA["Top error messages"]["data"]["url"])
    errors = es.search(index=index, **body)["aggregations"]["errors"]
    assert errors["doc_count"] == 3
    assert errors["messages"]["buckets"] == [{"key": "db timeout", "doc_count": 3}]
