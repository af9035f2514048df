"""The aggregations the logs dashboards send: percentiles as ES's TDigest answers them,
per-minute histograms with empty minutes, terms on `message.keyword`, cardinality."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch, helpers

NUMBERS = {"properties": {"int_field": {"type": "integer"}, "double_field": {"type": "double"}}}
MINUTE = 60_000
T0 = 1_714_557_600_000  # 2024-05-01T10:00:00Z


@pytest.fixture(scope="module")
def tdigest(es: Elasticsearch) -> str:
    """The setup of ES's rest-api-spec test
    search.aggregation/180_percentiles_tdigest_metric.yml."""
    es.indices.create(index="pct-yaml", mappings=NUMBERS)
    docs = [{"int_field": v, "double_field": float(v)} for v in (1, 51, 101, 151)]
    helpers.bulk(es, ({"_index": "pct-yaml", "_source": d} for d in docs), refresh=True)
    return "pct-yaml"


@pytest.fixture(scope="module")
def thousand(es: Elasticsearch) -> str:
    """1..1000 in one index, and an empty index matched by the same pattern."""
    for index in ("pct-k-a", "pct-k-b"):
        es.indices.create(index=index, mappings=NUMBERS)
    docs = ({"_index": "pct-k-a", "_source": {"int_field": v}} for v in range(1, 1001))
    helpers.bulk(es, docs, refresh=True)
    es.indices.refresh(index="pct-k-b")
    return "pct-k-*"


def _pct(es: Elasticsearch, index: str, **params: Any) -> Any:
    query = params.pop("query", None)
    res = es.search(index=index, size=0, query=query, aggs={"p": {"percentiles": params}})
    return res["aggregations"]["p"]["values"]


def test_the_yaml_tests_expected_values(es: Elasticsearch, tdigest: str) -> None:
    expected = {"1.0": 1.0, "5.0": 1.0, "25.0": 26.0, "50.0": 76.0, "75.0": 126.0}
    expected |= {"95.0": 151.0, "99.0": 151.0}
    assert _pct(es, tdigest, field="int_field") == expected
    assert _pct(es, tdigest, field="double_field", tdigest={"compression": 200}) == expected
    filtered = _pct(es, tdigest, field="int_field", query={"range": {"int_field": {"gte": 50}}})
    assert filtered == {"1.0": 51.0, "5.0": 51.0, "25.0": 63.5, "50.0": 101.0, "75.0": 138.5} | {
        "95.0": 151.0,
        "99.0": 151.0,
    }
    assert _pct(es, tdigest, field="missing_field", missing=1.0) == dict.fromkeys(expected, 1.0)
    assert _pct(es, tdigest, field="missing_field") == dict.fromkeys(expected)
    explicit = _pct(es, tdigest, field="int_field", percents=[5.0, 25.0, 50.0])
    assert explicit == {"5.0": 1.0, "25.0": 26.0, "50.0": 76.0}
    rows = _pct(es, tdigest, field="int_field", percents=[5.0, 25.0, 50.0], keyed=False)
    assert rows == [
        {"key": 5.0, "value": 1.0},
        {"key": 25.0, "value": 26.0},
        {"key": 50.0, "value": 76.0},
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"field": "int_field", "tdigest": {"compression": -1}}, "[compression] must be greater"),
        ({"field": "int_field", "percents": []}, "[percents] must not be empty"),
        ({"field": "int_field", "percents": None}, "[percents] must not be empty"),
        ({"field": "int_field", "percents": ["foo"]}, "must be numbers"),
        (
            {"field": "int_field", "hdr": {"number_of_significant_value_digits": 9}},
            "[numberOfSignificantValueDigits] must be between 0 and 5",
        ),
        ({"field": "int_field", "script": "x"}, "[percentiles script"),
        ({"field": "int_field", "missing": "x"}, "[missing]"),
        ({"field": "int_field", "colour": 1}, "unknown field [colour]"),
        ({"field": "service.name"}, "of type [keyword] is not supported"),
    ],
)
def test_the_yaml_tests_invalid_params(
    es: Elasticsearch, tdigest: str, params: dict[str, Any], reason: str
) -> None:
    with pytest.raises(BadRequestError) as err:
        _pct(es, tdigest, **params)
    assert reason in str(err.value.body["error"]["reason"]), err.value.body


def test_one_to_a_thousand_as_elasticsearch(es: Elasticsearch, thousand: str) -> None:
    want = {"1.0": 10.5, "5.0": 50.5, "25.0": 250.5, "50.0": 500.5, "75.0": 750.5}
    want |= {"95.0": 950.5, "99.0": 990.5}
    assert _pct(es, "pct-k-a", field="int_field") == want
    assert _pct(es, thousand, field="int_field") == want  # the empty index weighs nothing


def test_indices_weigh_by_their_counts(es: Elasticsearch) -> None:
    es.indices.create(index="pct-w-a", mappings=NUMBERS)
    es.indices.create(index="pct-w-b", mappings=NUMBERS)
    helpers.bulk(es, ({"_index": "pct-w-a", "_source": {"int_field": 5}} for _ in range(900)))
    helpers.bulk(es, ({"_index": "pct-w-b", "_source": {"int_field": 1000}} for _ in range(100)))
    es.indices.refresh(index="pct-w-*")
    got = _pct(es, "pct-w-*", field="int_field", percents=[50, 89, 95])
    assert got == {"50.0": 5.0, "89.0": 5.0, "95.0": 1000.0}


def test_past_the_exact_limit_the_sketch_answers_close(es: Elasticsearch) -> None:
    """More distinct values than percentiles.EXACT_DISTINCT: tantivy's sketch (~1%), each
    index weighed by its count."""
    for index, start in (("pct-big-a", 0), ("pct-big-b", 12_000)):
        es.indices.create(index=index, mappings=NUMBERS)
        docs = ({"_index": index, "_source": {"int_field": start + v}} for v in range(12_000))
        helpers.bulk(es, docs, chunk_size=5000)
    es.indices.refresh(index="pct-big-*")
    got = _pct(es, "pct-big-*", field="int_field", percents=[50, 90])
    assert got["50.0"] == pytest.approx(12_000, rel=0.03)
    assert got["90.0"] == pytest.approx(21_600, rel=0.03)


@pytest.fixture(scope="module")
def panel_logs(es: Elasticsearch) -> str:
    index = "logs-panel-2024.05.01"
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "message": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
                "event": {"properties": {"duration": {"type": "long"}}},
            }
        },
    )
    # minutes 0, 1 and 4 hold documents; 2 and 3 are empty
    docs = []
    for minute, messages in ((0, ["db down"] * 3 + ["ok"]), (1, ["ok"] * 2), (4, ["db down"])):
        for n, message in enumerate(messages):
            docs.append(
                {
                    "_index": index,
                    "_source": {
                        "@timestamp": T0 + minute * MINUTE + n * 1000,
                        "message": message,
                        "event": {"duration": (minute + 1) * 100 + n},
                        "user": {"id": f"u{n % 2}"},
                    },
                }
            )
    helpers.bulk(es, docs, refresh=True)
    return index


@pytest.mark.parametrize("interval", [{"fixed_interval": "1m"}, {"interval": "1m"}])
def test_per_minute_histogram_shows_empty_minutes(
    es: Elasticsearch, panel_logs: str, interval: dict[str, str]
) -> None:
    """Grafana's query: min_doc_count "0", extended_bounds in epoch ms, format epoch_millis."""
    histogram = {
        "field": "@timestamp",
        "min_doc_count": "0",
        "extended_bounds": {"min": T0 - MINUTE, "max": str(T0 + 5 * MINUTE)},
        "format": "epoch_millis",
        **interval,
    }
    res = es.search(
        index="logs-panel-*",
        size=0,
        query={"range": {"@timestamp": {"gte": T0 - MINUTE, "format": "epoch_millis"}}},
        aggs={
            "2": {
                "date_histogram": histogram,
                "aggs": {"1": {"percentiles": {"field": "event.duration", "percents": [50]}}},
            }
        },
    )
    buckets = res["aggregations"]["2"]["buckets"]
    assert [b["key"] for b in buckets] == [T0 + m * MINUTE for m in range(-1, 6)]
    assert [b["doc_count"] for b in buckets] == [0, 4, 2, 0, 0, 1, 0]
    assert buckets[1]["key_as_string"] == str(T0)
    assert buckets[1]["1"]["values"] == {"50.0": 101.5}
    assert buckets[0]["1"]["values"] == {"50.0": None}


def test_top_messages_by_count_with_a_sub_aggregation(es: Elasticsearch, panel_logs: str) -> None:
    res = es.search(
        index="logs-panel-*",
        size=0,
        aggs={
            "2": {
                "terms": {
                    "field": "message.keyword",
                    "size": "1",
                    "order": {"_count": "desc"},
                    "min_doc_count": "1",
                },
                "aggs": {"users": {"cardinality": {"field": "user.id"}}},
            }
        },
    )
    terms = res["aggregations"]["2"]
    assert terms["buckets"] == [{"key": "db down", "doc_count": 4, "users": {"value": 2}}]
    assert terms["sum_other_doc_count"] == 3
    ascending = es.search(
        index="logs-panel-*",
        size=0,
        aggs={"2": {"terms": {"field": "message.keyword", "order": {"_count": "asc"}}}},
    )
    assert [b["key"] for b in ascending["aggregations"]["2"]["buckets"]] == ["ok", "db down"]


def test_cardinality(es: Elasticsearch, panel_logs: str) -> None:
    es.indices.create(index="logs-panel-2024.05.02")
    other = "logs-panel-2024.05.02"
    docs = ({"_index": other, "_source": {"user": {"id": f"u{n}"}}} for n in range(5))
    helpers.bulk(es, docs, refresh=True)
    one = es.search(index=panel_logs, size=0, aggs={"u": {"cardinality": {"field": "user.id"}}})
    assert one["aggregations"]["u"]["value"] == 2
    card = {"u": {"cardinality": {"field": "user.id"}}}
    both = es.search(index="logs-panel-*", size=0, aggs=card)
    assert both["aggregations"]["u"]["value"] == 5  # u0..u4: u0 and u1 are in both


@pytest.mark.parametrize(
    ("aggs", "reason"),
    [
        ({"terms": {"field": "message.keyword", "include": "d.*&x"}}, "[terms include"),
        ({"terms": {"field": "message.keyword", "colour": 1}}, "unknown field [colour]"),
        ({"date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "order": {}}}, "order"),
        (
            {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "format": "MMM"}},
            "format",
        ),
        ({"cardinality": {"field": "user.id", "script": "x"}}, "[cardinality script"),
        ({"significant_terms": {"field": "user.id"}}, "[significant_terms aggregation"),
    ],
)
def test_unsupported_parameters_are_refused_by_name(
    es: Elasticsearch, panel_logs: str, aggs: dict[str, Any], reason: str
) -> None:
    with pytest.raises(BadRequestError) as err:
        es.search(index=panel_logs, size=0, aggs={"a": aggs})
    assert reason in str(err.value.body["error"]["reason"]), err.value.body
