"""Mappings as Elasticsearch gives them back and the field types and parameters logstore
honours or refuses by name (schema.py, mapping_params.py, dynamic_mapping.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch, helpers


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _mapping(es: Elasticsearch, index: str) -> dict[str, Any]:
    body: dict[str, Any] = es.indices.get_mapping(index=index)[index]["mappings"]
    return body


def _hits(es: Elasticsearch, index: str, query: dict[str, Any]) -> list[str]:
    found = es.search(index=index, query=query, size=100)
    return sorted(h["_id"] for h in found["hits"]["hits"])


def test_an_index_without_mappings_has_an_empty_mapping(es: Elasticsearch) -> None:
    index = _name("map-empty")
    es.indices.create(index=index)
    assert _mapping(es, index) == {}


def test_dynamic_mapping_reports_what_documents_introduced(es: Elasticsearch) -> None:
    index = _name("map-dyn")
    doc = {
        "@timestamp": "2024-05-01T10:00:00Z",
        "name": "alice",
        "count": 3,
        "ratio": 0.5,
        "ok": True,
        "when": "2024-05-01",
        "user": {"id": "u1", "geo": {"city": "Paris"}},
        "a.b": 1,
        "nothing": None,
    }
    es.index(index=index, id="1", document=doc, refresh=True)
    mapping = _mapping(es, index)
    props = mapping["properties"]
    text_and_keyword = {
        "type": "text",
        "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
    }
    assert props["name"] == text_and_keyword
    assert props["count"] == {"type": "long"}
    assert props["ratio"] == {"type": "float"}
    assert props["ok"] == {"type": "boolean"}
    assert props["when"] == {"type": "date"}
    assert props["@timestamp"] == {"type": "date"}
    assert props["user"]["properties"]["id"] == {"type": "keyword"}  # logstore's typed field
    assert props["user"]["properties"]["geo"]["properties"]["city"] == text_and_keyword
    assert props["a"]["properties"]["b"] == {"type": "long"}
    assert "nothing" not in props and "dynamic" not in mapping
    # Still found as before: a dynamic field is searched in logstore's dynamic field.
    assert _hits(es, index, {"match": {"user.geo.city": "paris"}}) == ["1"]


def test_explicit_parameters_are_given_back_and_merged(es: Elasticsearch) -> None:
    index = _name("map-params")
    es.indices.create(
        index=index,
        mappings={
            "dynamic": "strict",
            "_meta": {"owner": "ops"},
            "properties": {
                "title": {"type": "text", "analyzer": "whitespace", "meta": {"unit": "none"}},
                "tag": {"type": "keyword", "ignore_above": 8, "doc_values": False},
                "when": {"type": "date", "format": "yyyy-MM-dd HH:mm:ss"},
                "blob": {"type": "object", "enabled": "false"},
                "dotted.name": {"type": "keyword"},
            },
        },
    )
    es.indices.put_mapping(
        index=index,
        properties={"title": {"type": "text", "analyzer": "whitespace", "meta": {"u": "x"}}},
    )
    mapping = _mapping(es, index)
    assert mapping["dynamic"] == "strict" and mapping["_meta"] == {"owner": "ops"}
    props = mapping["properties"]
    assert props["title"] == {"type": "text", "analyzer": "whitespace", "meta": {"u": "x"}}
    assert props["tag"] == {"type": "keyword", "ignore_above": 8, "doc_values": False}
    assert props["when"] == {"type": "date", "format": "yyyy-MM-dd HH:mm:ss"}
    assert props["blob"] == {"type": "object", "enabled": False}
    assert props["dotted"] == {"properties": {"name": {"type": "keyword"}}}


def test_mapping_errors_are_elasticsearchs(es: Elasticsearch) -> None:
    def refused(mappings: dict[str, Any]) -> dict[str, Any]:
        with pytest.raises(ApiError) as caught:
            es.indices.create(index=_name("map-bad"), mappings=mappings)
        assert caught.value.meta.status == 400
        error: dict[str, Any] = caught.value.body["error"]
        return error

    err = refused({"properties": {"f": {"type": "keyword", "foo": 1}}})
    assert err["type"] == "mapper_parsing_exception"
    assert (
        err["root_cause"][0]["reason"] == "unknown parameter [foo] on mapper [f] of type [keyword]"
    )
    err = refused({"properties": {"": {"type": "keyword"}}})
    assert err["caused_by"]["type"] == "illegal_argument_exception"
    err = refused({"_doc": {"properties": {"f": {"type": "keyword"}}}})
    assert err["type"] == "illegal_argument_exception" and "[_doc]" in err["reason"]
    for spec, named in (
        ({"type": "nested"}, "field type [nested]"),
        ({"type": "integer_range"}, "field type [integer_range]"),
        ({"type": "text", "analyzer": "english"}, "analyzer [english]"),
        ({"type": "keyword", "copy_to": "x"}, "mapping parameter [copy_to]"),
        ({"type": "date", "format": "MMM dd"}, "date format letter"),
    ):
        err = refused({"properties": {"f": spec}})
        assert named in err["reason"] and "not supported by logstore" in err["reason"], err
    index = _name("map-change")
    es.indices.create(index=index, mappings={"properties": {"f": {"type": "keyword"}}})
    with pytest.raises(BadRequestError) as caught:
        es.indices.put_mapping(index=index, properties={"f": {"type": "long"}})
    assert "cannot be changed from type [keyword] to [long]" in str(caught.value)


def test_strict_and_false_dynamic(es: Elasticsearch) -> None:
    strict, loose = _name("map-strict"), _name("map-false")
    es.indices.create(
        index=strict, mappings={"dynamic": "strict", "properties": {"a": {"type": "keyword"}}}
    )
    es.indices.create(
        index=loose, mappings={"dynamic": False, "properties": {"a": {"type": "keyword"}}}
    )
    with pytest.raises(BadRequestError) as caught:
        es.index(index=strict, document={"a": "x", "b": "y"})
    assert caught.value.body["error"]["type"] == "strict_dynamic_mapping_exception"
    es.index(index=loose, id="1", document={"a": "x", "b": "hidden"}, refresh=True)
    assert es.get(index=loose, id="1")["_source"]["b"] == "hidden"  # kept in _source
    assert _hits(es, loose, {"match": {"b": "hidden"}}) == []  # not indexed, as in ES
    assert _hits(es, loose, {"term": {"a": "x"}}) == ["1"]
    assert "b" not in _mapping(es, loose)["properties"]


def test_binary_geo_point_and_disabled_objects(es: Elasticsearch) -> None:
    index = _name("map-types")
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "bin": {"type": "binary"},
                "loc": {"type": "geo_point"},
                "raw": {"type": "object", "enabled": False},
            }
        },
    )
    docs = [
        {"_id": "1", "bin": "YWJj", "loc": [2.35, 48.85], "raw": {"x": "secret"}},
        {"_id": "2", "loc": "48.85,2.35"},
        {"_id": "3", "loc": {"lat": 1, "lon": 2}},
    ]
    helpers.bulk(es, ({"_index": index, **d} for d in docs), refresh=True)
    assert _hits(es, index, {"exists": {"field": "bin"}}) == ["1"]
    assert _hits(es, index, {"exists": {"field": "loc"}}) == ["1", "2", "3"]
    assert _hits(es, index, {"exists": {"field": "raw"}}) == []
    assert _hits(es, index, {"match": {"raw.x": "secret"}}) == []
    with pytest.raises(BadRequestError):
        es.index(index=index, document={"bin": "not base64!"})
    with pytest.raises(BadRequestError) as caught:
        es.search(index=index, query={"term": {"loc": "1,2"}})
    assert "geo_point" in str(caught.value)
    with pytest.raises(BadRequestError) as caught:
        es.search(index=index, query={"geo_distance": {"distance": "1km", "loc": [0, 0]}})
    with pytest.raises(BadRequestError) as caught:
        es.search(index=index, size=0, aggs={"t": {"terms": {"field": "loc"}}})
    assert "not supported for aggregation [terms]" in str(caught.value)


def test_ignore_malformed_fills_ignored(es: Elasticsearch) -> None:
    index = _name("map-malformed")
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "n": {"type": "integer", "ignore_malformed": True},
                "ip": {"type": "ip", "ignore_malformed": True},
                "strict_n": {"type": "integer"},
            }
        },
    )
    es.index(index=index, id="1", document={"n": "abc", "ip": "10.0.0.1"})
    es.index(index=index, id="2", document={"n": 5, "ip": ":::1"})
    es.index(index=index, id="3", document={"n": 7})
    with pytest.raises(BadRequestError):
        es.index(index=index, document={"strict_n": "abc"})
    with pytest.raises(BadRequestError):
        es.index(index=index, document={"strict_n": 2**40})  # out of an integer's range
    es.indices.refresh(index=index)
    assert _hits(es, index, {"exists": {"field": "_ignored"}}) == ["1", "2"]
    assert _hits(es, index, {"term": {"_ignored": "ip"}}) == ["2"]
    assert _hits(es, index, {"range": {"n": {"gte": 5}}}) == ["2", "3"]
    hit = es.search(index=index, query={"ids": {"values": ["1"]}})["hits"]["hits"][0]
    assert hit["_ignored"] == ["n"] and hit["_source"]["n"] == "abc"


def test_date_nanos_sort_values_and_search_after(es: Elasticsearch) -> None:
    index = _name("map-nanos")
    es.indices.create(index=index, mappings={"properties": {"t": {"type": "date_nanos"}}})
    docs = [
        {"_id": "a", "t": "2018-10-29T12:12:12.123456789Z"},
        {"_id": "b", "t": "2018-10-29T12:12:12.123456790Z"},
        {"_id": "c", "t": "2018-10-29T12:12:13Z"},
    ]
    helpers.bulk(es, ({"_index": index, **d} for d in docs), refresh=True)
    hits = es.search(index=index, sort=[{"t": "asc"}])["hits"]["hits"]
    assert [h["sort"][0] for h in hits] == [
        1540815132123456789,
        1540815132123456790,
        1540815133000000000,
    ]
    after = es.search(index=index, sort=[{"t": "asc"}], search_after=[1540815132123456789])
    assert [h["_id"] for h in after["hits"]["hits"]] == ["b", "c"]
    # Queries and aggregations see milliseconds, as for any date.
    ranged = {"range": {"t": {"gte": "2018-10-29T12:12:12.123Z", "lt": "2018-10-29T12:12:13Z"}}}
    assert _hits(es, index, ranged) == ["a", "b"]
    result = helpers.bulk(
        es,
        [{"_index": index, "t": "1969-12-31T23:59:59Z"}],
        raise_on_error=False,
    )
    assert "before the epoch" in str(result[1])


def test_custom_date_format_and_null_value(es: Elasticsearch) -> None:
    index = _name("map-format")
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "d": {"type": "date", "format": "yyyy/MM/dd HH:mm||epoch_second"},
                "k": {"type": "keyword", "null_value": "NULL"},
                "s": {"type": "scaled_float", "scaling_factor": 10},
            }
        },
    )
    es.index(index=index, id="1", document={"d": "2024/05/01 10:30", "k": None, "s": 1.26})
    es.index(index=index, id="2", document={"d": 1714559400, "k": "x", "s": 1.24})
    with pytest.raises(BadRequestError):
        es.index(index=index, document={"d": "2024-05-01T10:30:00Z"})  # not the field's format
    es.indices.refresh(index=index)
    assert _hits(es, index, {"term": {"d": 1714559400000}}) == ["1", "2"]
    assert _hits(es, index, {"range": {"d": {"gte": "2024/05/01 10:30"}}}) == ["1", "2"]
    assert _hits(es, index, {"term": {"k": "NULL"}}) == ["1"]
    assert _hits(es, index, {"term": {"s": 1.3}}) == ["1"]  # stored as round(1.26 * 10) / 10


def test_whitespace_and_keyword_analyzers(es: Elasticsearch) -> None:
    index = _name("map-analyzers")
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "ws": {"type": "text", "analyzer": "whitespace"},
                "kw": {"type": "text", "analyzer": "keyword"},
            }
        },
    )
    es.index(index=index, id="1", document={"ws": "Foo-Bar baz", "kw": "Hello World"}, refresh=True)
    assert _hits(es, index, {"match": {"ws": "Foo-Bar"}}) == ["1"]
    assert _hits(es, index, {"match": {"ws": "foo"}}) == []  # case kept, no split on `-`
    assert _hits(es, index, {"match": {"kw": "Hello World"}}) == ["1"]
    assert _hits(es, index, {"match": {"kw": "hello"}}) == []


def test_index_level_ignore_malformed(es: Elasticsearch) -> None:
    index = _name("map-malformed-index")
    es.indices.create(
        index=index,
        settings={"index.mapping.ignore_malformed": True},
        mappings={"properties": {"n": {"type": "long"}, "m": {"type": "long"}}},
    )
    es.index(index=index, id="1", document={"n": "abc", "m": 1}, refresh=True)
    assert _hits(es, index, {"term": {"_ignored": "n"}}) == ["1"]
    assert _hits(es, index, {"term": {"m": 1}}) == ["1"]
