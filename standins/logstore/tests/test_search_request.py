"""The search request's options with the official client: sort on dynamic fields, more query
types, `_source` and `fields`, hit totals, response filtering, and what is refused by name."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch

INDEX = "search-request"


@pytest.fixture(scope="module")
def loaded(es: Elasticsearch) -> str:
    es.options(ignore_status=404).indices.delete(index=INDEX)
    es.indices.create(
        index=INDEX,
        settings={"index.max_terms_count": 3},
        mappings={
            "properties": {
                "when": {"type": "date"},
                "user": {"type": "keyword"},
                "friends": {"type": "keyword"},
            }
        },
    )
    docs: list[dict[str, Any]] = [
        {
            "size": 3,
            "name": "beta two",
            "when": "2024-01-03T00:00:00Z",
            "user": "u1",
            "friends": ["u2", "u3"],
            "info": {"a": 1, "b": 2},
        },
        {
            "size": 1,
            "name": "alpha one",
            "when": "2024-01-01T00:00:00Z",
            "user": "u2",
            "friends": ["u1"],
        },
        {"size": 2.5, "name": "gamma three", "when": "2024-01-02T00:00:00Z", "user": "u3"},
        {"name": "delta", "user": "u4"},
    ]
    ops: list[dict[str, Any]] = []
    for n, doc in enumerate(docs, 1):
        ops += [{"index": {"_index": INDEX, "_id": str(n)}}, doc]
    es.bulk(operations=ops, refresh=True)
    return INDEX


def ids(res: Any) -> list[str]:
    return [h["_id"] for h in res["hits"]["hits"]]


def test_sort_on_dynamic_fields(es: Elasticsearch, loaded: str) -> None:
    res = es.search(index=loaded, sort=[{"size": "desc"}])
    assert ids(res) == ["1", "3", "2", "4"]
    assert [h["sort"] for h in res["hits"]["hits"]][:3] == [[3], [2.5], [1]]
    assert ids(es.search(index=loaded, sort=["name.keyword"])) == ["2", "1", "4", "3"]
    first = es.search(index=loaded, sort=[{"size": {"order": "asc", "missing": "_first"}}])
    assert ids(first) == ["4", "2", "3", "1"]
    with pytest.raises(BadRequestError, match="Text fields are not optimised"):
        es.search(index=loaded, sort=["name"])
    with pytest.raises(BadRequestError, match=r"No mapping found for \[nope\]"):
        es.search(index=loaded, sort=["nope"])
    res = es.search(index=loaded, sort=[{"nope": {"unmapped_type": "long"}}, "user"])
    assert ids(res) == ["1", "2", "3", "4"]
    with pytest.raises(BadRequestError, match="Fielddata access on the _id field"):
        es.search(index=loaded, sort=["_id"])


def test_sort_with_search_after(es: Elasticsearch, loaded: str) -> None:
    page = es.search(index=loaded, size=2, sort=[{"when": "desc"}, "user"])
    assert ids(page) == ["1", "3"]
    rest = es.search(
        index=loaded,
        size=2,
        sort=[{"when": "desc"}, "user"],
        search_after=page["hits"]["hits"][-1]["sort"],
    )
    assert ids(rest) == ["2", "4"]


def test_kibana_discover_sort(es: Elasticsearch, loaded: str) -> None:
    sort = [
        {
            "when": {
                "order": "desc",
                "format": "strict_date_optional_time",
                "unmapped_type": "boolean",
            }
        },
        {"_doc": {"order": "desc", "unmapped_type": "boolean"}},
    ]
    page = es.search(index=loaded, size=1, sort=sort, query={"exists": {"field": "when"}})
    assert page["hits"]["hits"][0]["sort"][0] == "2024-01-03T00:00:00.000Z"
    rest = es.search(
        index=loaded,
        size=5,
        sort=sort,
        query={"exists": {"field": "when"}},
        search_after=page["hits"]["hits"][0]["sort"],
    )
    assert ids(rest) == ["3", "2"]
    nanos = es.search(index=loaded, size=1, sort=[{"when": {"numeric_type": "date_nanos"}}])
    assert nanos["hits"]["hits"][0]["sort"] == [1704067200000 * 1_000_000]


def test_compound_queries(es: Elasticsearch, loaded: str) -> None:
    res = es.search(
        index=loaded, query={"constant_score": {"filter": {"term": {"user": "u1"}}, "boost": 2.5}}
    )
    assert ids(res) == ["1"] and res["hits"]["hits"][0]["_score"] == 2.5
    res = es.search(
        index=loaded,
        query={"dis_max": {"queries": [{"term": {"user": "u1"}}, {"match": {"name": "gamma"}}]}},
    )
    assert sorted(ids(res)) == ["1", "3"]
    res = es.search(
        index=loaded,
        query={
            "boosting": {
                "positive": {"exists": {"field": "name"}},
                "negative": {"term": {"user": "u1"}},
                "negative_boost": 0.1,
            }
        },
    )
    assert ids(res)[-1] == "1"
    assert ids(es.search(index=loaded, query={"match_phrase_prefix": {"name": "gamma th"}})) == [
        "3"
    ]
    assert ids(es.search(index=loaded, query={"fuzzy": {"user": {"value": "u9", "fuzziness": 1}}}))
    res = es.search(
        index=loaded,
        query={"multi_match": {"query": "alpha", "fields": ["name"], "type": "most_fields"}},
    )
    assert ids(res) == ["2"]


def test_simple_query_string(es: Elasticsearch, loaded: str) -> None:
    def found(query: str, **options: Any) -> list[str]:
        body = {"simple_query_string": {"query": query, "fields": ["name"], **options}}
        return sorted(ids(es.search(index=loaded, query=body)))

    assert found("alpha | gamma") == ["2", "3"]
    assert found("alpha gamma", default_operator="and") == []
    assert found("gam* -three") == ["1", "2", "3", "4"]  # OR: everything but "three" too
    assert found("gam* -three", default_operator="and") == []
    assert found('"beta two"') == ["1"]
    assert found("alpah~1") == ["2"]
    assert found("alpha beta gamma", minimum_should_match=2) == []
    assert found("(alpha | beta) + two") == ["1"]


def test_match_options(es: Elasticsearch, loaded: str) -> None:
    def found(**spec: Any) -> list[str]:
        return sorted(ids(es.search(index=loaded, query={"match": {"name": spec}})))

    assert found(query="alpha beta gamma", minimum_should_match=2) == []
    assert found(query="alpha one two", minimum_should_match="67%") == ["2"]
    assert found(query="alpah", fuzziness="AUTO") == ["2"]
    assert found(query="alpha one", operator="and") == ["2"]
    assert found(query="", zero_terms_query="all") == ["1", "2", "3", "4"]
    with pytest.raises(BadRequestError, match=r"does not support \[cutoff_frequency\]"):
        found(query="alpha", cutoff_frequency=0.1)


def test_case_insensitive(es: Elasticsearch, loaded: str) -> None:
    for kind, value in (("term", "U1"), ("prefix", "U"), ("wildcard", "U*"), ("regexp", "U[12]")):
        spec = {"user": {"value": value, "case_insensitive": True}}
        assert ids(es.search(index=loaded, query={kind: spec})), kind
        assert not ids(es.search(index=loaded, query={kind: {"user": {"value": value}}})), kind


def test_terms_limit_and_lookup(es: Elasticsearch, loaded: str) -> None:
    with pytest.raises(BadRequestError, match=r"The number of terms \[4\] used in the Terms"):
        es.search(index=loaded, query={"terms": {"user": ["u1", "u2", "u3", "u4"]}})
    res = es.search(
        index=loaded, query={"terms": {"user": {"index": loaded, "id": "1", "path": "friends"}}}
    )
    assert sorted(ids(res)) == ["2", "3"]


def test_source_and_fields(es: Elasticsearch, loaded: str) -> None:
    res = es.search(
        index=loaded, query={"ids": {"values": ["1"]}}, source_includes=["info.a"], source=["name"]
    )
    assert res["hits"]["hits"][0]["_source"] == {"info": {"a": 1}}  # the parameters win
    res = es.search(
        index=loaded,
        query={"ids": {"values": ["1"]}},
        source=False,
        fields=[{"field": "when", "format": "yyyy/MM/dd"}, "user"],
        docvalue_fields=[{"field": "size", "format": "#.00"}],
        version=True,
        seq_no_primary_term=True,
    )
    hit = res["hits"]["hits"][0]
    assert "_source" not in hit
    assert hit["fields"] == {"when": ["2024/01/03"], "user": ["u1"], "size": ["3.00"]}
    assert hit["_version"] == 1 and hit["_primary_term"] == 1 and "_seq_no" in hit
    bare = es.search(index=loaded, stored_fields="_none_", size=1)["hits"]["hits"][0]
    assert "_id" not in bare and "_source" not in bare


def test_totals(es: Elasticsearch, loaded: str) -> None:
    assert es.search(index=loaded, track_total_hits=2)["hits"]["total"] == {
        "value": 2,
        "relation": "gte",
    }
    assert (
        es.search(index=loaded, track_total_hits=False, rest_total_hits_as_int=True)["hits"][
            "total"
        ]
        == -1
    )
    assert es.search(index=loaded, rest_total_hits_as_int=True)["hits"]["total"] == 4
    with pytest.raises(BadRequestError, match=r"rest_total_hits_as_int.*got 100"):
        es.search(index=loaded, track_total_hits=100, rest_total_hits_as_int=True)


def test_kibana_discover_body(es: Elasticsearch, loaded: str) -> None:
    res = es.search(
        index=loaded,
        size=1,
        sort=[{"when": {"order": "desc", "unmapped_type": "boolean"}}],
        fields=[{"field": "*", "include_unmapped": "true"}],
        source=False,
        stored_fields=["*"],
        script_fields={},
        runtime_mappings={},
        track_total_hits=False,
    )
    hit = res["hits"]["hits"][0]
    assert "total" not in res["hits"] and "_source" not in hit
    assert hit["fields"]["user"] == ["u1"] and hit["fields"]["info.a"] == [1]


def test_highlight(es: Elasticsearch, loaded: str) -> None:
    kibana = {
        "pre_tags": ["@kibana-highlighted-field@"],
        "post_tags": ["@/kibana-highlighted-field@"],
        "fields": {"*": {}},
        "fragment_size": 2147483647,
    }
    res = es.search(index=loaded, query={"query_string": {"query": "gamma"}}, highlight=kibana)
    assert res["hits"]["hits"][0]["highlight"] == {
        "name": ["@kibana-highlighted-field@gamma@/kibana-highlighted-field@ three"]
    }
    res = es.search(
        index=loaded,
        query={"bool": {"must": [{"match": {"name": "beta"}}, {"term": {"user": "u1"}}]}},
        highlight={"fields": {"name": {}, "user": {}}},
    )
    assert res["hits"]["hits"][0]["highlight"] == {
        "name": ["<em>beta</em> two"],
        "user": ["<em>u1</em>"],
    }
    only = es.search(
        index=loaded, query={"match": {"name": "beta"}}, highlight={"fields": {"user": {}}}
    )
    assert "highlight" not in only["hits"]["hits"][0]  # require_field_match
    with pytest.raises(BadRequestError, match=r"\[highlight highlight_query\]"):
        es.search(index=loaded, highlight={"fields": {"name": {"highlight_query": {}}}})
    with pytest.raises(BadRequestError, match=r"highlight type fvh \(field \[name\]\)"):
        es.search(index=loaded, highlight={"fields": {"name": {"type": "fvh"}}})


def test_filter_path(es: Elasticsearch, loaded: str) -> None:
    res = es.search(index=loaded, filter_path=["hits.hits._id", "-hits.total"])
    assert set(res.body) == {"hits"} and set(res["hits"]) == {"hits"}
    assert all(set(h) == {"_id"} for h in res["hits"]["hits"])


def test_pre_filter_skips_indices(es: Elasticsearch) -> None:
    for year in (2016, 2017, 2018):
        name = f"prefilter-{year}"
        es.options(ignore_status=404).indices.delete(index=name)
        es.indices.create(index=name, mappings={"properties": {"at": {"type": "date"}}})
        es.index(index=name, document={"at": f"{year}-01-01"}, refresh=True)
    query = {"range": {"at": {"gte": "2016-02-01", "lt": "2018-02-01"}}}
    res = es.search(index="prefilter-*", query=query, pre_filter_shard_size=1)
    assert res["_shards"] == {"total": 3, "successful": 3, "skipped": 1, "failed": 0}
    assert res["hits"]["total"]["value"] == 2
    assert es.search(index="prefilter-*", query=query)["_shards"]["skipped"] == 0
    none = {"range": {"at": {"gte": "2030-01-01"}}}
    assert (
        es.search(index="prefilter-*", query=none, pre_filter_shard_size=1)["_shards"]["skipped"]
        == 2
    )


def test_query_string_parameters(es: Elasticsearch, loaded: str) -> None:
    assert ids(es.search(index=loaded, q="gamma", df="name")) == ["3"]
    assert es.count(index=loaded, q="name:alpha name:beta", default_operator="AND")["count"] == 0
    assert es.count(index=loaded, q="when:nope", lenient=True)["count"] == 0


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"query": {"intervals": {"name": {}}}}, "[intervals] query"),
        ({"collapse": {"field": "user"}}, "[collapse]"),
        ({"highlight": {"fields": {"*": {}}, "type": "fvh"}}, "[highlight type fvh]"),
        ({"search_type": "query_and_fetch"}, "Unsupported search type"),
        ({"explain": True}, "[explain]"),
        ({"query": {"combined_fields": {"query": "a"}}}, "[combined_fields] query"),
    ],
)
def test_refused_by_name(
    es: Elasticsearch, loaded: str, kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(BadRequestError) as err:
        es.search(index=loaded, **kwargs)
    assert named in str(err.value.body)


def test_scroll_checks(es: Elasticsearch, loaded: str) -> None:
    with pytest.raises(BadRequestError, match=r"\[size\] cannot be \[0\] in a scroll context"):
        es.search(index=loaded, scroll="1m", size=0)
    res = es.search(index=loaded, scroll="1m", size=2, sort=["size"], source_includes=["user"])
    assert ids(res) == ["2", "3"]
    more = es.scroll(scroll_id=res["_scroll_id"], scroll="1m")
    assert ids(more) == ["1", "4"]
    assert more["hits"]["hits"][0]["_source"] == {"user": "u1"}  # as the first page's
    es.clear_scroll(scroll_id=res["_scroll_id"])


@pytest.mark.parametrize("field", ["k", "n", "dyn"])
def test_scroll_through_ties(es: Elasticsearch, field: str) -> None:
    name = "scroll-ties"
    es.options(ignore_status=404).indices.delete(index=name)
    es.indices.create(
        index=name, mappings={"properties": {"k": {"type": "keyword"}, "n": {"type": "long"}}}
    )
    ops: list[dict[str, Any]] = []
    for i in range(9):
        ops += [
            {"index": {"_index": name, "_id": str(i)}},
            {"k": f"v{i % 2}", "n": i % 2, "dyn": i % 2},
        ]
    es.bulk(operations=ops, refresh=True)
    res = es.search(index=name, scroll="1m", size=2, sort=[field])
    seen = ids(res)
    while True:
        res = es.scroll(scroll_id=res["_scroll_id"], scroll="1m")
        if not res["hits"]["hits"]:
            break
        assert all(len(h["sort"]) == 1 for h in res["hits"]["hits"])
        seen += ids(res)
    assert sorted(seen) == [str(i) for i in range(9)]
    assert [int(i) % 2 for i in seen] == sorted(int(i) % 2 for i in seen)
    es.clear_scroll(scroll_id=res["_scroll_id"])


def test_sort_on_several_values(es: Elasticsearch) -> None:
    """ES sorts a field with several values by its min (asc) or max (desc), or `mode`."""
    name = "sort-multi"
    es.options(ignore_status=404).indices.delete(index=name)
    es.indices.create(
        index=name, mappings={"properties": {"k": {"type": "keyword"}, "n": {"type": "long"}}}
    )
    es.index(index=name, id="1", document={"k": ["m", "a", "z"], "n": [5, 1, 9]})
    es.index(index=name, id="2", document={"k": "p", "n": 6}, refresh=True)
    for field in ("k", "n"):
        assert ids(es.search(index=name, sort=[{field: "desc"}])) == ["1", "2"]
        assert ids(es.search(index=name, sort=[{field: "asc"}])) == ["1", "2"]
        assert ids(es.search(index=name, sort=[{field: {"order": "asc", "mode": "max"}}])) == [
            "2",
            "1",
        ]
    assert es.search(index=name, sort=[{"n": "desc"}])["hits"]["hits"][0]["sort"] == [9]


def test_a_query_analyzer_other_than_the_default_is_refused(es: Elasticsearch, loaded: str) -> None:
    for query in (
        {"match": {"name": {"query": "beta", "analyzer": "simple"}}},
        {"query_string": {"query": "beta", "analyzer": "whitespace"}},
        {"simple_query_string": {"query": "beta", "analyzer": "keyword"}},
    ):
        with pytest.raises(BadRequestError, match="analyses the query text"):
            es.search(index=loaded, query=query)
    standard = {"match": {"name": {"query": "beta", "analyzer": "standard"}}}
    assert es.search(index=loaded, query=standard)["hits"]["total"]["value"] >= 1
