"""Unknown URL parameters are refused as Elasticsearch refuses them (BaseRestHandler):
400 illegal_argument_exception naming the parameter, with a suggestion when one is close."""

from __future__ import annotations

import httpx
import pytest
from elasticsearch import BadRequestError, Elasticsearch

from .conftest import PASSWORDS, Server

AUTH = ("elastic", PASSWORDS["elastic"])


def _reason(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "illegal_argument_exception"
    assert error["root_cause"][0]["reason"] == error["reason"]
    return str(error["reason"])


def test_client_parameters_are_recognised(es: Elasticsearch) -> None:
    es.index(index="up-docs", id="1", document={"msg": "hello"}, refresh="wait_for",
             op_type="index", timeout="1m")  # fmt: skip
    es.create(index="up-docs", id="2", document={"msg": "world"}, refresh=True)
    es.update(index="up-docs", id="1", doc={"n": 1}, retry_on_conflict=2, refresh=True)
    assert es.get(index="up-docs", id="1", realtime=True, source_includes="msg")["found"]
    assert es.exists(index="up-docs", id="2")
    assert es.mget(index="up-docs", ids=["1", "2"], realtime=True)["docs"][1]["found"]
    found = es.search(index="up-docs", q="msg:hello", rest_total_hits_as_int=True,
                      typed_keys=True, ignore_unavailable=True, ccs_minimize_roundtrips=True,
                      include_named_queries_score=False, filter_path="hits.total")  # fmt: skip
    assert found.body == {"hits": {"total": 1}}
    assert es.count(index="up-docs", q="msg:world", ignore_unavailable=True)["count"] == 1
    searches = [{"index": "up-docs"}, {"query": {"match_all": {}}}]
    assert es.msearch(searches=searches, typed_keys=True, max_concurrent_searches=1)["responses"]
    bulk = es.bulk(operations=[{"index": {"_index": "up-docs", "_id": "3"}}, {"a": 1}],
                   refresh=True, pipeline="_none", require_alias=False)  # fmt: skip
    assert not bulk["errors"]
    es.delete(index="up-docs", id="3", refresh=True)
    es.indices.refresh(index="up-docs", ignore_unavailable=True)
    assert es.cluster.health(index="up-docs", level="indices", timeout="1s")["status"]
    assert es.cat.health(format="json", h="status")
    assert es.cat.indices(index="up-*", format="json", bytes="b", h="index")
    done = es.delete_by_query(index="up-docs", query={"match_all": {}}, conflicts="proceed",
                              refresh=True)  # fmt: skip
    assert done["deleted"] == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_search"),
        ("POST", "/up-raw/_search"),
        ("GET", "/up-raw/_count"),
        ("POST", "/_msearch"),
        ("POST", "/_bulk"),
        ("PUT", "/up-raw/_doc/1"),
        ("POST", "/up-raw/_doc"),
        ("PUT", "/up-raw/_create/1"),
        ("POST", "/up-raw/_update/1"),
        ("GET", "/up-raw/_doc/1"),
        ("DELETE", "/up-raw/_doc/1"),
        ("GET", "/_mget"),
        ("POST", "/up-raw/_delete_by_query"),
        ("GET", "/_cat/indices"),
        ("GET", "/_cat/health"),
        ("GET", "/_cluster/health"),
        ("POST", "/_refresh"),
    ],
)
def test_unknown_parameter_is_refused(server: Server, method: str, path: str) -> None:
    answer = httpx.request(method, f"{server.url}{path}", params={"bogus": "1"}, auth=AUTH)
    assert _reason(answer) == f"request [{path}] contains unrecognized parameter: [bogus]"


def test_suggestions_and_several_names(server: Server, es: Elasticsearch) -> None:
    url = f"{server.url}/_search"
    one = httpx.get(url, params={"sizee": "1"}, auth=AUTH)
    assert _reason(one) == (
        "request [/_search] contains unrecognized parameter: [sizee] -> did you mean [size]?"
    )
    two = httpx.get(url, params={"zzz": "1", "bogus": "1", "pretty": ""}, auth=AUTH)
    assert _reason(two) == "request [/_search] contains unrecognized parameters: [bogus], [zzz]"
    # the official client sends nothing unknown; an unknown one reaches logstore via params
    with pytest.raises(BadRequestError) as refused:
        es.options(ignore_status=()).perform_request(
            "GET", "/_count", params={"bogus": "x"}, headers={"accept": "application/json"}
        )
    assert "contains unrecognized parameter: [bogus]" in str(refused.value)


def test_format_other_than_json_is_refused_by_name(server: Server) -> None:
    answer = httpx.get(f"{server.url}/_search", params={"format": "yaml"}, auth=AUTH)
    assert "format [yaml]" in _reason(answer)
    ok = httpx.get(f"{server.url}/_search", params={"format": "json", "size": "0"}, auth=AUTH)
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "params", "named"),
    [
        ("GET", "/_search", {"source": '{"size":0}', "source_content_type": "application/json"},
         "`source` parameter"),
        ("GET", "/_search", {"include_named_queries_score": "true"}, "include_named_queries_score"),
        ("POST", "/_bulk", {"require_data_stream": "true"}, "require_data_stream"),
        ("POST", "/up-raw/_delete_by_query", {"terminate_after": "1"}, "terminate_after"),
    ],
)  # fmt: skip
def test_recognised_but_unserved_parameters_are_refused_by_name(
    server: Server, method: str, path: str, params: dict[str, str], named: str
) -> None:
    answer = httpx.request(method, f"{server.url}{path}", params=params, auth=AUTH)
    reason = _reason(answer)
    assert named in reason and "not supported by logstore" in reason
