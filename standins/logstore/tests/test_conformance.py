"""Conformance: the official elasticsearch client 8.x against logstore."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError, helpers
from logstore.testing import PASSWORDS

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
INDEX = "logs-conf-2024.03.01"


def _doc(i: int) -> dict[str, Any]:
    return {
        "@timestamp": (BASE + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
        "message": f"request {i} {'failed badly' if i % 10 == 0 else 'ok'}",
        "log": {"level": "error" if i % 10 == 0 else "info"},
        "service": {"name": ["auth", "users", "games"][i % 3]},
        "http": {"response": {"status_code": 500 if i % 10 == 0 else 200}},
        "event": {"duration": i * 1000},
        "labels": {"shard": f"s{i % 4}"},
    }


@pytest.fixture(scope="module")
def loaded(es: Elasticsearch) -> str:
    actions = [{"_index": INDEX, "_id": f"d{i}", "_source": _doc(i)} for i in range(300)]
    ok, errors = helpers.bulk(es, actions, refresh="wait_for")
    assert ok == 300 and not errors
    return INDEX


def test_info_and_ping(es: Elasticsearch) -> None:
    assert es.ping()
    info = es.info()
    assert info["version"]["number"].startswith("8.")
    assert info["tagline"] == "You Know, for Search"
    assert es.cluster.health()["status"] == "green"


def test_search_total_and_source(es: Elasticsearch, loaded: str) -> None:
    res = es.search(index="logs-conf-*", query={"match": {"message": "failed"}}, size=5)
    assert res["hits"]["total"] == {"value": 30, "relation": "eq"}
    assert len(res["hits"]["hits"]) == 5
    assert res["_shards"]["failed"] == 0
    hit = es.search(index=loaded, query={"term": {"_id": "d7"}}, source_includes=["log.*"])["hits"][
        "hits"
    ][0]
    assert hit["_source"] == {"log": {"level": "info"}}


def test_query_dsl(es: Elasticsearch, loaded: str) -> None:
    def count(query: dict[str, Any]) -> int:
        return int(es.count(index=loaded, query=query)["count"])

    assert count({"match_all": {}}) == 300
    assert count({"term": {"log.level": "error"}}) == 30
    assert count({"terms": {"service.name": ["auth", "users"]}}) == 200
    assert count({"range": {"http.response.status_code": {"gte": 500}}}) == 30
    assert (
        count(
            {"range": {"@timestamp": {"gte": "2024-03-01T12:00:00Z", "lt": "2024-03-01T12:01:00Z"}}}
        )
        == 60
    )
    assert count({"range": {"@timestamp": {"gte": "now-15m"}}}) == 0
    assert count({"exists": {"field": "labels.shard"}}) == 300
    assert count({"exists": {"field": "nope"}}) == 0
    assert count({"prefix": {"service.name": "ga"}}) == 100
    assert count({"wildcard": {"service.name": "u*s"}}) == 100
    assert count({"match_phrase": {"message": "failed badly"}}) == 30
    assert count({"multi_match": {"query": "failed", "fields": ["message"]}}) == 30
    assert count({"query_string": {"query": "log.level:error AND service.name:auth"}}) == 10
    assert count({"query_string": {"query": "failed"}}) == 30
    assert count({"term": {"labels.shard": "s1"}}) == 75
    # typed fields live only in their own fast fields; exists and bare terms still find them
    assert count({"exists": {"field": "log.level"}}) == 300
    assert count({"exists": {"field": "http.response.status_code"}}) == 300
    assert count({"exists": {"field": "message"}}) == 300
    assert count({"query_string": {"query": "_exists_:service.name"}}) == 300
    assert count({"query_string": {"query": "games"}}) == 100  # keyword value, exact
    assert count({"match": {"*": "games"}}) == 100
    # Lucene's NOT: a must-not clause; negations alone match everything else
    assert count({"query_string": {"query": "request AND NOT service.name:auth"}}) == 200
    assert count({"query_string": {"query": "NOT log.level:error"}}) == 270
    assert count({"query_string": {"query": "failed AND NOT (service.name:auth OR games)"}}) == 10
    bool_q = {
        "bool": {
            "must": [{"match": {"message": "request"}}],
            "filter": [{"term": {"service.name": "auth"}}],
            "must_not": [{"term": {"log.level": "error"}}],
        }
    }
    assert count(bool_q) == 90
    should = {
        "bool": {
            "should": [{"term": {"service.name": "auth"}}, {"term": {"log.level": "error"}}],
            "minimum_should_match": 2,
        }
    }
    assert count(should) == 10


def test_sort_and_search_after(es: Elasticsearch, loaded: str) -> None:
    page1 = es.search(index=loaded, sort=[{"@timestamp": "desc"}], size=3)["hits"]["hits"]
    assert [h["_id"] for h in page1] == ["d299", "d298", "d297"]
    assert page1[0]["sort"][0] == int((BASE + timedelta(seconds=299)).timestamp() * 1000)
    page2 = es.search(
        index=loaded, sort=[{"@timestamp": "desc"}], size=3, search_after=page1[-1]["sort"]
    )
    assert [h["_id"] for h in page2["hits"]["hits"]] == ["d296", "d295", "d294"]
    paged = es.search(index=loaded, sort="@timestamp:asc", from_=10, size=2)["hits"]["hits"]
    assert [h["_id"] for h in paged] == ["d10", "d11"]


def test_aggregations(es: Elasticsearch, loaded: str) -> None:
    res = es.search(
        index="logs-conf-*",
        size=0,
        aggs={
            "svc": {
                "terms": {"field": "service.name"},
                "aggs": {"p": {"percentiles": {"field": "event.duration", "percents": [50]}}},
            },
            "per_min": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m"}},
            "per_day": {"date_histogram": {"field": "@timestamp", "calendar_interval": "month"}},
            "codes": {
                "range": {
                    "field": "http.response.status_code",
                    "ranges": [{"to": 300}, {"from": 300}],
                }
            },
            "hist": {"histogram": {"field": "event.duration", "interval": 100000}},
            "avg": {"avg": {"field": "event.duration"}},
            "max": {"max": {"field": "event.duration"}},
            "min": {"min": {"field": "@timestamp"}},
            "sum": {"sum": {"field": "event.duration"}},
            "n": {"value_count": {"field": "event.duration"}},
            "st": {"stats": {"field": "event.duration"}},
            "card": {"cardinality": {"field": "labels.shard"}},
        },
    )
    assert res["hits"]["total"] == {"value": 300, "relation": "eq"}  # counted by the aggs pass
    assert res["hits"]["hits"] == []
    some = es.search(
        index=loaded, size=0, q="failed", aggs={"n": {"value_count": {"field": "log.level"}}}
    )
    assert some["hits"]["total"]["value"] == 30 and some["aggregations"]["n"]["value"] == 30
    aggs = res["aggregations"]
    assert {b["key"]: b["doc_count"] for b in aggs["svc"]["buckets"]} == {
        "auth": 100,
        "users": 100,
        "games": 100,
    }
    assert aggs["svc"]["sum_other_doc_count"] == 0
    assert 100_000 < aggs["svc"]["buckets"][0]["p"]["values"]["50.0"] < 200_000
    assert [b["doc_count"] for b in aggs["per_min"]["buckets"]] == [60] * 5
    assert aggs["per_min"]["buckets"][0]["key_as_string"] == "2024-03-01T12:00:00.000Z"
    assert aggs["per_day"]["buckets"] == [
        {"key_as_string": "2024-03-01T00:00:00.000Z", "key": 1709251200000, "doc_count": 300}
    ]
    assert aggs["codes"]["buckets"] == [
        {"key": "*-300.0", "to": 300.0, "doc_count": 270},
        {"key": "300.0-*", "from": 300.0, "doc_count": 30},
    ]
    assert [b["doc_count"] for b in aggs["hist"]["buckets"]] == [100, 100, 100]
    assert aggs["avg"]["value"] == pytest.approx(149_500)
    assert aggs["max"]["value"] == 299_000
    assert aggs["min"]["value_as_string"] == "2024-03-01T12:00:00.000Z"
    assert aggs["sum"]["value"] == sum(i * 1000 for i in range(300))
    assert aggs["n"]["value"] == 300
    assert aggs["st"]["count"] == 300
    assert aggs["card"]["value"] == 4


def test_scan_and_scroll(es: Elasticsearch, loaded: str) -> None:
    ids = [h["_id"] for h in helpers.scan(es, index="logs-conf-*", size=70)]
    assert len(ids) == 300 and len(set(ids)) == 300
    ordered = [
        h["_id"]
        for h in helpers.scan(
            es, index=loaded, size=50, preserve_order=True, query={"sort": [{"@timestamp": "asc"}]}
        )
    ]
    assert ordered == [f"d{i}" for i in range(300)]


def test_documents(es: Elasticsearch) -> None:
    created = es.index(index="logs-docs-2024.03.02", document={"message": "one"})
    assert created["result"] == "created" and len(created["_id"]) == 20
    es.index(index="logs-docs-2024.03.02", id="fixed", document={"message": "two"})
    again = es.index(index="logs-docs-2024.03.02", id="fixed", document={"message": "three"})
    assert again["result"] == "updated" and again["_version"] == 2
    got = es.get(index="logs-docs-2024.03.02", id="fixed")  # realtime: before any refresh
    assert got["found"] and got["_source"] == {"message": "three"}
    with pytest.raises(NotFoundError):
        es.get(index="logs-docs-2024.03.02", id="missing")
    es.indices.refresh(index="logs-docs-2024.03.02")
    assert es.count(index="logs-docs-2024.03.02")["count"] == 2


def test_index_admin_and_templates(es: Elasticsearch) -> None:
    es.indices.put_index_template(
        name="logs-tpl",
        index_patterns=["logs-tpl-*"],
        priority=300,
        template={
            "settings": {"refresh_interval": "5s"},
            "mappings": {"properties": {"order": {"properties": {"total": {"type": "double"}}}}},
        },
    )
    es.indices.create(index="logs-tpl-2024.03.03")
    assert es.indices.exists(index="logs-tpl-2024.03.03")
    mapping = es.indices.get_mapping(index="logs-tpl-2024.03.03")["logs-tpl-2024.03.03"]["mappings"]
    assert mapping["properties"]["order"]["properties"]["total"]["type"] == "double"
    assert "@timestamp" not in mapping["properties"]  # as ES: only what is mapped or seen
    settings = es.indices.get_settings(index="logs-tpl-2024.03.03")
    assert settings["logs-tpl-2024.03.03"]["settings"]["index"]["refresh_interval"] == "5s"
    assert (
        es.indices.get_index_template(name="logs-tpl")["index_templates"][0]["name"] == "logs-tpl"
    )
    rows: Any = es.cat.indices(index="logs-tpl-*", format="json")
    assert rows[0]["index"] == "logs-tpl-2024.03.03" and rows[0]["health"] == "green"
    es.indices.delete(index="logs-tpl-2024.03.03")
    assert not es.indices.exists(index="logs-tpl-2024.03.03")
    es.indices.delete_index_template(name="logs-tpl")


def test_message_keyword_multi_field_aggregates_whole_messages(es: Elasticsearch) -> None:
    """ES maps `message` as text with a `.keyword` multi-field (ignore_above): "top error
    messages" is a terms aggregation on it, and must count whole messages, not words."""
    index = "multi-field-messages"
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "message": {
                    "type": "text",
                    "fields": {"keyword": {"type": "keyword", "ignore_above": 512}},
                }
            }
        },
    )
    messages = ["GET /api/games 500", "GET /api/games 500", "db down", "x" * 600]
    for n, message in enumerate(messages):
        es.index(index=index, id=str(n), document={"message": message})
    es.indices.refresh(index=index)
    found = es.search(
        index=index, size=0, aggs={"top": {"terms": {"field": "message.keyword", "size": 5}}}
    )
    buckets = {b["key"]: b["doc_count"] for b in found["aggregations"]["top"]["buckets"]}
    assert buckets == {"GET /api/games 500": 2, "db down": 1}, "longer than ignore_above: skipped"
    assert es.count(index=index, query={"match": {"message": "games"}})["count"] == 2
    assert es.count(index=index, query={"term": {"message.keyword": "db down"}})["count"] == 1
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]["message"]
    assert mapping["fields"]["keyword"]["type"] == "keyword"
    es.indices.delete(index=index)


def test_data_stream(es: Elasticsearch) -> None:
    es.indices.put_index_template(
        name="logs-ds", index_patterns=["logs-ds-*"], data_stream={}, priority=500
    )
    docs = [
        {
            "_op_type": "create",
            "_index": "logs-ds-app",
            "_source": {"@timestamp": "2024-03-01T00:00:00Z", "message": f"m{i}"},
        }
        for i in range(10)
    ]
    assert helpers.bulk(es, docs, refresh=True)[0] == 10
    stream = es.indices.get_data_stream(name="logs-ds-app")["data_streams"][0]
    assert stream["indices"][0]["index_name"].startswith(".ds-logs-ds-app-")
    assert es.count(index="logs-ds-app")["count"] == 10
    bad = es.bulk(
        operations=[{"index": {"_index": "logs-ds-app"}}, {"@timestamp": "2024-03-01T00:00:00Z"}]
    )
    assert bad["errors"] and bad["items"][0]["index"]["status"] == 400


def test_dotted_and_nested_keys_fill_the_same_typed_field(es: Elasticsearch) -> None:
    docs: list[dict[str, Any]] = [
        {"log": {"level": "warn"}, "message": "nested"},
        {"log.level": "warn", "message": "dotted"},
        {"log": {"level": "info", "logger": "x"}, "extra": {"a.b": "deep"}, "message": "mixed"},
    ]
    for i, src in enumerate(docs):
        es.index(index="typed-paths", id=str(i), document=src)
    es.indices.refresh(index="typed-paths")
    assert es.count(index="typed-paths", query={"term": {"log.level": "warn"}})["count"] == 2
    assert es.count(index="typed-paths", query={"term": {"log.logger": "x"}})["count"] == 1
    assert es.count(index="typed-paths", q="deep")["count"] == 1
    got = es.get(index="typed-paths", id="1")
    assert got["_source"] == docs[1]  # the source is kept as sent
    res = es.search(index="typed-paths", size=0, aggs={"levels": {"terms": {"field": "log.level"}}})
    buckets = {b["key"]: b["doc_count"] for b in res["aggregations"]["levels"]["buckets"]}
    assert buckets == {"warn": 2, "info": 1}


def _cat_docs(es: Elasticsearch, index: str) -> int:
    rows: Any = es.cat.indices(index=index, format="json")
    return int(rows[0]["docs.count"])


def test_search_idle_index_skips_refreshes_until_searched(es: Elasticsearch) -> None:
    """ES's index.search.idle.after: no scheduled refresh while nobody searches (what makes
    bulk loads cheaper); the next search refreshes first, so it still sees every document.
    A full WAL (index.translog.flush_threshold_size) commits anyway."""
    es.indices.create(index="idle-a", settings={"index.search.idle.after": "1s"})
    es.indices.create(
        index="idle-b",
        settings={
            "index.search.idle.after": "1s",
            "index.translog.flush_threshold_size": "1kb",
        },
    )
    time.sleep(1.5)  # both are search-idle now
    for index in ("idle-a", "idle-b"):
        helpers.bulk(es, ({"_index": index, "_source": _doc(i)} for i in range(20)))
    time.sleep(2.5)  # two refresh intervals
    assert _cat_docs(es, "idle-a") == 0  # _cat counts refreshed documents, as in ES
    assert _cat_docs(es, "idle-b") == 20  # committed: the WAL passed its threshold
    assert es.count(index="idle-a")["count"] == 20
    assert _cat_docs(es, "idle-a") == 20
    es.indices.create(index="idle-c", settings={"index.search.idle.after": "1s"})
    time.sleep(1.5)
    started = time.monotonic()
    helpers.bulk(es, [{"_index": "idle-c", "_source": _doc(1)}], refresh="wait_for")
    assert time.monotonic() - started < 5, "refresh=wait_for on a search-idle index hung"
    assert _cat_docs(es, "idle-c") == 1
    for key, bad in (
        ("index.search.idle.after", "soon"),
        ("index.translog.flush_threshold_size", "lots"),
    ):
        with pytest.raises(BadRequestError) as err:
            es.indices.create(index="idle-bad", settings={key: bad})
        assert key in str(err.value.body["error"]["reason"]), err.value.body


def test_refresh_wait_for_across_new_indices_returns_once_each_is_refreshed(
    es: Elasticsearch,
) -> None:
    """One _bulk creating three indices: while the first is waited for, the refresher commits
    the others, which then have nothing left to refresh. A wait for "the next refresh" of a
    clean index waited out its 30 s timeout; the client's 10 s default failed the call."""
    names = [f"wait-for-{n}" for n in ("a", "b", "c")]
    actions = [{"_index": name, "_source": _doc(i)} for name in names for i in range(5)]
    # With the client's own default timeout (10 s): the stall failed it, whatever the machine.
    ok, errors = helpers.bulk(es, actions, refresh="wait_for")
    assert ok == 15 and not errors
    assert [_cat_docs(es, name) for name in names] == [5, 5, 5]  # refreshed, not just stored


def test_a_negative_size_or_from_is_refused_by_name(es: Elasticsearch, loaded: str) -> None:
    for key in ("size", "from_"):
        with pytest.raises(BadRequestError) as err:
            es.search(index=loaded, **{key: -1})
        name = key.rstrip("_")
        assert err.value.body["error"]["reason"] == (
            f"[{name}] parameter cannot be negative, found [-1]"
        )


def test_an_empty_or_overlong_id_is_refused_by_name(es: Elasticsearch) -> None:
    actions = [
        {"_index": "ids", "_id": "", "_source": _doc(1)},
        {"_index": "ids", "_id": "x" * 513, "_source": _doc(2)},
        {"_index": "ids", "_id": "x" * 512, "_source": _doc(3)},
    ]
    ok, errors = helpers.bulk(es, actions, raise_on_error=False, refresh=True)
    assert ok == 1
    reasons = [next(iter(e.values()))["error"]["reason"] for e in errors]
    assert (
        reasons
        == [
            "if _id is specified it must not be empty",  # ES 8's IndexRouting: illegal_argument
            "Validation Failed: 1: id [" + "x" * 513 + "] is too long, must be no longer than 512 "
            "bytes but was: 513;",
        ]
    )


def test_count_takes_a_query_and_nothing_else(es: Elasticsearch, loaded: str) -> None:
    everything = es.count(index=loaded)["count"]
    assert es.count(index=loaded, body={})["count"] == everything
    with pytest.raises(BadRequestError) as err:
        es.count(index=loaded, body={"size": 0})
    assert err.value.body["error"]["reason"] == "request does not support [size]"


def test_lucene_wildcards_in_query_string(es: Elasticsearch, loaded: str) -> None:
    """`fail*`, `fa?led` and `message:fail*` find the 30 failed requests, as in Elasticsearch
    (a wildcard term is matched against the analysed field's terms)."""

    def found(text: str) -> int:
        body = {"query_string": {"query": text}}
        return int(es.count(index=loaded, query=body)["count"])

    assert [found(q) for q in ("message:fail*", "fail*", "fa?led", "message:fa?led")] == [30] * 4


def test_unknown_paths_and_methods_answer_as_elasticsearch(server: Any) -> None:
    import httpx

    auth = ("elastic", PASSWORDS["elastic"])
    unknown = httpx.get(f"{server.url}/_nope/at/all?pretty", auth=auth)
    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": "no handler found for uri [/_nope/at/all?pretty] and method [GET]"
    }
    wrong = httpx.post(f"{server.url}/_cluster/health", auth=auth)
    assert wrong.status_code == 405
    assert wrong.json() == {
        "error": "Incorrect HTTP method for uri [/_cluster/health] and method [POST], "
        "allowed: [GET, HEAD]",
        "status": 405,
    }
    assert httpx.get(f"{server.url}/_nope/at/all").status_code == 401  # authentication first


def test_license_and_xpack_say_basic(es: Elasticsearch) -> None:
    """What the official client's license and xpack APIs read, not an index lookup."""
    license_ = es.license.get()["license"]
    assert (license_["type"], license_["status"]) == ("basic", "active")
    info = es.xpack.info()
    assert info["license"]["mode"] == "basic"
    assert info["features"]["ilm"] == {"available": True, "enabled": True}
    assert info["features"]["ml"]["available"] is False


def test_cat_health_level_and_get_source_options_are_honoured(
    es: Elasticsearch, loaded: str
) -> None:
    rows = es.cat.indices(index=loaded, h="index,docs.count", format="json")
    assert [dict(r) for r in rows] == [{"index": loaded, "docs.count": "300"}]
    text = es.cat.indices(index=loaded, h="index,health", v=True)
    # columns padded to their widest cell, as ES pads them
    assert [line.split() for line in str(text).splitlines()] == [
        ["index", "health"],
        [loaded, "green"],
    ]
    assert es.cat.indices(index=loaded, health="red", format="json") == []
    with pytest.raises(BadRequestError) as err:
        es.cat.indices(index=loaded, h="index,colour")
    assert "Unable to find column [colour]" in err.value.body["error"]["reason"]
    health = es.cluster.health(index=loaded, level="indices")
    assert health["indices"][loaded]["status"] == "green"
    plain = es.get(index=loaded, id="d7")
    assert set(plain["_source"]) >= {"message", "service", "log"}
    assert "_source" not in es.get(index=loaded, id="d7", source=False)
    picked = es.get(index=loaded, id="d7", source_includes=["service.name"])["_source"]
    assert picked == {"service": {"name": "users"}}
    dropped = es.get(index=loaded, id="d7", source_excludes=["labels", "event"])["_source"]
    assert "labels" not in dropped and "event" not in dropped and "message" in dropped


def test_create_index_refuses_unknown_keys_by_name(es: Elasticsearch) -> None:
    # (`aliases` in the body is served: test_aliases.py)
    with pytest.raises(BadRequestError) as err:
        es.perform_request(
            "PUT",
            "/with-typo",
            body={"setings": {}},
            headers={"content-type": "application/json", "accept": "application/json"},
        )
    assert err.value.body["error"]["reason"] == "unknown key [setings] for create index"
    assert not es.indices.exists(index="with-typo")


def test_mapping_and_settings_in_all_their_forms(es: Elasticsearch, loaded: str) -> None:
    assert loaded in es.indices.get_mapping()
    assert loaded in es.indices.get_settings()
    flat = es.indices.get_settings(index=loaded, flat_settings=True)[loaded]["settings"]
    assert flat["index.number_of_shards"] == "1"
    one = es.indices.get_settings(index=loaded, name="index.number_of_*")[loaded]["settings"]
    assert one == {"index": {"number_of_shards": "1", "number_of_replicas": "0"}}
    for name in ("tmpl-a", "tmpl-b"):
        es.indices.put_index_template(name=name, index_patterns=[f"{name}-*"])
    with pytest.raises(NotFoundError):
        es.indices.delete_index_template(name="tmpl-a,tmpl-missing")
    assert es.indices.exists_index_template(name="tmpl-a")  # nothing deleted
    assert es.indices.delete_index_template(name="tmpl-a,tmpl-b")["acknowledged"]
    assert not es.indices.exists_index_template(name="tmpl-b")


def test_search_after_takes_a_formatted_date(es: Elasticsearch, loaded: str) -> None:
    """A date sort's search_after may be the date as text (ES parses it with the field's
    format), not only epoch milliseconds."""
    sort = [{"@timestamp": "asc"}]
    as_millis = es.search(index=loaded, sort=sort, size=2, search_after=[1709294405000])
    as_text = es.search(index=loaded, sort=sort, size=2, search_after=["2024-03-01T12:00:05.000Z"])
    ids = [h["_id"] for h in as_millis["hits"]["hits"]]
    assert ids == ["d6", "d7"]
    assert [h["_id"] for h in as_text["hits"]["hits"]] == ids


def test_missing_on_metric_aggregations(es: Elasticsearch) -> None:
    """A document without the field counts as `missing`'s value, as in Elasticsearch."""
    docs = [{"n": 10}, {"n": 20}, {"other": 1}, {"other": 2}]
    helpers.bulk(es, ({"_index": "metric-missing", "_source": d} for d in docs), refresh=True)
    aggs = {
        "avg": {"avg": {"field": "n", "missing": 0}},
        "sum": {"sum": {"field": "n", "missing": 5}},
        "min": {"min": {"field": "n", "missing": 1}},
        "count": {"value_count": {"field": "n", "missing": 0}},
        "stats": {"stats": {"field": "n", "missing": 30}},
    }
    got = es.search(index="metric-missing", size=0, aggs=aggs)["aggregations"]
    assert got["avg"]["value"] == 7.5 and got["sum"]["value"] == 40.0
    assert got["min"]["value"] == 1.0 and got["count"]["value"] == 4
    assert (got["stats"]["count"], got["stats"]["max"], got["stats"]["sum"]) == (4, 30.0, 90.0)
    with pytest.raises(BadRequestError) as err:
        es.search(
            index="metric-missing", size=0, aggs={"a": {"avg": {"field": "n", "format": "0.0"}}}
        )
    assert "[avg format (aggregation [a])] is not supported" in err.value.body["error"]["reason"]


def test_date_math_index_names(es: Elasticsearch) -> None:
    """`<dm-{now/d}>` names today's index, in writes, creation and reads (UTC)."""
    today = datetime.now(UTC).strftime("%Y.%m.%d")
    es.index(index="<dm-{now/d}>", id="1", document={"n": 1}, refresh=True)
    assert es.indices.exists(index=f"dm-{today}")
    assert es.count(index="<dm-{now/d}>")["count"] == 1
    month = datetime.now(UTC).strftime("%Y.%m")
    assert es.indices.create(index="<dm-{now/M{yyyy.MM}}>")["index"] == f"dm-{month}"
    with pytest.raises(BadRequestError) as err:
        es.indices.create(index="<dm-{now/d{yyyy.MM.dd|Europe/Paris}}>")
    assert "time zone Europe/Paris" in err.value.body["error"]["reason"]


def test_mget_and_nodes(es: Elasticsearch, loaded: str) -> None:
    got = es.mget(index=loaded, ids=["d1", "nope"])["docs"]
    assert [d["found"] for d in got] == [True, False]
    assert got[0]["_source"]["message"] == "request 1 ok"
    docs = [
        {"_index": loaded, "_id": "d2", "_source": ["service"]},
        {"_index": "no-such-index", "_id": "x"},
    ]
    mixed = es.mget(docs=docs)["docs"]
    assert mixed[0]["_source"] == {"service": {"name": "games"}}
    assert mixed[1]["error"]["type"] == "index_not_found_exception"
    with pytest.raises(BadRequestError):
        es.mget(ids=["d1"])  # no index for them
    node = next(iter(es.nodes.info()["nodes"].values()))
    assert node["version"] == es.info()["version"]["number"] and "data" in node["roles"]


def test_update_merges_a_partial_document(es: Elasticsearch) -> None:
    es.index(index="upd", id="1", document={"a": 1, "nested": {"x": 1, "y": 2}}, refresh=True)
    done = es.update(index="upd", id="1", doc={"nested": {"y": 3}, "b": 2}, refresh=True)
    assert done["result"] == "updated" and done["_version"] == 2
    assert es.get(index="upd", id="1")["_source"] == {"a": 1, "nested": {"x": 1, "y": 3}, "b": 2}
    assert es.update(index="upd", id="1", doc={"b": 2})["result"] == "noop"
    created = es.update(index="upd", id="2", doc={"c": 1}, doc_as_upsert=True, refresh=True)
    assert created["result"] == "created"
    with pytest.raises(NotFoundError) as missing:
        es.update(index="upd", id="3", doc={"c": 1})
    assert missing.value.body["error"]["type"] == "document_missing_exception"
    with pytest.raises(BadRequestError) as scripted:
        es.update(index="upd", id="1", script={"source": "ctx._source.a += 1"})
    assert "scripted updates" in scripted.value.body["error"]["reason"]


def _exact_percentile(values: list[float], pct: float) -> float:
    """The unit-centroid interpolation Elasticsearch's TDigest uses for a small population."""
    ordered = sorted(values)
    rank = min(max(pct / 100 * len(ordered) - 0.5, 0.0), len(ordered) - 1.0)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


@pytest.mark.parametrize("distinct", [1000, 20_000])  # read exactly, and through the sketch
def test_percentiles_across_indices_weigh_each_by_its_documents(
    es: Elasticsearch, distinct: int
) -> None:
    """An empty index, a 4-document one and a large one under one pattern: p50, p95 and p99
    within 1 % of the exact answer over all their documents."""
    prefix = f"pct{distinct}"
    mapping = {"properties": {"v": {"type": "double"}}}
    es.indices.create(index=f"{prefix}-empty", mappings=mapping)
    small = [5000.0, 6000.0, 7000.0, 8000.0]
    large = [float(i) for i in range(1, distinct + 1)]
    for name, values in ((f"{prefix}-small", small), (f"{prefix}-large", large)):
        actions = ({"_index": name, "_source": {"v": v}} for v in values)
        helpers.bulk(es, actions, refresh="wait_for", chunk_size=5000)
    every = small + large
    got = es.search(
        index=f"{prefix}-*",
        size=0,
        aggs={"p": {"percentiles": {"field": "v", "percents": [50, 95, 99]}}},
    )["aggregations"]["p"]["values"]
    for pct in (50.0, 95.0, 99.0):
        exact = _exact_percentile(every, pct)
        assert abs(got[str(pct)] - exact) <= 0.01 * exact, (pct, got[str(pct)], exact)


def test_df_on_a_dynamically_mapped_field(es: Elasticsearch, loaded: str) -> None:
    """`q` with `df` naming a field no mapping types: matched as the value reads."""
    assert es.count(index=loaded, q="users", df="service.name")["count"] == 100
    assert es.count(index=loaded, q="500", df="http.response.status_code")["count"] == 30
