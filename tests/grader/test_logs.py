"""grader/logs.py: the logs dashboard's panels as Elasticsearch searches, and what counts as a
panel showing data. (The searches run against real stores in `checks/test_elk.py`.)"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest

from grader import logs
from grader.errors import CheckFailed


def test_every_panel_of_the_reference_dashboard_becomes_a_search() -> None:
    queries = logs.panel_queries(logs.load_dashboard(None), indices="logs-*", since="now-15m")
    panels = {q.panel for q in queries}
    assert len(panels) == 5, panels  # the course's four panels plus top error messages
    latency = next(q for q in queries if q.metric["type"] == "percentiles")
    histogram = latency.body["aggs"]["2"]
    assert histogram["date_histogram"]["fixed_interval"] == "1m"
    assert histogram["aggs"]["1"]["percentiles"] == {
        "field": "event.duration",
        "percents": [50.0, 95.0],
    }
    filters = latency.body["query"]["bool"]["filter"]
    assert {"range": {"@timestamp": {"gte": "now-15m", "lte": "now"}}} in filters
    top = next(q for q in queries if "terms" in next(iter(q.body["aggs"].values())))
    assert next(iter(top.body["aggs"].values()))["terms"]["field"] == "message.keyword"


def _query(metric: dict[str, Any]) -> logs.PanelQuery:
    return logs.PanelQuery("p", "A", metric, {}, "logs-*")


@pytest.mark.parametrize(
    ("metric", "bucket", "filled"),
    [
        ({"id": "1", "type": "count"}, {"doc_count": 0}, False),
        ({"id": "1", "type": "count"}, {"doc_count": 3}, True),
        ({"id": "1", "type": "percentiles"}, {"1": {"values": {"50.0": None}}}, False),
        ({"id": "1", "type": "percentiles"}, {"1": {"values": {"50.0": 4.0e6}}}, True),
        ({"id": "1", "type": "cardinality"}, {"1": {"value": 0}}, False),
        ({"id": "1", "type": "cardinality"}, {"1": {"value": 2}}, True),
    ],
)
def test_a_panel_shows_data_only_when_a_bucket_holds_some(
    metric: dict[str, Any], bucket: dict[str, Any], filled: bool
) -> None:
    answer = {"aggregations": {"2": {"buckets": [{"key": 1, "doc_count": 0}, bucket]}}}
    assert logs.filled_buckets(_query(metric), answer) == int(filled)


def test_nested_buckets_are_counted_at_the_innermost_level() -> None:
    inner = {"buckets": [{"key": "a", "doc_count": 2}, {"key": "b", "doc_count": 0}]}
    answer = {"aggregations": {"2": {"buckets": [{"key": 1, "doc_count": 2, "3": inner}]}}}
    assert logs.filled_buckets(_query({"id": "1", "type": "count"}), answer) == 1


def test_time_values_and_settings_in_both_shapes() -> None:
    assert logs.es_duration("7d") == timedelta(days=7)
    assert logs.es_duration("0ms") == timedelta(0)
    with pytest.raises(CheckFailed, match="7 days"):
        logs.es_duration("7 days")
    nested = {"index": {"lifecycle": {"name": "logs-retention"}}}
    assert logs._setting(nested, "index.lifecycle.name") == "logs-retention"
    assert logs._setting({"index.lifecycle.name": "x"}, "index.lifecycle.name") == "x"
    assert logs._setting({}, "index.lifecycle.name") is None


def test_syslog_lines_carry_priority_app_and_message() -> None:
    line = logs.rfc5424("probe", "hello", severity=3)
    assert line.startswith("<11>1 ") and line.endswith(f" probe {_pid()} - - hello")
    bsd = logs.rfc3164("probe", "hi")
    assert bsd.startswith("<14>") and bsd.endswith(f"probe[{_pid()}]: hi")


def _pid() -> int:
    return os.getpid()
