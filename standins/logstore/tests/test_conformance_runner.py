"""The rest-api-spec YAML runner's own logic (standins/logstore/conformance): its matching,
stash, skips and request building, on a fake server (httpx.MockTransport): no logstore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from standins.logstore.conformance.checks import check_length, check_match, values_equal
from standins.logstore.conformance.runner import API_DIR, run_files
from standins.logstore.conformance.spec import ParamError, build_request, load_specs
from standins.logstore.conformance.stash import Stash, lookup, split_path
from standins.logstore.conformance.suite import (
    YamlFile,
    YamlTest,
    parse_file,
    version_in_ranges,
    why_skipped,
)

SPECS = load_specs(API_DIR)


def test_match_regex_is_verbose_and_searches() -> None:
    check_match("epoch 1234 green\n", "/  \\d+ \\s+ green  # status\n/", "$body")
    with pytest.raises(AssertionError, match="does not match"):
        check_match("red", "/^green$/", "status")
    with pytest.raises(AssertionError, match="expected a string"):
        check_match(3, "/3/", "count")


def test_match_compares_numbers_by_value_and_booleans_by_type() -> None:
    assert values_equal(1, 1.0)
    assert values_equal({"a": [1, {"b": 2.0}]}, {"a": [1.0, {"b": 2}]})
    assert not values_equal(True, 1)
    assert not values_equal({"a": 1}, {"a": 1, "b": 2})
    check_match(None, None, "missing")
    with pytest.raises(AssertionError, match=r"expected 2, got 3"):
        check_match(3, 2, "count")


def test_length_of_lists_objects_and_strings() -> None:
    check_length([1, 2], 2, "hits")
    check_length({"a": 1}, 1, "aggs")
    with pytest.raises(AssertionError, match="expected 3, got 2"):
        check_length("ab", 3, "s")


def test_paths_with_escaped_dots_list_indices_and_stash() -> None:
    assert split_path("settings.index\\.number_of_shards.0") == [
        "settings",
        "index.number_of_shards",
        "0",
    ]
    body = {"nodes": {"n1": {"ip": "1.2.3.4"}}, "hits": [{"_id": "a"}], "x.y": 5}
    stash = Stash()
    stash.set("node", "n1")
    assert lookup(body, "nodes.$node.ip", stash) == "1.2.3.4"
    assert lookup(body, "hits.0._id", stash) == "a"
    assert lookup(body, "x\\.y", stash) == 5
    assert lookup(body, "nodes._arbitrary_key_", stash) == "n1"
    assert lookup(body, "$body", stash) is body
    with pytest.raises(AssertionError, match="out of bounds"):
        lookup(body, "hits.3", stash)


def test_stash_resolves_whole_and_embedded_references() -> None:
    stash = Stash()
    stash.set("id", "abc")
    stash.set("n", 3)
    assert stash.resolve({"$id": ["$id", "x-${id}-${n}", "$unknown"]}) == {
        "abc": ["abc", "x-abc-3", "$unknown"]
    }


def test_skip_by_version_and_feature() -> None:
    assert version_in_ranges("all")
    assert version_in_ranges("8.0.0 - ")
    assert version_in_ranges("7.0.0 - 7.9.99, 8.10.0 - 8.20.0")
    assert not version_in_ranges(" - 6.99.99")
    assert not version_in_ranges("7.0.0 - 7.10.99")

    def reason(*steps: dict[str, Any]) -> str | None:
        return why_skipped(YamlFile(Path("x/1.yml"), "x"), YamlTest("t", list(steps)))

    assert reason({"skip": {"features": ["headers", "warnings"]}}) is None
    assert reason({"skip": {"features": "node_selector"}}) == "runner lacks feature node_selector"
    assert reason({"skip": {"version": "8.0.0 - ", "reason": "gone"}}) == "version 8.0.0 - : gone"
    assert reason({"skip": {"version": " - 6.99.99", "reason": "old"}}) is None
    assert reason({"requires": {"test_runner_features": ["capabilities"]}}) is not None
    typed = {"do": {"index": {"index": "i", "type": "_doc", "body": {}}}}
    assert reason(typed) == "mapping types (removed in Elasticsearch 8)"
    bulk_line = {"do": {"bulk": {"body": '{"index": {"_index": "i", "_type": "t"}}\n{"f": 1}'}}}
    assert reason(bulk_line) == "mapping types (removed in Elasticsearch 8)"
    mget_doc = {"do": {"mget": {"body": {"docs": [{"_index": "i", "_type": "t", "_id": "1"}]}}}}
    assert reason(mget_doc) == "mapping types (removed in Elasticsearch 8)"
    untyped = {"do": {"bulk": {"body": [{"index": {"_index": "i"}}, {"_type": "a field"}]}}}
    assert reason(untyped) is None


def test_requests_take_the_path_whose_parts_are_all_given() -> None:
    request = build_request(SPECS["index"], {"index": "i", "id": "a/b", "body": {"f": 1}})
    assert (request.method, request.path) == ("POST", "/i/_doc/a%2Fb")
    assert json.loads(request.body or b"") == {"f": 1}
    request = build_request(SPECS["search"], {"index": ["a", "b"], "rest_total_hits_as_int": True})
    assert (request.method, request.path, request.query) == (
        "GET",
        "/a,b/_search",
        {"rest_total_hits_as_int": "true"},
    )
    bulk = build_request(SPECS["bulk"], {"body": [{"index": {"_index": "i"}}, {"f": 1}]})
    assert bulk.body == b'{"index": {"_index": "i"}}\n{"f": 1}\n'
    assert bulk.headers["Content-Type"] == "application/x-ndjson"
    with pytest.raises(ParamError):
        build_request(SPECS["get"], {"index": "i"})  # no id


SUITE = """\
setup:
  - do:
      indices.create:
        index: test
---
"passes":
  - skip:
      features: headers
  - do:
      headers: {X-Test: "1"}
      index: {index: test, id: "1", body: {date: 2016-01-01}}
  - set: {_id: doc_id}
  - match: {result: /^creat/}
  - do:
      get: {index: test, id: $doc_id}
  - match: {_source.date: "2016-01-01"}
  - do:
      catch: missing
      get: {index: test, id: nope}
  - match: {error.type: /not_found/}
  - do:
      catch: /no\\s+such/
      get: {index: test, id: nope}
---
"fails":
  - do:
      get: {index: test, id: "1"}
  - length: {_source: 5}
---
"skipped":
  - skip:
      features: node_selector
  - do: {info: {}}
"""


def _fake_server() -> httpx.MockTransport:
    """Just enough of an Elasticsearch for SUITE: one index of documents, and the listings
    the wipe reads (empty)."""
    documents: dict[str, Any] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if method == "GET" and path.startswith(("/_cat/indices", "/_index_template")):
            return httpx.Response(200, json=[] if "_cat" in path else {"index_templates": []})
        if method == "GET" and path.startswith(("/_", "/_snapshot")):
            return httpx.Response(200, json={})
        if method == "PUT" and path == "/test":
            return httpx.Response(200, json={"acknowledged": True})
        if method == "POST" and path.startswith("/test/_doc/"):
            assert request.headers["X-Test"] == "1"
            documents[path.rsplit("/", 1)[1]] = json.loads(request.content)
            return httpx.Response(201, json={"_id": path.rsplit("/", 1)[1], "result": "created"})
        if method == "GET" and path.startswith("/test/_doc/"):
            doc_id = path.rsplit("/", 1)[1]
            if doc_id in documents:
                return httpx.Response(200, json={"_id": doc_id, "_source": documents[doc_id]})
            error = {"type": "resource_not_found_exception", "reason": "no such doc"}
            return httpx.Response(404, json={"error": error, "status": 404})
        return httpx.Response(200, json={"acknowledged": True})

    return httpx.MockTransport(handle)


def test_a_suite_runs_with_setup_set_catch_and_skips(tmp_path: Path) -> None:
    file = tmp_path / "index" / "10_basic.yml"
    file.parent.mkdir()
    file.write_text(SUITE)
    assert [t.name for t in parse_file(file).tests] == ["passes", "fails", "skipped"]
    with httpx.Client(transport=_fake_server(), base_url="http://fake") as client:
        outcomes, problems = run_files(client, SPECS, [file], tmp_path)
    assert [(o.test, o.status) for o in outcomes] == [
        ("passes", "passed"),
        ("fails", "failed"),
        ("skipped", "skipped"),
    ]
    assert outcomes[1].message == "length [_source]: expected 5, got 1"
    assert outcomes[2].message == "runner lacks feature node_selector"
    assert outcomes[0].api == "index" and outcomes[0].file == "index/10_basic.yml"
    assert problems == []


SCOPED_SUITE = """\
"type waived":
  - do:
      get: {index: test, id: "1"}
  - match: {_type: _doc}
  - is_true: _type
  - match: {_id: "1"}
---
"refused by name":
  - do:
      search: {index: test, body: {collapse: {field: f}}}
---
"wrong answer":
  - do:
      search: {index: test, body: {query: {match_all: {}}}}
  - match: {hits.total.value: 2}
"""


def _scoped_server() -> httpx.MockTransport:
    """An ES-shaped refusal for `collapse`, one hit for any other search."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path.startswith("/_cat/indices"):
            return httpx.Response(200, json=[])
        if request.method == "GET" and path.startswith("/_index_template"):
            return httpx.Response(200, json={"index_templates": []})
        if path == "/test/_doc/1":
            return httpx.Response(200, json={"_id": "1", "_source": {}})
        if path == "/test/_search" and b"collapse" in request.content:
            error = {"type": "illegal_argument_exception", "reason": "[collapse] not supported"}
            return httpx.Response(400, json={"error": error, "status": 400})
        if path == "/test/_search":
            return httpx.Response(200, json={"hits": {"total": {"value": 1}, "hits": []}})
        return httpx.Response(200, json={})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("declined", [False, True])
def test_type_assertions_are_waived_and_refusals_told_from_wrong_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, declined: bool
) -> None:
    from standins.logstore.conformance import scope

    file = tmp_path / "search" / "999_scoped.yml"
    file.parent.mkdir()
    file.write_text(SCOPED_SUITE)
    if declined:
        monkeypatch.setitem(scope.DECLINED, "search/999_scoped.yml", "field collapsing")
    with httpx.Client(transport=_scoped_server(), base_url="http://fake") as client:
        outcomes, _ = run_files(client, SPECS, [file], tmp_path)
    waived, refused, wrong = outcomes
    assert (waived.status, waived.waived) == ("passed", 2)
    assert refused.refused
    assert refused.status == ("declined" if declined else "failed")
    # a wrong answer to a declined feature's test still counts as a failure
    assert (wrong.status, wrong.refused) == ("failed", False)
