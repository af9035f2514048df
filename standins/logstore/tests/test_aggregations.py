"""Aggregations beyond the dashboards' own (test_dashboard_aggs.py): extended_stats,
percentile_ranks, top_hits, missing, ip_range, terms include/exclude and orders, histogram
formats and bounds, range `missing`, search.max_buckets, and the refusals, with the expected
values of ES's rest-api-spec tests under search.aggregation where they have one."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch
from logstore.testing import load

MAPPINGS = {
    "properties": {
        "int_field": {"type": "integer"},
        "double_field": {"type": "double"},
        "string_field": {"type": "keyword"},
        "ip": {"type": "ip"},
        "flag": {"type": "boolean"},
        "date": {"type": "date"},
    }
}


@pytest.fixture(scope="module")
def four(es: Elasticsearch) -> str:
    """160_extended_stats_metric.yml's setup: 1, 51, 101, 151, with a few more fields."""
    docs = [
        {
            "int_field": v,
            "double_field": float(v),
            "string_field": s,
            "ip": ip,
            "flag": v > 60,
            "date": d,
        }
        for v, s, ip, d in [
            (1, "abc", "::1", "2016-01-01"),
            (51, "abc", "192.168.0.1", "2016-01-02"),
            (101, "bcd", "192.168.0.7", "2016-02-01"),
            (151, "xyz", "10.0.0.1", "2016-03-01"),
        ]
    ]
    return load(es, "aggs-four", docs, mappings=MAPPINGS)


def _aggs(es: Elasticsearch, index: str, aggs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    res: dict[str, Any] = es.search(index=index, size=0, aggs=aggs, **kw)["aggregations"]
    return res


def test_extended_stats(es: Elasticsearch, four: str) -> None:
    got = _aggs(es, four, {"e": {"extended_stats": {"field": "int_field", "sigma": 3}}})["e"]
    assert got["count"] == 4 and got["sum"] == 304.0 and got["sum_of_squares"] == 35604.0
    assert got["variance"] == 3125.0 and got["std_deviation"] == 55.90169943749474
    assert got["std_deviation_bounds"]["upper"] == 243.7050983124842
    assert got["std_deviation_bounds"]["lower"] == -91.70509831248421
    empty = _aggs(es, four, {"e": {"extended_stats": {"field": "nothing_here"}}})["e"]
    assert empty["count"] == 0 and empty["variance"] is None and empty["avg"] is None
    with pytest.raises(BadRequestError) as err:
        _aggs(es, four, {"e": {"extended_stats": {"field": "int_field", "sigma": -1}}})
    assert "[sigma] must be greater than or equal to 0. Found [-1.0] in [e]" in str(err.value)


def test_extended_stats_across_indices(es: Elasticsearch, four: str) -> None:
    """Merged from the sums, as one index holding all the values would answer."""
    load(es, "aggs-four-more", [{"int_field": 201}], mappings=MAPPINGS)
    got = _aggs(es, "aggs-four*", {"e": {"extended_stats": {"field": "int_field"}}})["e"]
    values = [1, 51, 101, 151, 201]
    mean = sum(values) / 5
    assert got["count"] == 5 and got["avg"] == mean
    assert got["variance"] == pytest.approx(sum((v - mean) ** 2 for v in values) / 5)
    es.indices.delete(index="aggs-four-more")


def test_metric_on_keyword_is_refused(es: Elasticsearch, four: str) -> None:
    for kind in ("avg", "sum", "min", "max", "stats", "extended_stats"):
        with pytest.raises(BadRequestError) as err:
            _aggs(es, four, {"a": {kind: {"field": "string_field"}}})
        assert f"is not supported for aggregation [{kind}]" in str(err.value)


def test_cardinality_missing_and_precision(es: Elasticsearch, four: str) -> None:
    got = _aggs(es, four, {"c": {"cardinality": {"field": "nope", "missing": "foo"}}})
    assert got["c"]["value"] == 1
    with pytest.raises(BadRequestError) as err:
        _aggs(es, four, {"c": {"cardinality": {"field": "int_field", "precision_threshold": -1}}})
    assert "[precisionThreshold] must be greater than or equal to 0. Found [-1] in [c]" in str(
        err.value
    )


def test_missing_bucket(es: Elasticsearch, four: str) -> None:
    """320_missing.yml: the documents without the field (none once `missing` fills them)."""
    got = _aggs(
        es,
        four,
        {"m": {"missing": {"field": "nope"}, "aggs": {"s": {"sum": {"field": "int_field"}}}}},
    )
    assert got["m"] == {"doc_count": 4, "s": {"value": 304.0}}
    assert _aggs(es, four, {"m": {"missing": {"field": "int_field"}}})["m"] == {"doc_count": 0}
    assert _aggs(es, four, {"m": {"missing": {"field": "nope", "missing": 1}}})["m"] == {
        "doc_count": 0
    }


def test_terms_key_as_string_and_include_exclude(es: Elasticsearch, four: str) -> None:
    flags = _aggs(es, four, {"t": {"terms": {"field": "flag"}}})["t"]["buckets"]
    assert [(b["key"], b["key_as_string"], b["doc_count"]) for b in flags] == [
        (0, "false", 2),
        (1, "true", 2),
    ]
    regex = _aggs(es, four, {"t": {"terms": {"field": "string_field", "include": "a.*"}}})
    assert [b["key"] for b in regex["t"]["buckets"]] == ["abc"]
    listed = {"terms": {"field": "string_field", "exclude": ["abc", "xyz"]}}
    assert [b["key"] for b in _aggs(es, four, {"t": listed})["t"]["buckets"]] == ["bcd"]
    dates = {"terms": {"field": "date", "include": ["2016-02-01", "2016-03-01"]}}
    got = _aggs(es, four, {"t": dates})["t"]["buckets"]
    assert [b["key_as_string"] for b in got] == [
        "2016-02-01T00:00:00.000Z",
        "2016-03-01T00:00:00.000Z",
    ]
    ints = {"terms": {"field": "int_field", "exclude": [1, 51]}}
    assert [b["key"] for b in _aggs(es, four, {"t": ints})["t"]["buckets"]] == [101, 151]
    with pytest.raises(ApiError) as err:  # ES: an aggregation_execution_exception, a 500
        _aggs(es, four, {"t": {"terms": {"field": "ip", "exclude": "127.*"}}})
    assert "regular expression style include/exclude" in str(err.value)


def test_terms_partitions(es: Elasticsearch) -> None:
    """20_terms.yml's partitions: ES hashes strings with murmur3 and numbers with mix64."""
    index = load(
        es,
        "aggs-partitions",
        [
            {"str": "abc", "integer": 1234},
            {"str": "abc", "integer": 5678},
            {"str": "bcd", "integer": 1234},
        ],
        mappings={"properties": {"str": {"type": "keyword"}, "integer": {"type": "long"}}},
    )
    for field, expected in (("str", ["bcd", "abc"]), ("integer", [5678, 1234])):
        for partition in (0, 1):
            include = {"partition": partition, "num_partitions": 2}
            got = _aggs(es, index, {"t": {"terms": {"field": field, "include": include}}})
            assert [b["key"] for b in got["t"]["buckets"]] == [expected[partition]]


def test_terms_orders(es: Elasticsearch, four: str) -> None:
    """An order tantivy cannot take (several keys, a percentile) is applied to every term, so
    `size` keeps the right ones."""
    by_max = {
        "terms": {"field": "string_field", "size": 1, "order": {"m": "asc"}},
        "aggs": {"m": {"max": {"field": "int_field"}}},
    }
    assert [b["key"] for b in _aggs(es, four, {"t": by_max})["t"]["buckets"]] == ["abc"]
    two_keys = {"terms": {"field": "string_field", "order": [{"_count": "desc"}, {"_key": "desc"}]}}
    assert [b["key"] for b in _aggs(es, four, {"t": two_keys})["t"]["buckets"]] == [
        "abc",
        "xyz",
        "bcd",
    ]
    by_pct = {
        "terms": {"field": "string_field", "size": 1, "order": {"p.50": "desc"}},
        "aggs": {"p": {"percentiles": {"field": "int_field", "percents": [50]}}},
    }
    assert [b["key"] for b in _aggs(es, four, {"t": by_pct})["t"]["buckets"]] == ["xyz"]
    deprecated = {"terms": {"field": "string_field", "order": {"_term": "desc"}}}
    assert _aggs(es, four, {"t": deprecated})["t"]["buckets"][0]["key"] == "xyz"


def test_terms_value_type_on_unmapped(es: Elasticsearch, four: str) -> None:
    cases = [
        ({"value_type": "boolean", "missing": True}, (1, "true")),
        (
            {"value_type": "date", "missing": "2016-05-11"},
            (1462924800000, "2016-05-11T00:00:00.000Z"),
        ),
        ({"value_type": "long", "missing": 3}, (3, None)),
        ({"value_type": "double", "missing": 3.5}, (3.5, None)),
        ({"value_type": "string", "missing": "abc"}, ("abc", None)),
    ]
    for params, (key, text) in cases:
        got = _aggs(es, four, {"t": {"terms": {"field": "unmapped", **params}}})["t"]["buckets"]
        assert [(b["key"], b.get("key_as_string"), b["doc_count"]) for b in got] == [(key, text, 4)]


def test_histogram_format_keyed_bounds_order(es: Elasticsearch, four: str) -> None:
    fmt = {"histogram": {"field": "int_field", "interval": 50, "format": "Value is ##0.0"}}
    got = _aggs(es, four, {"h": fmt})["h"]["buckets"]
    assert [b["key_as_string"] for b in got] == [
        "Value is 0.0",
        "Value is 50.0",
        "Value is 100.0",
        "Value is 150.0",
    ]
    keyed = {"histogram": {"field": "int_field", "interval": 100, "keyed": True}}
    assert _aggs(es, four, {"h": keyed})["h"]["buckets"] == {
        "0.0": {"key": 0.0, "doc_count": 2},
        "100.0": {"key": 100.0, "doc_count": 2},
    }
    bounded = {
        "histogram": {
            "field": "int_field",
            "interval": 50,
            "min_doc_count": 0,
            "extended_bounds": {"min": 0, "max": 500},
            "hard_bounds": {"min": 50, "max": 200},
        }
    }
    assert [b["key"] for b in _aggs(es, four, {"h": bounded})["h"]["buckets"]] == [
        50.0,
        100.0,
        150.0,
        200.0,
    ]
    desc = {"histogram": {"field": "int_field", "interval": 50, "order": {"_key": "desc"}}}
    assert [b["key"] for b in _aggs(es, four, {"h": desc})["h"]["buckets"]] == [
        150.0,
        100.0,
        50.0,
        0.0,
    ]


def test_date_histogram_order_and_offset(es: Elasticsearch, four: str) -> None:
    """10_histogram.yml's deprecated `_time` order; an offset shifts calendar buckets."""
    timed = {
        "date_histogram": {
            "field": "date",
            "calendar_interval": "month",
            "order": {"_time": "desc"},
        }
    }
    got = _aggs(es, four, {"h": timed})["h"]["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in got] == [
        ("2016-03-01T00:00:00.000Z", 1),
        ("2016-02-01T00:00:00.000Z", 1),
        ("2016-01-01T00:00:00.000Z", 2),
    ]
    shifted = {"date_histogram": {"field": "date", "calendar_interval": "month", "offset": "+1d"}}
    got = _aggs(es, four, {"h": shifted})["h"]["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in got] == [
        ("2015-12-02T00:00:00.000Z", 1),
        ("2016-01-02T00:00:00.000Z", 2),
        ("2016-02-02T00:00:00.000Z", 1),
    ]
    fixed = {
        "date_histogram": {
            "field": "date",
            "fixed_interval": "1d",
            "offset": "6h",
            "format": "yyyy-MM-dd HH",
        }
    }
    got = _aggs(es, four, {"h": fixed})["h"]["buckets"]
    assert got[0]["key_as_string"] == "2015-12-31 06" and got[0]["doc_count"] == 1


def test_ranges_sorted_keyed_and_missing(es: Elasticsearch, four: str) -> None:
    ranges = [{"from": 100}, {"to": 50}, {"from": 50, "to": 100}]
    got = _aggs(es, four, {"r": {"range": {"field": "int_field", "ranges": ranges}}})
    assert [(b["key"], b["doc_count"]) for b in got["r"]["buckets"]] == [
        ("*-50.0", 1),
        ("50.0-100.0", 1),
        ("100.0-*", 2),
    ]
    keyed = {"range": {"field": "int_field", "ranges": ranges, "keyed": True}}
    assert set(_aggs(es, four, {"r": keyed})["r"]["buckets"]) == {"*-50.0", "50.0-100.0", "100.0-*"}
    filled = {
        "range": {"field": "nope", "missing": 75, "ranges": ranges},
        "aggs": {"s": {"sum": {"field": "int_field"}}},
    }
    got = _aggs(es, four, {"r": filled})["r"]["buckets"]
    assert [(b["doc_count"], b["s"]["value"]) for b in got] == [(0, 0.0), (4, 304.0), (0, 0.0)]


def test_ip_range(es: Elasticsearch, four: str) -> None:
    ranges = [
        {"to": "192.168.0.0"},
        {"from": "192.168.0.0", "to": "192.169.0.0"},
        {"mask": "::/24"},
    ]
    got = _aggs(es, four, {"r": {"ip_range": {"field": "ip", "ranges": ranges}}})["r"]["buckets"]
    # Sorted by `from` (an open one first); IPv4 addresses sit at ::ffff:a.b.c.d, in ::/24.
    assert got == [
        {"key": "*-192.168.0.0", "to": "192.168.0.0", "doc_count": 2},
        {"key": "::/24", "from": "::", "to": "0:100::", "doc_count": 4},
        {
            "key": "192.168.0.0-192.169.0.0",
            "from": "192.168.0.0",
            "to": "192.169.0.0",
            "doc_count": 2,
        },
    ]


def test_top_hits(es: Elasticsearch, four: str) -> None:
    aggs = {
        "t": {
            "terms": {"field": "string_field", "size": 1},
            "aggs": {
                "top": {
                    "top_hits": {
                        "size": 1,
                        "sort": [{"int_field": "desc"}],
                        "_source": ["int_field"],
                    }
                }
            },
        }
    }
    bucket = _aggs(es, four, aggs)["t"]["buckets"][0]
    hits = bucket["top"]["hits"]
    assert hits["total"] == {"value": 2, "relation": "eq"}
    assert [(h["_index"], h["_source"], h["sort"]) for h in hits["hits"]] == [
        (four, {"int_field": 51}, [51])
    ]
    typed = es.search(index=four, size=0, aggs=aggs, typed_keys=True)["aggregations"]
    assert "top_hits#top" in typed["sterms#t"]["buckets"][0]
    with pytest.raises(BadRequestError) as err:
        _aggs(es, four, {"top": {"top_hits": {"size": 1}}})
    assert "top_hits sorted by _score" in str(err.value)


def test_percentile_ranks_and_meta(es: Elasticsearch, four: str) -> None:
    aggs = {
        "r": {"percentile_ranks": {"field": "int_field", "values": [151, 0, 76]}},
        "p": {"percentiles": {"field": "int_field", "percents": [50]}, "meta": {"foo": "bar"}},
    }
    got = _aggs(es, four, aggs)
    assert got["r"]["values"] == {"0.0": 0.0, "76.0": 50.0, "151.0": 100.0 - 12.5}
    assert got["p"] == {"values": {"50.0": 76.0}, "meta": {"foo": "bar"}}
    typed = es.search(index=four, size=0, aggs=aggs, typed_keys=True)["aggregations"]
    assert set(typed) == {"tdigest_percentile_ranks#r", "tdigest_percentiles#p"}


def test_max_buckets(es: Elasticsearch, four: str) -> None:
    """240_max_buckets.yml: every bucket of the answer counts, at every level."""
    es.cluster.put_settings(transient={"search.max_buckets": 3})
    try:
        with pytest.raises(BadRequestError) as err:
            _aggs(es, four, {"t": {"terms": {"field": "int_field"}}})
        assert err.value.body["error"]["type"] == "too_many_buckets_exception"
        assert "Must be less than or equal to: [3]" in err.value.body["error"]["reason"]
        assert (
            len(_aggs(es, four, {"t": {"terms": {"field": "string_field"}}})["t"]["buckets"]) == 3
        )
    finally:
        es.cluster.put_settings(transient={"search.max_buckets": None})


@pytest.mark.parametrize(
    ("aggs", "reason"),
    [
        ({"significant_terms": {"field": "string_field"}}, "[significant_terms aggregation"),
        ({"bucket_sort": {"sort": ["a>b"]}}, "[bucket_sort aggregation"),
        ({"percentiles": {"field": "int_field", "script": "x"}}, "[percentiles script"),
        (
            {"date_histogram": {"field": "date", "fixed_interval": "1d", "missing": "2016-01-01"}},
            "[date_histogram missing",
        ),
        ({"terms": {"field": "string_field", "include": "a.*&b"}}, "[terms include"),
        ({"terms": {"field": "string_field", "script": "x"}}, "[terms script"),
    ],
)
def test_refused_by_name(es: Elasticsearch, four: str, aggs: dict[str, Any], reason: str) -> None:
    with pytest.raises(BadRequestError) as err:
        _aggs(es, four, {"a": aggs})
    assert reason in err.value.body["error"]["reason"], err.value.body


def test_pipelines(es: Elasticsearch, four: str) -> None:
    """Sibling pipelines over a terms aggregation, parent ones in a date_histogram."""
    aggs = {
        "t": {"terms": {"field": "string_field"}, "aggs": {"m": {"max": {"field": "int_field"}}}},
        "avg": {"avg_bucket": {"buckets_path": "t>m"}},
        "max": {"max_bucket": {"buckets_path": "t>m"}},
        "min": {"min_bucket": {"buckets_path": "t.m"}},
        "sum": {"sum_bucket": {"buckets_path": "t>_count"}},
        "stats": {"stats_bucket": {"buckets_path": "t>m"}},
    }
    got = _aggs(es, four, aggs)
    assert got["avg"] == {"value": (51 + 101 + 151) / 3}
    assert got["max"] == {"value": 151.0, "keys": ["xyz"]}
    assert got["min"] == {"value": 51.0, "keys": ["abc"]}
    assert got["sum"] == {"value": 4.0}
    assert got["stats"] == {"count": 3, "min": 51.0, "max": 151.0, "avg": 101.0, "sum": 303.0}
    histo = {
        "h": {
            "date_histogram": {"field": "date", "calendar_interval": "month"},
            "aggs": {
                "s": {"sum": {"field": "int_field"}},
                "d": {"derivative": {"buckets_path": "s"}},
                "c": {"cumulative_sum": {"buckets_path": "s.value"}},
            },
        }
    }
    buckets = _aggs(es, four, histo)["h"]["buckets"]
    assert "d" not in buckets[0]
    assert [b["s"]["value"] for b in buckets] == [52.0, 101.0, 151.0]
    assert [b["d"]["value"] for b in buckets[1:]] == [49.0, 50.0]
    assert [b["c"]["value"] for b in buckets] == [52.0, 153.0, 304.0]
    typed = es.search(index=four, size=0, aggs=histo, typed_keys=True)["aggregations"]
    assert "derivative#d" in typed["date_histogram#h"]["buckets"][1]
    assert "simple_value#c" in typed["date_histogram#h"]["buckets"][1]


def test_pipeline_paths_refused_as_es_does(es: Elasticsearch, four: str) -> None:
    """300_pipeline.yml's errors: a path through or ending at a multi-bucket aggregation, a
    multi-value metric without its key, a parent pipeline outside a histogram."""
    nested = {
        "t": {
            "terms": {"field": "string_field"},
            "aggs": {
                "t2": {"terms": {"field": "int_field"}},
                "p": {"percentiles": {"field": "int_field"}},
            },
        }
    }
    for path, reason in (
        ("t>t2", "got: [LongTerms] at aggregation [t2]"),
        ("t>p", "but [p] contains multiple values. Please specify which to use."),
    ):
        with pytest.raises(BadRequestError) as err:
            _aggs(es, four, {**nested, "bad": {"max_bucket": {"buckets_path": path}}})
        assert reason in err.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as err:
        _aggs(
            es,
            four,
            {
                "t": {
                    "terms": {"field": "string_field"},
                    "aggs": {"d": {"derivative": {"buckets_path": "_count"}}},
                }
            },
        )
    assert "must have a histogram, date_histogram or auto_date_histogram as parent" in str(
        err.value
    )


def test_rare_terms(es: Elasticsearch, four: str) -> None:
    """280_rare_terms.yml: the terms held by at most max_doc_count documents, rarest first."""
    got = _aggs(es, four, {"r": {"rare_terms": {"field": "string_field"}}})["r"]
    assert got == {"buckets": [{"key": "bcd", "doc_count": 1}, {"key": "xyz", "doc_count": 1}]}
    aggs = {"r": {"rare_terms": {"field": "string_field", "max_doc_count": 2, "exclude": ["xyz"]}}}
    assert [(b["key"], b["doc_count"]) for b in _aggs(es, four, aggs)["r"]["buckets"]] == [
        ("bcd", 1),
        ("abc", 2),
    ]
    typed = es.search(index=four, size=0, aggs=aggs, typed_keys=True)["aggregations"]
    assert set(typed) == {"srareterms#r"}
    with pytest.raises(BadRequestError):
        _aggs(es, four, {"r": {"rare_terms": {"field": "string_field", "size": 3}}})


def test_percentiles_hdr(es: Elasticsearch, four: str) -> None:
    """190_percentiles_hdr_metric.yml's values: HdrHistogram's buckets, scaled to the
    smallest value's power of two."""
    aggs = {"p": {"percentiles": {"field": "int_field", "hdr": {}, "percents": [25, 50, 75, 99]}}}
    assert _aggs(es, four, aggs)["p"]["values"] == {
        "25.0": 1.0,
        "50.0": 51.0302734375,
        "75.0": 101.0615234375,
        "99.0": 151.1240234375,
    }
    above = es.search(index=four, size=0, aggs=aggs, query={"range": {"int_field": {"gte": 50}}})[
        "aggregations"
    ]["p"]["values"]
    assert above == {"25.0": 51.0, "50.0": 101.03125, "75.0": 101.03125, "99.0": 151.09375}
    ranks = {"percentile_ranks": {"field": "int_field", "hdr": {}, "values": [0, 51, 52, 200]}}
    assert _aggs(es, four, {"r": ranks})["r"]["values"] == {
        "0.0": 0.0,
        "51.0": 50.0,
        "52.0": 50.0,
        "200.0": 100.0,
    }
    with pytest.raises(BadRequestError) as err:
        bad = {"field": "int_field", "hdr": {"number_of_significant_value_digits": 10}}
        _aggs(es, four, {"p": {"percentiles": bad}})
    assert "[numberOfSignificantValueDigits] must be between 0 and 5" in str(err.value)


def test_median_absolute_deviation(es: Elasticsearch, four: str) -> None:
    """270_median_absolute_deviation_metric.yml's rule: 1, 51, 101, 151 have median 76 and
    distances 75, 25, 25, 75, whose median is 50."""
    got = _aggs(es, four, {"m": {"median_absolute_deviation": {"field": "int_field"}}})
    assert got["m"] == {"value": 50.0}
    none = {"median_absolute_deviation": {"field": "nothing_here"}}
    assert _aggs(es, four, {"m": none})["m"] == {"value": None}
    with pytest.raises(BadRequestError) as err:
        bad = {"median_absolute_deviation": {"field": "int_field", "compression": 0}}
        _aggs(es, four, {"m": bad})
    assert "[compression] must be greater than 0. Found [0.0] in [m]" in str(err.value)


def test_weighted_avg(es: Elasticsearch, four: str) -> None:
    aggs = {
        "w": {
            "weighted_avg": {
                "value": {"field": "int_field"},
                "weight": {"field": "double_field"},
            }
        },
        "m": {
            "weighted_avg": {
                "value": {"field": "int_field"},
                "weight": {"field": "nothing_here", "missing": 2},
            }
        },
    }
    got = _aggs(es, four, aggs)
    values = [1, 51, 101, 151]
    assert got["w"]["value"] == pytest.approx(sum(v * v for v in values) / sum(values))
    assert got["m"]["value"] == pytest.approx(sum(values) / 4)


def test_moving_fn_window_checked_then_refused(es: Elasticsearch, four: str) -> None:
    """250_moving_fn.yml: ES's own check of the window comes first."""
    body = {"buckets_path": "a", "script": "MovingFunctions.max(values)"}
    with pytest.raises(BadRequestError) as err:
        _aggs(es, four, {"f": {"moving_fn": {**body, "window": -1}}})
    assert "[window] must be a positive, non-zero integer." in str(err.value)
    with pytest.raises(BadRequestError) as err:
        _aggs(es, four, {"f": {"moving_fn": {**body, "window": 3}}})
    assert "[moving_fn aggregation" in str(err.value)


def test_terms_on_index_and_empty_buckets_as_gaps(es: Elasticsearch, four: str) -> None:
    """`_index` is a term like any other (search/330_distributed_sort.yml); a pipeline skips
    empty buckets (40_range.yml's "IP Range avg_bucket")."""
    load(es, "aggs-four-other", [{"int_field": 7}], mappings=MAPPINGS)
    try:
        got = _aggs(es, "aggs-four*", {"i": {"terms": {"field": "_index"}}})["i"]["buckets"]
        assert [(b["key"], b["doc_count"]) for b in got] == [(four, 4), ("aggs-four-other", 1)]
    finally:
        es.indices.delete(index="aggs-four-other")
    ranges = [{"to": 50}, {"from": 1000}, {"from": 50}]
    aggs = {
        "r": {
            "range": {"field": "int_field", "ranges": ranges},
            "aggs": {"s": {"sum": {"field": "int_field"}}},
        },
        "avg": {"avg_bucket": {"buckets_path": "r>s"}},
    }
    assert _aggs(es, four, aggs)["avg"] == {"value": (1 + 303) / 2}


def test_date_histogram_time_zones(es: Elasticsearch) -> None:
    """Local buckets, keys printed with the zone's offset (10_histogram.yml's pre-epoch test:
    America/Phoenix is -07:00); calendar days follow daylight-saving changes."""
    index = load(
        es,
        "aggs-zones",
        [
            {"date": "2016-01-01T00:00:00Z"},
            {"date": "2016-03-27T00:30:00Z"},
            {"date": "2016-03-27T23:30:00Z"},
            {"date": "2016-07-01T12:00:00Z"},
        ],
        mappings={"properties": {"date": {"type": "date"}}},
    )
    phoenix = {"field": "date", "fixed_interval": "1ms", "time_zone": "America/Phoenix"}
    got = es.search(
        index=index,
        size=0,
        query={"range": {"date": {"lt": "2016-01-02"}}},
        aggs={"h": {"date_histogram": phoenix}},
    )["aggregations"]["h"]["buckets"]
    assert got == [
        {"key_as_string": "2015-12-31T17:00:00.000-07:00", "key": 1451606400000, "doc_count": 1}
    ]
    days = {
        "field": "date",
        "calendar_interval": "day",
        "time_zone": "Europe/Paris",
        "min_doc_count": 1,
    }
    got = _aggs(es, index, {"h": {"date_histogram": days}})["h"]["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in got] == [
        ("2016-01-01T00:00:00.000+01:00", 1),
        ("2016-03-27T00:00:00.000+01:00", 1),
        ("2016-03-28T00:00:00.000+02:00", 1),
        ("2016-07-01T00:00:00.000+02:00", 1),
    ]
    offset = {"field": "date", "fixed_interval": "1d", "time_zone": "+05:30", "min_doc_count": 1}
    got = _aggs(es, index, {"h": {"date_histogram": offset}})["h"]["buckets"]
    assert got[0]["key_as_string"] == "2016-01-01T00:00:00.000+05:30"
    across = {"field": "date", "fixed_interval": "1d", "time_zone": "Europe/Paris"}
    with pytest.raises(BadRequestError) as err:
        _aggs(es, index, {"h": {"date_histogram": across}})
    assert "across a daylight-saving change" in str(err.value)
    with pytest.raises(BadRequestError) as err:
        _aggs(es, index, {"h": {"date_histogram": {**across, "time_zone": "Mars/Olympus"}}})
    assert "Unknown time-zone ID: Mars/Olympus" in str(err.value)


def test_adjacency_matrix(es: Elasticsearch) -> None:
    """70_adjacency_matrix.yml: each filter and each intersection, the empty ones left out."""
    index = load(
        es,
        "aggs-adjacency",
        [{"num": [1, 2]}, {"num": [2, 3]}, {"num": [3, 4]}],
        mappings={"properties": {"num": {"type": "integer"}}},
    )
    filters = {"1": {"term": {"num": 1}}, "2": {"term": {"num": 2}}, "4": {"term": {"num": 4}}}
    aggs = {
        "a": {
            "adjacency_matrix": {"filters": filters},
            "aggs": {"m": {"max": {"field": "num"}}},
        }
    }
    got = _aggs(es, index, aggs)["a"]["buckets"]
    assert [(b["key"], b["doc_count"], b["m"]["value"]) for b in got] == [
        ("1", 1, 2.0),
        ("1&2", 1, 2.0),
        ("2", 2, 3.0),
        ("4", 1, 4.0),
    ]
    typed = es.search(index=index, size=0, aggs=aggs, typed_keys=True)["aggregations"]
    assert "max#m" in typed["adjacency_matrix#a"]["buckets"][0]


def test_terms_order_on_a_multi_value_metric_needs_its_key(es: Elasticsearch, four: str) -> None:
    aggs = {
        "t": {
            "terms": {"field": "string_field", "order": {"s": "desc"}},
            "aggs": {"s": {"stats": {"field": "int_field"}}},
        }
    }
    with pytest.raises(BadRequestError) as err:
        _aggs(es, four, aggs)
    assert "a metric name must be specified" in str(err.value)
    aggs["t"]["terms"]["order"] = {"s.max": "desc"}
    assert [b["key"] for b in _aggs(es, four, aggs)["t"]["buckets"]] == ["xyz", "bcd", "abc"]


def test_auto_date_histogram(es: Elasticsearch) -> None:
    """330_auto_date_histogram.yml's choice of interval; two indices answering at different
    units merge at the coarser one."""
    dates = {"properties": {"date": {"type": "date"}}}
    near = load(
        es,
        "aggs-auto-a",
        [{"date": "2020-03-01T00:00:00Z"}, {"date": "2020-03-01T00:30:00Z"}],
        mappings=dates,
    )
    far = load(es, "aggs-auto-b", [{"date": "2020-03-02"}, {"date": "2020-03-09"}], mappings=dates)
    got = _aggs(es, near, {"h": {"auto_date_histogram": {"field": "date"}}})["h"]
    assert got["interval"] == "5m"
    assert [b["doc_count"] for b in got["buckets"]] == [1, 0, 0, 0, 0, 0, 1]
    both = _aggs(es, "aggs-auto-*", {"h": {"auto_date_histogram": {"field": "date", "buckets": 2}}})
    assert both["h"]["interval"] == "7d"
    assert [(b["key_as_string"], b["doc_count"]) for b in both["h"]["buckets"]] == [
        ("2020-03-01T00:00:00.000Z", 3),
        ("2020-03-08T00:00:00.000Z", 1),
    ]
    with pytest.raises(BadRequestError) as err:
        nested = {
            "terms": {"field": "x"},
            "aggs": {"h": {"auto_date_histogram": {"field": "date"}}},
        }
        _aggs(es, far, {"t": nested})
    assert "auto_date_histogram under another aggregation" in str(err.value)
