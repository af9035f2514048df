"""`_msearch` as Grafana's Elasticsearch datasource and the official client send it."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import BadRequestError, Elasticsearch, helpers
from logstore.testing import PASSWORDS, Server

INDEX = "logs-ms-2024.05.01"


@pytest.fixture(scope="module")
def loaded(es: Elasticsearch) -> str:
    docs = (
        {"_index": INDEX, "_id": str(i), "_source": {"service": {"name": "auth"}, "n": i}}
        for i in range(20)
    )
    helpers.bulk(es, docs, refresh="wait_for")
    return INDEX


def _ndjson(*lines: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def _post(
    server: Server, path: str, body: bytes, *, user: str = "elastic", ctype: str = "x-ndjson"
) -> httpx.Response:
    return httpx.post(
        server.url + path,
        content=body,
        auth=(user, PASSWORDS[user]),
        headers={"Content-Type": f"application/{ctype}"},
        timeout=30,
    )


def test_the_official_client_msearch(es: Elasticsearch, loaded: str) -> None:
    res = es.msearch(
        searches=[
            {"index": loaded},
            {"query": {"match_all": {}}, "size": 2},
            {"index": "logs-ms-*"},
            {"size": 0, "aggs": {"n": {"max": {"field": "n"}}}},
        ],
        rest_total_hits_as_int=True,
    )
    first, second = res["responses"]
    assert first["status"] == 200 and first["hits"]["total"] == 20
    assert len(first["hits"]["hits"]) == 2
    assert second["status"] == 200 and second["aggregations"]["n"]["value"] == 19
    assert isinstance(res["took"], int)


def test_one_failing_search_does_not_fail_the_others(server: Server, loaded: str) -> None:
    body = _ndjson(
        {"index": "no-such-index"},
        {"query": {"match_all": {}}},
        {"index": loaded, "ignore_unavailable": True, "search_type": "query_then_fetch"},
        {"size": 0},
        {"index": loaded},
        {"query": {"no_such_query": {}}},
        {},  # empty header: the path's index
        {"size": 0},
    )
    res = _post(server, f"/{loaded}/_msearch", body)
    assert res.status_code == 200, res.text
    missing, ok, bad, default = res.json()["responses"]
    assert missing["status"] == 404 and missing["error"]["type"] == "index_not_found_exception"
    assert ok["status"] == 200 and ok["hits"]["total"] == {"value": 20, "relation": "eq"}
    assert bad["status"] == 400 and "no_such_query" in bad["error"]["reason"]
    assert default["status"] == 200 and default["hits"]["total"]["value"] == 20


def test_grafana_shape_with_application_json(server: Server, loaded: str) -> None:
    """Grafana sends `{"search_type":"query_then_fetch","ignore_unavailable":true,"index":...}`
    headers; ES also takes the NDJSON as application/json."""
    header = {"search_type": "query_then_fetch", "ignore_unavailable": True, "index": "logs-ms-*"}
    body = _ndjson(header, {"size": 0, "query": {"term": {"service.name": "auth"}}})
    res = _post(server, "/_msearch?max_concurrent_searches=5", body, ctype="json")
    assert res.status_code == 200, res.text
    assert res.json()["responses"][0]["hits"]["total"]["value"] == 20
    get = httpx.request(
        "GET",
        server.url + "/_msearch",
        content=body,
        auth=("elastic", PASSWORDS["elastic"]),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert get.status_code == 200 and get.json()["responses"][0]["status"] == 200


def test_typed_keys(server: Server, loaded: str) -> None:
    aggs = {
        "svc": {"terms": {"field": "service.name"}, "aggs": {"top": {"max": {"field": "n"}}}},
        "p": {"percentiles": {"field": "n", "percents": [50]}},
    }
    res = _post(server, "/_msearch?typed_keys=true", _ndjson({"index": loaded}, {"aggs": aggs}))
    got = res.json()["responses"][0]["aggregations"]
    assert set(got) == {"sterms#svc", "tdigest_percentiles#p"}
    assert got["sterms#svc"]["buckets"][0]["max#top"]["value"] == 19
    plain = _post(server, "/_msearch", _ndjson({"index": loaded}, {"aggs": aggs}))
    assert set(plain.json()["responses"][0]["aggregations"]) == {"svc", "p"}


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/_msearch", _ndjson({"index": INDEX, "colour": "red"}, {}), "key [colour] is not"),
        ("/_msearch", b'{"index": "x"}\n{}', "terminated by a newline"),
        ("/_msearch", b"", "no requests added"),
        ("/_msearch", _ndjson({"search_type": "scan"}, {}), "No search type for [scan]"),
        ("/_msearch", _ndjson({"expand_wildcards": "hidden"}, {}), "expand_wildcards [hidden]"),
        ("/_msearch?max_concurrent_searches=0", _ndjson({}, {}), "must be positive"),
        ("/_msearch?scroll=1m", _ndjson({}, {}), "unrecognized parameter: [scroll]"),
        ("/_msearch", b"{nope\n{}\n", "line 1"),
    ],
)
def test_malformed_requests_answer_a_400(
    server: Server, path: str, body: bytes, reason: str
) -> None:
    res = _post(server, path, body)
    assert res.status_code == 400, res.text
    assert reason in res.json()["error"]["reason"]


def test_the_client_raises_on_an_unknown_header_key(es: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as err:
        es.msearch(searches=[{"index": INDEX, "type": "_doc"}, {}])
    assert "key [type] is not supported in the metadata section" in str(err.value)


def test_read_privilege_per_search(server: Server, loaded: str, es: Elasticsearch) -> None:
    es.index(index="private-ms", document={"secret": 1}, refresh=True)
    body = _ndjson({"index": "private-ms"}, {}, {"index": loaded}, {"size": 0})
    res = _post(server, "/_msearch", body, user="logs_reader")
    assert res.status_code == 200, res.text
    denied, allowed = res.json()["responses"]
    assert denied["status"] == 403 and denied["error"]["type"] == "security_exception"
    assert allowed["status"] == 200 and allowed["hits"]["total"]["value"] == 20
    wildcard = _post(server, "/_msearch", _ndjson({"index": "*"}, {"size": 0}), user="logs_reader")
    assert wildcard.json()["responses"][0]["hits"]["total"]["value"] >= 20  # logs-* only
    anonymous = httpx.post(server.url + "/_msearch", content=body)
    assert anonymous.status_code == 401
