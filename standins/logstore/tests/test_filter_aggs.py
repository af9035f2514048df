"""The `filter` and `filters` aggregations: the expected values of ES's rest-api-spec tests
search.aggregation/50_filter.yml and 220_filters_bucket.yml, then nesting (under
date_histogram and terms, filters in filters), `other_bucket`, several indices, `typed_keys`."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch
from logstore.testing import load

MINUTE = 60_000
T0 = 1_714_557_600_000  # 2024-05-01T10:00:00Z


@pytest.fixture(scope="module")
def yaml_220(es: Elasticsearch) -> str:
    """The setup of 220_filters_bucket.yml, and the document its "cache busting" test adds."""
    mappings = {
        "properties": {
            "int_field": {"type": "integer"},
            "double_field": {"type": "double"},
            "string_field": {"type": "keyword"},
        }
    }
    docs = [{"int_field": v, "double_field": float(v), "string_field": "foo"} for v in (1, 51)]
    docs += [{"int_field": v, "double_field": float(v), "string_field": "foo"} for v in (101, 151)]
    return load(es, "fb-test_1", docs, mappings=mappings)


NAMED = {
    "first_filter": {"match": {"int_field": 101}},
    "second_filter": {"match": {"int_field": 151}},
}
AVG = {"the_avg": {"avg": {"field": "int_field"}}}


def test_220_basic_and_only_aggs(es: Elasticsearch, yaml_220: str) -> None:
    res = es.search(index=yaml_220, aggs={"the_filter": {"filters": {"filters": NAMED}}}, size=10)
    assert res["hits"]["total"]["value"] == 4 and len(res["hits"]["hits"]) == 4
    assert res["aggregations"]["the_filter"]["buckets"] == {
        "first_filter": {"doc_count": 1},
        "second_filter": {"doc_count": 1},
    }
    for size in (10, 0):
        res = es.search(
            index=yaml_220,
            size=size,
            aggs={"the_filter": {"filters": {"filters": NAMED}, "aggs": AVG}},
        )
        assert res["aggregations"]["the_filter"]["buckets"] == {
            "first_filter": {"doc_count": 1, "the_avg": {"value": 101.0}},
            "second_filter": {"doc_count": 1, "the_avg": {"value": 151.0}},
        }


def test_220_anonymous_filters(es: Elasticsearch, yaml_220: str) -> None:
    anonymous = [{"match": {"int_field": 101}}, {"match": {"int_field": 151}}]
    res = es.search(index=yaml_220, aggs={"the_filter": {"filters": {"filters": anonymous}}})
    assert res["aggregations"]["the_filter"]["buckets"] == [{"doc_count": 1}, {"doc_count": 1}]
    res = es.search(
        index=yaml_220, aggs={"the_filter": {"filters": {"filters": anonymous}, "aggs": AVG}}
    )
    assert res["aggregations"]["the_filter"]["buckets"] == [
        {"doc_count": 1, "the_avg": {"value": 101.0}},
        {"doc_count": 1, "the_avg": {"value": 151.0}},
    ]


def test_220_filtered(es: Elasticsearch, yaml_220: str) -> None:
    """The yaml test's query, `constant_score` around a range filter."""
    res = es.search(
        index=yaml_220,
        query={"constant_score": {"filter": {"range": {"int_field": {"gte": 110}}}}},
        aggs={"the_filter": {"filters": {"filters": NAMED}, "aggs": AVG}},
    )
    assert res["hits"]["total"]["value"] == 1
    buckets = res["aggregations"]["the_filter"]["buckets"]
    assert buckets["first_filter"]["doc_count"] == 0
    assert not buckets["first_filter"]["the_avg"]["value"]
    assert buckets["second_filter"] == {"doc_count": 1, "the_avg": {"value": 151.0}}


def test_220_metadata(es: Elasticsearch, yaml_220: str) -> None:
    res = es.search(
        index=yaml_220,
        aggs={"the_filter": {"meta": {"foo": "bar"}, "filters": {"filters": NAMED}}},
    )
    assert res["aggregations"]["the_filter"]["meta"] == {"foo": "bar"}
    assert res["aggregations"]["the_filter"]["buckets"]["first_filter"]["doc_count"] == 1


@pytest.mark.parametrize("body", [{}, {"filters": []}, {"filters": {}}])
def test_220_bad_params(es: Elasticsearch, yaml_220: str, body: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError) as err:
        es.search(index=yaml_220, aggs={"the_filter": {"filters": body}})
    assert "[filters] cannot be empty" in err.value.body["error"]["reason"]


def test_220_keyword_match_and_match_all(es: Elasticsearch) -> None:
    """ "cache busting" (its first search) and "nested" (match_all counts each document)."""
    index = load(
        es,
        "fb-busting",
        [{"string_field": "foo"}] * 4 + [{"string_field": "foo bar"}],
        mappings={"properties": {"string_field": {"type": "keyword"}}},
    )
    filters = {
        "foo": {"match": {"string_field": "foo"}},
        "foo_bar": {"match": {"string_field": "foo bar"}},
        "all": {"match_all": {}},
    }
    res = es.search(index=index, size=0, aggs={"f": {"filters": {"filters": filters}}})
    assert res["hits"]["total"]["value"] == 5
    assert res["aggregations"]["f"]["buckets"] == {
        "all": {"doc_count": 5},
        "foo": {"doc_count": 4},
        "foo_bar": {"doc_count": 1},
    }
    assert list(res["aggregations"]["f"]["buckets"]) == ["all", "foo", "foo_bar"]  # by name


KEYWORDS = {"properties": {"mentions": {"type": "keyword"}, "notifications": {"type": "keyword"}}}
SETUP_50 = [{"notifications": ["abc"]}, {"mentions": ["abc"]}]


def test_50_standard_query(es: Elasticsearch) -> None:
    index = load(es, "f50-standard", SETUP_50, mappings=KEYWORDS)
    res = es.search(
        index=index,
        size=0,
        aggs={
            "itemsNotify": {
                "filter": {"terms": {"mentions": ["abc"]}},
                "aggs": {"mentions": {"terms": {"field": "mentions"}}},
            }
        },
    )
    assert res["hits"]["total"]["value"] == 2
    items = res["aggregations"]["itemsNotify"]
    assert items["doc_count"] == 1
    assert [b["key"] for b in items["mentions"]["buckets"]] == ["abc"]


def test_50_as_a_child_of_terms(es: Elasticsearch) -> None:
    docs = [*SETUP_50, {"category": "bar", "val": 8}, {"category": "bar", "val": 0}]
    index = load(es, "f50-child", docs, mappings=KEYWORDS)
    res = es.search(
        index=index,
        size=0,
        aggs={
            "category": {
                "terms": {"field": "category.keyword"},
                "aggs": {"high": {"filter": {"range": {"val": {"gte": 7}}}}},
            }
        },
    )
    assert res["hits"]["total"]["value"] == 4
    assert res["aggregations"]["category"]["buckets"] == [
        {"key": "bar", "doc_count": 2, "high": {"doc_count": 1}}
    ]


@pytest.mark.parametrize("order", [{"high.doc_count": "desc"}, {"high": "desc"}])
def test_50_sorting_terms(es: Elasticsearch, order: dict[str, str]) -> None:
    index = "f50-sorting"
    if not es.indices.exists(index=index):
        docs = [{"category": "foo", "val": 7}] + [{"category": "bar", "val": v} for v in (8, 9, 0)]
        load(es, index, [*SETUP_50, *docs], mappings=KEYWORDS)
    res = es.search(
        index=index,
        size=0,
        aggs={
            "category": {
                "terms": {"field": "category.keyword", "order": order},
                "aggs": {"high": {"filter": {"range": {"val": {"gte": 7}}}}},
            }
        },
    )
    assert res["hits"]["total"]["value"] == 6
    assert res["aggregations"]["category"]["buckets"] == [
        {"key": "bar", "doc_count": 3, "high": {"doc_count": 2}},
        {"key": "foo", "doc_count": 1, "high": {"doc_count": 1}},
    ]


LOG_MAPPING = {
    "properties": {
        "message": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "level": {"type": "keyword"},
        "took": {"type": "long"},
    }
}


@pytest.fixture(scope="module")
def two_days(es: Elasticsearch) -> str:
    """Two indices: minute 0 and 2 of the first, minute 2 of the second; minute 1 is empty."""
    day1 = [
        {"@timestamp": T0, "level": "error", "message": "db down", "took": 10, "user": "a"},
        {"@timestamp": T0 + 1000, "level": "info", "message": "ok", "took": 20, "user": "b"},
        {"@timestamp": T0 + 2 * MINUTE, "level": "error", "message": "db down", "took": 30},
    ]
    day2 = [
        {"@timestamp": T0 + 2 * MINUTE, "level": "error", "message": "timeout", "took": 40},
        {"@timestamp": T0 + 2 * MINUTE + 5, "level": "info", "message": "ok", "took": 50},
    ]
    load(es, "fl-logs-1", day1, mappings=LOG_MAPPING)
    load(es, "fl-logs-2", day2, mappings=LOG_MAPPING)
    return "fl-logs-*"


ERRORS = {"term": {"level": "error"}}


def test_filter_under_a_date_histogram_across_indices(es: Elasticsearch, two_days: str) -> None:
    res = es.search(
        index=two_days,
        size=0,
        aggs={
            "time": {
                "date_histogram": {"field": "@timestamp", "fixed_interval": "1m"},
                "aggs": {
                    "errors": {"filter": ERRORS, "aggs": {"took": {"max": {"field": "took"}}}},
                    "users": {"cardinality": {"field": "user"}},
                },
            }
        },
    )
    buckets = res["aggregations"]["time"]["buckets"]
    assert [b["doc_count"] for b in buckets] == [2, 0, 3]
    assert [b["errors"] for b in buckets] == [
        {"doc_count": 1, "took": {"value": 10.0}},
        {"doc_count": 0, "took": {"value": None}},  # the empty minute
        {"doc_count": 2, "took": {"value": 40.0}},
    ]
    assert [b["users"]["value"] for b in buckets] == [2, 0, 0]


def test_filter_at_the_top_with_terms_inside(es: Elasticsearch, two_days: str) -> None:
    res = es.search(
        index=two_days,
        size=0,
        query={"range": {"@timestamp": {"gte": T0 + MINUTE}}},
        aggs={
            "errors": {
                "filter": ERRORS,
                "aggs": {"messages": {"terms": {"field": "message.keyword", "size": 10}}},
            }
        },
    )
    errors = res["aggregations"]["errors"]
    assert errors["doc_count"] == 2
    assert [(b["key"], b["doc_count"]) for b in errors["messages"]["buckets"]] == [
        ("db down", 1),
        ("timeout", 1),
    ]


def test_filters_with_other_bucket_and_filter_inside(es: Elasticsearch, two_days: str) -> None:
    inner = {"slow": {"filter": {"range": {"took": {"gte": 30}}}}}
    named = {"filters": {"errors": ERRORS}, "other_bucket_key": "rest"}
    res = es.search(index=two_days, size=0, aggs={"by": {"filters": named, "aggs": inner}})
    assert res["aggregations"]["by"]["buckets"] == {
        "errors": {"doc_count": 3, "slow": {"doc_count": 2}},
        "rest": {"doc_count": 2, "slow": {"doc_count": 1}},
    }
    anonymous = {"filters": [ERRORS, {"term": {"message.keyword": "ok"}}], "other_bucket": True}
    res = es.search(index=two_days, size=0, aggs={"by": {"filters": anonymous}})
    assert res["aggregations"]["by"]["buckets"] == [
        {"doc_count": 3},
        {"doc_count": 2},
        {"doc_count": 0},  # the other bucket comes last
    ]


def test_filters_under_terms(es: Elasticsearch, two_days: str) -> None:
    res = es.search(
        index=two_days,
        size=0,
        aggs={
            "level": {
                "terms": {"field": "level"},
                "aggs": {"by": {"filters": {"filters": {"fast": {"range": {"took": {"lt": 25}}}}}}},
            }
        },
    )
    buckets = res["aggregations"]["level"]["buckets"]
    got = [(b["key"], b["by"]["buckets"]["fast"]["doc_count"]) for b in buckets]
    assert got == [("error", 1), ("info", 1)]


@pytest.mark.parametrize(
    "parent",
    [
        {"date_histogram": {"field": "@timestamp", "calendar_interval": "month"}},
        {"range": {"field": "took", "ranges": [{"to": 35}, {"from": 35}]}},
        {"histogram": {"field": "took", "interval": 100}},
    ],
)
def test_filter_under_other_bucket_aggregations(
    es: Elasticsearch, two_days: str, parent: dict[str, Any]
) -> None:
    """Calendar months and ranges come back from tantivy as ranges, histograms with float keys:
    the filter's counts find their buckets all the same."""
    res = es.search(
        index=two_days, size=0, aggs={"p": {**parent, "aggs": {"errors": {"filter": ERRORS}}}}
    )
    got = [(b["doc_count"], b["errors"]["doc_count"]) for b in res["aggregations"]["p"]["buckets"]]
    assert got == ([(3, 2), (2, 1)] if "range" in parent else [(5, 3)])


def test_typed_keys(es: Elasticsearch, two_days: str) -> None:
    res = es.search(
        index=two_days,
        size=0,
        typed_keys=True,
        aggs={
            "errors": {"filter": ERRORS, "aggs": {"took": {"max": {"field": "took"}}}},
            "by": {
                "filters": {"filters": {"e": ERRORS}},
                "aggs": {"n": {"sum": {"field": "took"}}},
            },
        },
    )
    aggs = res["aggregations"]
    assert aggs["filter#errors"] == {"doc_count": 3, "max#took": {"value": 40.0}}
    assert aggs["filters#by"] == {"buckets": {"e": {"doc_count": 3, "sum#n": {"value": 80.0}}}}


@pytest.mark.parametrize(
    ("agg", "reason"),
    [
        ({"filter": {"bogus": {}}}, "unknown query [bogus]"),
        ({"filters": {"filters": {"a": ERRORS}, "keyed": False}}, "[filters keyed"),
        ({"filters": {"filters": {"a": ERRORS}, "colour": 1}}, "unknown field [colour]"),
        ({"filters": {"filters": {"a": ERRORS}, "other_bucket": "yes"}}, "[other_bucket]"),
        ({"filters": {"filters": "x"}}, "must be an object or an array"),
    ],
)
def test_bad_filters_are_refused_by_name(
    es: Elasticsearch, two_days: str, agg: dict[str, Any], reason: str
) -> None:
    with pytest.raises(BadRequestError) as err:
        es.search(index=two_days, size=0, aggs={"a": agg})
    assert reason in str(err.value.body["error"]["reason"]), err.value.body
