"""_cat, _cluster/health, _cluster/settings, snapshot status/clone/restore, _recovery and
_field_caps, through the official client."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError
from logstore.testing import PASSWORDS, Server


def _text(value: Any) -> str:
    return str(getattr(value, "body", value))


def test_cat_help_aliases_sort_and_bytes(es: Elasticsearch) -> None:
    for name in ("cc-b", "cc-a", "cc-c"):
        es.indices.create(index=name)
    es.index(index="cc-b", id="1", document={"message": "x"}, refresh=True)
    try:
        help_text = _text(es.cat.indices(help=True))
        assert re.search(r"^index +\| i,idx +\| index name +$", help_text, re.M)
        rows = es.cat.indices(index="cc-*", h="i,dc", s="dc:desc,i", format="json")
        assert [dict(r) for r in rows] == [
            {"i": "cc-b", "dc": "1"},
            {"i": "cc-a", "dc": "0"},
            {"i": "cc-c", "dc": "0"},
        ]
        sized = es.cat.indices(index="cc-a", h="ss", bytes="b", format="json")
        assert sized[0]["ss"].isdigit()
        text = _text(es.cat.indices(index="cc-a", h="index,cd,cds", v=True))
        header, row = text.splitlines()
        assert header.split() == ["index", "cd", "cds"]
        assert re.fullmatch(r"cc-a +\d{13} \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row)
        health = _text(es.cat.health(ts=False, v=True)).splitlines()
        assert health[0].split()[:2] == ["cluster", "status"]
        with pytest.raises(ApiError) as bad_sort:
            es.cat.indices(s="colour")
        assert "Unable to sort by unknown sort key `colour`" in str(bad_sort.value.body)
        with pytest.raises(BadRequestError) as unserved:
            es.cat.indices(h="search.query_total")
        assert "is not supported by logstore" in str(unserved.value.body)
        es.indices.close(index="cc-c")
        closed = es.cat.indices(index="cc-c", h="status,index,pri,dc", format="json")
        assert [dict(r) for r in closed] == [
            {"status": "close", "index": "cc-c", "pri": "1", "dc": None}
        ]
        assert es.cat.indices(index="cc-*", expand_wildcards="open", h="i", format="json") == [
            {"i": "cc-a"},
            {"i": "cc-b"},
        ]
    finally:
        es.indices.delete(index="cc-a,cc-b,cc-c")
    es.indices.create(index=".cc-dot", settings={"index": {"hidden": True}})
    try:
        assert all(r["i"] != ".cc-dot" for r in es.cat.indices(h="i", format="json"))
        assert es.cat.indices(index=".cc-*", h="i", format="json") == [{"i": ".cc-dot"}]
        hidden = es.cat.indices(expand_wildcards="all", h="i", format="json")
        assert {"i": ".cc-dot"} in [dict(r) for r in hidden]
    finally:
        es.indices.delete(index=".cc-dot")


def test_replicas_are_yellow_and_health_waits_time_out(es: Elasticsearch, server: Server) -> None:
    es.indices.create(index="cc-replicated", settings={"number_of_replicas": 1})
    try:
        health = es.cluster.health(index="cc-replicated", level="shards")
        assert health["status"] == "yellow" and health["unassigned_shards"] == 1
        assert health["indices"]["cc-replicated"]["shards"]["0"]["primary_active"] is True
        rows = es.cat.indices(index="cc-*", health="yellow", h="index", format="json")
        assert [r["index"] for r in rows] == ["cc-replicated"]
        # green never comes for an index that wants a replica on one node: 408, timed out
        auth = ("elastic", PASSWORDS["elastic"])
        waited = httpx.get(
            f"{server.url}/_cluster/health/cc-replicated",
            params={"wait_for_status": "green", "timeout": "100ms"},
            auth=auth,
        )
        assert waited.status_code == 408 and waited.json()["timed_out"] is True
        assert es.cluster.health(wait_for_status="yellow", timeout="1s")["timed_out"] is False
        missing = httpx.get(
            f"{server.url}/_cluster/health/cc-nowhere", params={"timeout": "50ms"}, auth=auth
        )
        assert missing.status_code == 408 and missing.json()["status"] == "red"
    finally:
        es.indices.delete(index="cc-replicated")


def test_cluster_settings_put_get_reset_and_refusals(es: Elasticsearch) -> None:
    put = es.cluster.put_settings(
        persistent={"search.max_buckets": 1000}, transient={"search": {"max_keep_alive": "10m"}}
    )
    assert put["persistent"] == {"search": {"max_buckets": "1000"}}
    assert put["transient"] == {"search": {"max_keep_alive": "10m"}}
    try:
        got = es.cluster.get_settings(flat_settings=True)
        assert got["persistent"] == {"search.max_buckets": "1000"}
        assert got["transient"] == {"search.max_keep_alive": "10m"}
        defaults = es.cluster.get_settings(include_defaults=True, flat_settings=True)["defaults"]
        assert defaults["search.default_keep_alive"] == "5m"
        with pytest.raises(BadRequestError) as unknown:
            es.cluster.put_settings(persistent={"no.such.thing": 1})
        assert unknown.value.body["error"]["reason"] == (
            "persistent setting [no.such.thing], not recognized"
        )
        with pytest.raises(BadRequestError) as real:
            es.cluster.put_settings(transient={"cluster.routing.allocation.enable": "none"})
        assert "is not supported by logstore" in real.value.body["error"]["reason"]
        with pytest.raises(BadRequestError) as order:
            es.cluster.put_settings(transient={"search.default_keep_alive": "1h"})
        assert "should be smaller than max keep alive" in order.value.body["error"]["reason"]
        with pytest.raises(BadRequestError):
            es.cluster.put_settings(persistent={"search.max_buckets": "many"})
        with pytest.raises(BadRequestError):
            es.cluster.put_settings(persistent={"action.destructive_requires_name": "maybe"})
    finally:
        es.cluster.put_settings(
            persistent={"search.max_buckets": None}, transient={"search.*": None}
        )
    assert es.cluster.get_settings() == {"persistent": {}, "transient": {}}


def test_wildcard_deletes_only_once_names_are_not_required(es: Elasticsearch) -> None:
    for name in ("wild-a", "wild-b", "kept"):
        es.indices.create(index=name)
    es.indices.put_alias(index="kept", name="wild-alias")
    with pytest.raises(BadRequestError) as refused:
        es.indices.delete(index="wild-*")
    assert refused.value.body["error"]["reason"] == (
        "Wildcard expressions or all indices are not allowed"
    )
    es.cluster.put_settings(transient={"action.destructive_requires_name": False})
    try:
        es.indices.delete(index="wild-*")  # the alias's index is not matched by the wildcard
        assert not es.indices.exists(index="wild-a,wild-b")
        assert es.indices.exists(index="kept")
        with pytest.raises(NotFoundError):
            es.indices.delete(index="kept,wild-*", allow_no_indices=False)
    finally:
        es.cluster.put_settings(transient={"action.destructive_requires_name": None})
        es.indices.delete(index="kept")


def test_persistent_settings_survive_a_restart(fresh_server: Server) -> None:
    es = fresh_server.client("elastic")
    es.cluster.put_settings(
        persistent={"search.max_buckets": 7}, transient={"search.max_keep_alive": "2h"}
    )
    fresh_server.stop()
    fresh_server.start()
    es = fresh_server.client("elastic")
    after = es.cluster.get_settings(flat_settings=True)
    assert after == {"persistent": {"search.max_buckets": "7"}, "transient": {}}


def test_snapshot_status_clone_and_restore_over_a_closed_index(
    es: Elasticsearch, server: Server
) -> None:
    location: Path = server.data.parent / "snapshots" / "cc-repo"
    es.snapshot.create_repository(
        name="cc-repo", repository={"type": "fs", "settings": {"location": str(location)}}
    )
    es.indices.create(index="cc-snap-1")
    es.indices.create(index="cc-snap-2")
    es.index(index="cc-snap-1", id="a", document={"message": "kept"}, refresh=True)
    try:
        es.snapshot.create(
            repository="cc-repo", snapshot="s1", indices="cc-snap-*", wait_for_completion=True
        )
        status = es.snapshot.status(repository="cc-repo", snapshot="s1")["snapshots"][0]
        assert status["state"] == "SUCCESS" and status["shards_stats"]["done"] == 2
        assert status["stats"]["total"]["size_in_bytes"] > 0
        assert status["indices"]["cc-snap-1"]["shards"]["0"]["stage"] == "DONE"
        with pytest.raises(NotFoundError):
            es.snapshot.status(repository="cc-repo", snapshot="nope")
        none = es.snapshot.status(repository="cc-repo", snapshot="nope", ignore_unavailable=True)
        assert none == {"snapshots": []}
        short = es.snapshot.get(repository="cc-repo", snapshot="s1", verbose=False)
        assert "failures" not in short["snapshots"][0]
        assert es.snapshot.get(repository="cc-repo", snapshot="s1")["snapshots"][0][
            "include_global_state"
        ]
        assert es.snapshot.clone(
            repository="cc-repo", snapshot="s1", target_snapshot="s1-one", indices="cc-snap-1"
        )["acknowledged"]
        cloned = es.snapshot.get(repository="cc-repo", snapshot="s1-one")["snapshots"][0]
        assert cloned["indices"] == ["cc-snap-1"]

        es.indices.close(index="cc-snap-1")
        es.snapshot.restore(
            repository="cc-repo", snapshot="s1-one", indices="cc-snap-1", wait_for_completion=True
        )
        assert es.count(index="cc-snap-1")["count"] == 1
        shard = es.indices.recovery(index="cc-snap-1")["cc-snap-1"]["shards"][0]
        assert (shard["type"], shard["stage"]) == ("SNAPSHOT", "DONE")
        assert shard["index"]["size"]["recovered_in_bytes"] > 0
        with pytest.raises(ApiError) as open_index:
            es.snapshot.restore(repository="cc-repo", snapshot="s1", indices="cc-snap-2")
        assert "an open index with same name already exists" in str(open_index.value.body)
    finally:
        es.indices.delete(index="cc-snap-1,cc-snap-2")
        for snap in ("s1", "s1-one"):
            es.snapshot.delete(repository="cc-repo", snapshot=snap)
        es.snapshot.delete_repository(name="cc-repo")


def test_field_caps(es: Elasticsearch) -> None:
    es.indices.create(
        index="cc-caps-1",
        mappings={"properties": {"order": {"properties": {"n": {"type": "integer"}}}}},
    )
    es.indices.create(index="cc-caps-2", mappings={"properties": {"order.n": {"type": "keyword"}}})
    # fields a document introduces are mapped dynamically, as in ES
    es.index(
        index="cc-caps-1",
        id="1",
        document={"service": {"name": "users"}, "note": "free text", "took": 1.5},
        refresh=True,
    )
    try:
        caps = es.field_caps(index="cc-caps-*", fields="order*,service.name,note*,took")
        assert caps["indices"] == ["cc-caps-1", "cc-caps-2"]
        fields = caps["fields"]
        assert fields["service.name"] == {
            "keyword": {
                "type": "keyword",
                "metadata_field": False,
                "searchable": True,
                "aggregatable": True,
                "indices": ["cc-caps-1"],
            }
        }
        assert fields["note"]["text"]["aggregatable"] is False
        assert fields["note.keyword"]["keyword"]["aggregatable"] is True
        assert fields["took"]["float"]["searchable"] is True
        n = fields["order.n"]
        assert n["integer"]["indices"] == ["cc-caps-1"] and n["keyword"]["indices"] == ["cc-caps-2"]
        assert fields["order"]["object"]["searchable"] is False
        unmapped = es.field_caps(index="cc-caps-*", fields="took", include_unmapped=True)
        assert unmapped["fields"]["took"]["unmapped"]["indices"] == ["cc-caps-2"]
        metadata = es.field_caps(index="cc-caps-1", fields="*", filters="+metadata")
        assert set(metadata["fields"]) == {"_id", "_index", "_source"}
        with pytest.raises(BadRequestError):
            es.field_caps(index="cc-caps-1", fields="x", index_filter={"match_all": {}})
        with pytest.raises(NotFoundError):
            es.field_caps(index="cc-caps-none", fields="*")
        assert es.field_caps(index="cc-caps-none", fields="*", ignore_unavailable=True) == {
            "indices": [],
            "fields": {},
        }
    finally:
        es.indices.delete(index="cc-caps-1,cc-caps-2")
