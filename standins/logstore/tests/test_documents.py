"""The document APIs with the official client: versioning, routing, realtime gets, deletes,
bulk updates and deletes, _delete_by_query, and ES's Content-Type rule."""

from __future__ import annotations

import signal
import time
from typing import Any

import httpx
import pytest
from elasticsearch import ApiError, BadRequestError, ConflictError, Elasticsearch, NotFoundError

from .conftest import PASSWORDS, Server


def _status(err: ApiError) -> int:
    return int(err.meta.status)


def test_refresh_answers_forced_refresh(es: Elasticsearch) -> None:
    assert es.index(index="fr", id="1", document={"a": 1}, refresh=True)["forced_refresh"] is True
    assert "forced_refresh" not in es.index(index="fr", id="2", document={"a": 1})
    updated = es.update(index="fr", id="1", doc={"a": 2}, refresh=True)
    assert updated["forced_refresh"] is True
    deleted = es.delete(index="fr", id="2", refresh=True)
    assert deleted["result"] == "deleted" and deleted["forced_refresh"] is True
    bulk = es.bulk(operations=[{"index": {"_index": "fr", "_id": "3"}}, {"a": 3}], refresh=True)
    assert bulk["items"][0]["index"]["forced_refresh"] is True


def test_compare_and_swap_and_external_versions(es: Elasticsearch) -> None:
    first = es.index(index="cas", id="1", document={"v": 1})
    seq, term = first["_seq_no"], first["_primary_term"]
    with pytest.raises(ConflictError) as stale:
        es.index(index="cas", id="1", document={"v": 2}, if_seq_no=seq + 100, if_primary_term=term)
    assert stale.value.body["error"]["type"] == "version_conflict_engine_exception"
    swapped = es.index(index="cas", id="1", document={"v": 2}, if_seq_no=seq, if_primary_term=term)
    assert swapped["_version"] == 2
    with pytest.raises(ConflictError):
        es.update(index="cas", id="1", doc={"v": 3}, if_seq_no=seq, if_primary_term=term)
    with pytest.raises(ConflictError):
        es.get(index="cas", id="1", version=1)
    assert es.get(index="cas", id="1", version=2)["_source"] == {"v": 2}

    external = es.index(index="ext", id="1", document={}, version=5, version_type="external")
    assert external["_version"] == 5
    with pytest.raises(ConflictError):
        es.index(index="ext", id="1", document={}, version=5, version_type="external")
    gte = es.index(index="ext", id="1", document={}, version=5, version_type="external_gte")
    assert gte["_version"] == 5
    with pytest.raises(BadRequestError) as create:
        es.create(index="ext", id="2", document={}, version=1, version_type="external")
    assert "create operations only support internal versioning" in str(create.value.body)


def test_routing_is_kept_and_reaches_only_its_shard(es: Elasticsearch) -> None:
    es.indices.create(index="routed", settings={"number_of_shards": 5})
    put = es.index(index="routed", id="1", document={"a": 1}, routing="5")
    assert put["result"] == "created"
    got = es.get(index="routed", id="1", routing="5")
    assert got["_routing"] == "5" and got["_source"] == {"a": 1}
    with pytest.raises(NotFoundError):
        es.get(index="routed", id="1")  # id "1" hashes to another of the 5 shards
    docs = es.mget(index="routed", docs=[{"_id": "1"}, {"_id": "1", "routing": "5"}])["docs"]
    assert [d["found"] for d in docs] == [False, True]
    # One shard (the default): the routing is kept, every get reaches the document.
    es.index(index="one-shard", id="1", document={"a": 1}, routing="x", refresh=True)
    assert es.get(index="one-shard", id="1")["_routing"] == "x"
    hits = es.search(index="one-shard")["hits"]["hits"]
    assert hits[0]["_id"] == "1"


def test_realtime_false_reads_what_the_last_refresh_made_searchable(es: Elasticsearch) -> None:
    es.indices.create(index="rt", settings={"refresh_interval": "-1"})
    es.index(index="rt", id="1", document={"a": 1})
    with pytest.raises(NotFoundError):
        es.get(index="rt", id="1", realtime=False)
    assert es.get(index="rt", id="1")["found"]
    assert es.mget(index="rt", ids=["1"], realtime=False)["docs"][0]["found"] is False
    assert es.get(index="rt", id="1", realtime=False, refresh=True)["found"]


def test_delete_and_recreate(es: Elasticsearch) -> None:
    es.index(index="del", id="1", document={"a": 1}, refresh=True)
    gone = es.delete(index="del", id="1")
    assert gone["result"] == "deleted" and gone["_version"] == 2
    with pytest.raises(NotFoundError):
        es.get(index="del", id="1")
    with pytest.raises(NotFoundError) as missing:
        es.delete(index="del", id="1")
    assert missing.value.body["result"] == "not_found"
    again = es.index(index="del", id="1", document={"a": 2}, refresh=True)
    assert again["result"] == "created"
    assert es.count(index="del")["count"] == 1


def test_bulk_update_delete_and_item_errors(es: Elasticsearch) -> None:
    ops: list[dict[str, Any]] = [
        {"index": {"_index": "bk", "_id": "1"}},
        {"n": 1, "keep": True},
        {"update": {"_index": "bk", "_id": "1", "_source": True}},
        {"doc": {"n": 2}},
        {"update": {"_index": "bk", "_id": "2"}},
        {"doc": {"n": 9}, "doc_as_upsert": True},
        {"delete": {"_index": "bk", "_id": "2"}},
        {"index": {"_index": "bk", "_id": "3", "pipeline": "nope"}},
        {"n": 3},
        {"index": {"_index": "bk", "_id": ""}},
        {"n": 4},
    ]
    items = es.bulk(operations=ops, refresh=True)["items"]
    assert items[0]["index"]["result"] == "created"
    assert items[1]["update"]["result"] == "updated"
    assert items[1]["update"]["get"]["_source"] == {"n": 2, "keep": True}
    assert items[2]["update"]["result"] == "created"
    assert items[3]["delete"]["result"] == "deleted"
    assert items[4]["index"]["error"]["reason"] == "pipeline with id [nope] does not exist"
    assert items[5]["index"]["error"]["type"] == "illegal_argument_exception"
    assert es.count(index="bk")["count"] == 1
    with pytest.raises(BadRequestError) as empty:
        es.bulk(operations=[{"index": {"_index": "bk"}}, {"n": 1}, {}])
    assert "expected FIELD_NAME but found [END_OBJECT]" in str(empty.value.body)
    with pytest.raises(BadRequestError) as old:
        es.bulk(operations=[{"index": {"_index": "bk", "_version": 1}}, {"n": 1}])
    assert "unknown parameter [_version]" in str(old.value.body)


def test_mget_update_and_upserts(es: Elasticsearch) -> None:
    es.indices.create(
        index="mg", mappings={"properties": {"foo": {"type": "keyword", "store": True}}}
    )
    es.index(index="mg", id="1", document={"foo": "bar", "other": 1})
    docs = es.mget(
        index="mg", docs=[{"_id": "1", "stored_fields": ["foo"]}, {"_id": "1"}, {"_id": "2"}]
    )["docs"]
    assert docs[0]["fields"] == {"foo": ["bar"]} and "_source" not in docs[0]
    assert docs[1]["_source"] == {"foo": "bar", "other": 1}
    assert docs[2]["found"] is False
    with pytest.raises(BadRequestError) as none:
        es.mget(index="mg", ids=[])
    assert "no documents to get" in str(none.value.body)
    up = es.update(index="mg", id="2", doc={"a": 1}, upsert={"a": 0}, source=True)
    assert up["result"] == "created" and up["get"]["_source"] == {"a": 0}
    merged = es.update(index="mg", id="2", doc={"b": 2}, source_includes=["b"])
    assert merged["get"]["_source"] == {"b": 2}
    as_upsert = es.update(index="mg", id="3", doc={"c": 3}, doc_as_upsert=True)
    assert as_upsert["result"] == "created"
    assert es.get(index="mg", id="3")["_source"] == {"c": 3}
    with pytest.raises(BadRequestError) as typo:
        es.perform_request(
            "POST",
            "/mg/_update/3",
            headers={"content-type": "application/json", "accept": "application/json"},
            body={"dac": {"c": 4}},
        )
    assert "unknown field [dac] did you mean [doc]?" in str(typo.value.body)


def test_delete_by_query(es: Elasticsearch) -> None:
    ops: list[dict[str, Any]] = []
    for n in range(30):
        ops += [{"index": {"_index": "dbq", "_id": str(n)}}, {"n": n, "odd": n % 2 == 1}]
    es.bulk(operations=ops, refresh=True)
    done = es.delete_by_query(index="dbq", query={"term": {"odd": True}}, refresh=True)
    assert done["deleted"] == 15 and done["total"] == 15 and done["failures"] == []
    assert done["version_conflicts"] == 0 and done["batches"] == 1
    assert es.count(index="dbq")["count"] == 15
    capped = es.delete_by_query(index="dbq", query={"match_all": {}}, max_docs=5, refresh=True)
    assert capped["deleted"] == 5
    assert es.count(index="dbq")["count"] == 10
    # A document changed since the search saw it is a version conflict (abort: 409).
    es.indices.create(index="dbq2", settings={"refresh_interval": "-1"})
    es.index(index="dbq2", id="1", document={"n": 1}, refresh=True)
    es.index(index="dbq2", id="1", document={"n": 2})  # not refreshed: the search sees v1
    with pytest.raises(ConflictError) as conflict:
        es.delete_by_query(index="dbq2", query={"match_all": {}})
    assert conflict.value.body["version_conflicts"] == 1
    proceed = es.delete_by_query(index="dbq2", query={"match_all": {}}, conflicts="proceed")
    assert proceed["version_conflicts"] == 1 and proceed["deleted"] == 0
    with pytest.raises(BadRequestError) as later:
        es.delete_by_query(index="dbq", query={"match_all": {}}, wait_for_completion=False)
    assert "wait_for_completion=false" in later.value.body["error"]["reason"]
    with pytest.raises(BadRequestError):
        es.delete_by_query(index="dbq", query={"match_all": {}}, slices=2)


def test_refresh_wait_for_on_a_bulk_creating_three_indices_returns(es: Elasticsearch) -> None:
    ops: list[dict[str, Any]] = []
    for name in ("wf-a", "wf-b", "wf-c"):
        ops += [{"create": {"_index": name}}, {"message": name}]
    started = time.monotonic()
    answer = es.options(request_timeout=30).bulk(operations=ops, refresh="wait_for")
    took = time.monotonic() - started
    print(f"refresh=wait_for on a _bulk creating 3 indices took {took:.2f} s")
    assert not answer["errors"]
    assert sum(es.count(index=n)["count"] for n in ("wf-a", "wf-b", "wf-c")) == 3


def test_a_body_needs_a_json_content_type(server: Server) -> None:
    auth = ("elastic", PASSWORDS["elastic"])
    plain = httpx.post(
        server.url + "/ct/_doc",
        content=b'{"a": 1}',
        auth=auth,
        headers={"content-type": "text/plain"},
    )
    assert plain.status_code == 406
    assert plain.json() == {
        "error": "Content-Type header [text/plain] is not supported",
        "status": 406,
    }
    missing = httpx.post(server.url + "/ct/_doc", content=b'{"a": 1}', auth=auth)
    assert missing.status_code == 406
    assert missing.json() == {"error": "Content-Type header is missing", "status": 406}
    empty = httpx.post(server.url + "/_refresh", auth=auth)  # no body: no Content-Type needed
    assert empty.status_code == 200


def test_deletes_and_routing_survive_a_kill(fresh_server: Server) -> None:
    """Replayed from the write-ahead log: a delete of a committed document, a re-create after
    it, and a routing, none of them refreshed before kill -9."""
    es = fresh_server.client()
    es.indices.create(index="dur", settings={"refresh_interval": "-1"})
    es.index(index="dur", id="gone", document={"a": 1})
    es.index(index="dur", id="back", document={"a": 1})
    es.index(index="dur", id="routed", document={"a": 1}, routing="r1", refresh=True)
    es.delete(index="dur", id="gone")
    es.delete(index="dur", id="back")
    es.create(index="dur", id="back", document={"a": 2})
    fresh_server.stop(signal.SIGKILL)
    fresh_server.start()
    es = fresh_server.client()
    es.indices.refresh(index="dur")
    assert sorted(h["_id"] for h in es.search(index="dur")["hits"]["hits"]) == ["back", "routed"]
    assert es.get(index="dur", id="back")["_source"] == {"a": 2}
    assert es.get(index="dur", id="routed")["_routing"] == "r1"
