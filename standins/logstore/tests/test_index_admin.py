"""Index administration with the official client: _close/_open, index and component
templates composed at index creation, legacy templates, the GET/PUT _settings forms."""

from __future__ import annotations

import base64
import http.client
from typing import Any
from urllib.parse import urlsplit

import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError
from logstore.testing import PASSWORDS, Server


def _status(err: ApiError) -> tuple[int, str]:
    return err.meta.status, str(err.body["error"]["type"])


def test_a_closed_index_keeps_its_data_and_refuses_reads_and_writes(es: Elasticsearch) -> None:
    es.indices.create(index="adm-close-a")
    es.indices.create(index="adm-close-b")
    es.index(index="adm-close-a", id="1", document={"message": "kept"}, refresh=True)
    answer = es.indices.close(index="adm-close-a")
    assert answer["acknowledged"] and answer["indices"] == {"adm-close-a": {"closed": True}}

    for call in (
        lambda: es.search(index="adm-close-a"),
        lambda: es.count(index="adm-close-a"),
        lambda: es.get(index="adm-close-a", id="1"),
        lambda: es.index(index="adm-close-a", id="2", document={"message": "x"}),
    ):
        with pytest.raises(BadRequestError) as caught:
            call()
        assert _status(caught.value) == (400, "index_closed_exception")
    # Wildcards skip it unless expand_wildcards says closed; ignore_unavailable skips it.
    assert es.search(index="adm-close-*")["hits"]["total"]["value"] == 0
    assert es.search(index="adm-close-a", ignore_unavailable=True)["hits"]["hits"] == []
    assert set(es.indices.get_mapping(index="adm-close-*")) == {"adm-close-b"}
    closed = es.indices.get_mapping(index="adm-close-*", expand_wildcards="closed")
    assert set(closed) == {"adm-close-a"}
    assert es.indices.exists(index="adm-close-a")

    with pytest.raises(BadRequestError) as caught:  # ES 8: closing needs names
        es.indices.close(index="adm-close-*")
    assert "Wildcard expressions" in caught.value.body["error"]["reason"]
    es.indices.open(index="adm-close-*")  # opening takes wildcards (closed ones by default)
    assert es.get(index="adm-close-a", id="1")["_source"] == {"message": "kept"}
    assert es.count(index="adm-close-a")["count"] == 1


def test_closed_state_survives_a_restart(fresh_server: Server) -> None:
    es = fresh_server.client()
    es.index(index="adm-restart", id="1", document={"message": "m"}, refresh=True)
    es.indices.close(index="adm-restart")
    fresh_server.stop()
    fresh_server.start()
    es = fresh_server.client()
    with pytest.raises(BadRequestError):
        es.count(index="adm-restart")
    es.indices.open(index="adm-restart")
    assert es.count(index="adm-restart")["count"] == 1


def test_component_templates_compose_in_order_under_the_index_template(
    es: Elasticsearch,
) -> None:
    es.cluster.put_component_template(
        name="adm-ct-low",
        template={
            "settings": {"number_of_replicas": 1, "refresh_interval": "7s"},
            "mappings": {"properties": {"a": {"type": "keyword"}, "b": {"type": "keyword"}}},
        },
    )
    es.cluster.put_component_template(
        name="adm-ct-high",
        template={
            "settings": {"index.number_of_replicas": 0},
            "mappings": {"properties": {"b": {"type": "long"}}},
        },
    )
    es.indices.put_index_template(
        name="adm-composed",
        index_patterns="adm-composed-*",
        composed_of=["adm-ct-low", "adm-ct-high"],
        priority=50,
        template={"mappings": {"properties": {"c": {"type": "date"}}}},
    )
    got = es.indices.get_index_template(name="adm-composed")["index_templates"][0]
    assert got["index_template"]["index_patterns"] == ["adm-composed-*"]
    assert got["index_template"]["composed_of"] == ["adm-ct-low", "adm-ct-high"]
    component = es.cluster.get_component_template(name="adm-ct-low")["component_templates"][0]
    assert component["component_template"]["template"]["settings"] == {
        "index": {"number_of_replicas": "1", "refresh_interval": "7s"}
    }

    es.indices.create(index="adm-composed-1", settings={"index.priority": 17})
    index = es.indices.get(index="adm-composed-1")["adm-composed-1"]
    props = index["mappings"]["properties"]
    assert props["a"]["type"] == "keyword" and props["b"]["type"] == "long"
    assert props["c"]["type"] == "date"
    settings = index["settings"]["index"]
    assert settings["number_of_replicas"] == "0" and settings["refresh_interval"] == "7s"
    assert settings["priority"] == "17"

    with pytest.raises(BadRequestError) as caught:
        es.cluster.delete_component_template(name="adm-ct-low")
    assert "cannot be removed as they are still in use by index templates [adm-composed]" in str(
        caught.value.body["error"]["reason"]
    )
    with pytest.raises(BadRequestError) as caught:
        es.indices.put_index_template(
            name="adm-composed", index_patterns=["x-*"], create=True, priority=1
        )
    assert "already exists" in caught.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as caught:
        es.indices.put_index_template(name="adm-other", index_patterns=["adm-*"], priority=50)
    assert "that have the same priority [50]" in caught.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as caught:
        es.indices.put_index_template(
            name="adm-missing", index_patterns=["adm-m-*"], composed_of=["nope"]
        )
    assert _status(caught.value) == (400, "invalid_index_template_exception")
    es.indices.delete(index="adm-composed-1")
    es.indices.delete_index_template(name="adm-composed")
    es.cluster.delete_component_template(name="adm-ct-low,adm-ct-high")
    assert not es.cluster.exists_component_template(name="adm-ct-low")


def test_legacy_templates_apply_when_no_composable_one_matches(es: Elasticsearch) -> None:
    es.indices.put_template(
        name="adm-legacy-low",
        index_patterns=["adm-legacy-*"],
        order=0,
        settings={"number_of_replicas": 0, "refresh_interval": "3s"},
        mappings={"properties": {"n": {"type": "long"}}},
    )
    es.indices.put_template(
        name="adm-legacy-high",
        index_patterns=["adm-legacy-*"],
        order=5,
        settings={"refresh_interval": "4s"},
    )
    got = es.indices.get_template(name="adm-legacy-low")["adm-legacy-low"]
    assert got["index_patterns"] == ["adm-legacy-*"] and got["order"] == 0
    es.indices.create(index="adm-legacy-1")
    index = es.indices.get(index="adm-legacy-1")["adm-legacy-1"]
    assert index["settings"]["index"]["refresh_interval"] == "4s"
    assert index["mappings"]["properties"]["n"]["type"] == "long"
    assert es.indices.exists_template(name="adm-legacy-high")
    es.indices.delete_template(name="adm-legacy-*")
    assert not es.indices.exists_template(name="adm-legacy-low")
    with pytest.raises(NotFoundError):
        es.indices.delete_template(name="adm-legacy-low")
    es.indices.delete(index="adm-legacy-1")


def test_settings_forms(es: Elasticsearch) -> None:
    es.indices.create(index="adm-set-1", settings={"number_of_shards": 2})
    es.indices.create(index="adm-set-2")
    only: Any = es.indices.get_settings(name="index.number_of_shards")
    assert only["adm-set-1"]["settings"] == {"index": {"number_of_shards": "2"}}
    flat = es.indices.get_settings(index="adm-set-*", name="index.number_of_*", flat_settings=True)
    assert flat["adm-set-2"]["settings"] == {
        "index.number_of_shards": "1",
        "index.number_of_replicas": "0",
    }
    # refresh_interval is not reported as set until it is; its default is under `defaults`.
    plain = es.indices.get_settings(index="adm-set-1", flat_settings=True)["adm-set-1"]
    assert "index.refresh_interval" not in plain["settings"]
    full = es.indices.get_settings(index="adm-set-1", include_defaults=True, flat_settings=True)
    assert full["adm-set-1"]["defaults"]["index.refresh_interval"] == "1s"

    es.indices.put_settings(index="adm-set-1", settings={"refresh_interval": "5s"})
    assert es.indices.get_settings(index="adm-set-1", name="index.refresh_interval")["adm-set-1"][
        "settings"
    ] == {"index": {"refresh_interval": "5s"}}
    es.indices.put_settings(index="adm-set-1", settings={"refresh_interval": None})
    again = es.indices.get_settings(index="adm-set-1", flat_settings=True)["adm-set-1"]
    assert "index.refresh_interval" not in again["settings"]

    with pytest.raises(BadRequestError) as caught:
        es.indices.put_settings(index="adm-set-1", settings={"index.codec": "best_compression"})
    assert caught.value.body["error"]["reason"].startswith(
        "Can't update non dynamic settings [[index.codec]] for open indices [[adm-set-1/"
    )
    es.indices.put_settings(
        index="adm-set-1,adm-missing", settings={"number_of_replicas": 0}, ignore_unavailable=True
    )
    es.indices.put_settings(
        index="adm-set-1",
        settings={"number_of_replicas": 1, "translog.durability": "async"},
        preserve_existing=True,
    )
    kept = es.indices.get_settings(index="adm-set-1", flat_settings=True)["adm-set-1"]["settings"]
    assert kept["index.number_of_replicas"] == "0"
    assert kept["index.translog.durability"] == "async"
    es.indices.delete(index="adm-set-1,adm-set-2")


def test_refresh_counts_the_shards_its_settings_declare(es: Elasticsearch) -> None:
    es.indices.create(index="adm-ref-1", settings={"number_of_shards": 3})
    answer = es.indices.refresh(index="adm-ref-1")
    assert answer["_shards"] == {"total": 3, "successful": 3, "failed": 0}
    assert es.indices.refresh(index="adm-nomatch-*")["_shards"]["total"] == 0
    es.indices.delete(index="adm-ref-1")


def test_write_blocks_stop_writes_until_lifted(es: Elasticsearch) -> None:
    es.indices.create(index="adm-block")
    es.indices.put_settings(index="adm-block", settings={"index.blocks.write": True})
    with pytest.raises(ApiError) as caught:
        es.index(index="adm-block", document={"message": "x"})
    assert _status(caught.value) == (403, "cluster_block_exception")
    assert "index [adm-block] blocked by: [FORBIDDEN/8/index write (api)];" in str(
        caught.value.body["error"]["reason"]
    )
    es.indices.put_settings(index="adm-block", settings={"index.blocks.write": None})
    es.indices.put_settings(index="adm-block", settings={"index.blocks.read_only": True})
    with pytest.raises(ApiError) as caught:  # settings are blocked too, but for the block
        es.indices.put_settings(index="adm-block", settings={"refresh_interval": "5s"})
    assert _status(caught.value) == (403, "cluster_block_exception")
    es.indices.put_settings(index="adm-block", settings={"index.blocks.read_only": False})
    es.index(index="adm-block", document={"message": "x"}, refresh=True)
    assert es.count(index="adm-block")["count"] == 1
    es.indices.delete(index="adm-block")


def test_refresh_with_an_empty_index_list_refreshes_every_index(server: Server) -> None:
    """`POST //_refresh`: what ES's own test runner sends for `index: []`."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    token = base64.b64encode(f"elastic:{PASSWORDS['elastic']}".encode()).decode()
    conn.request("POST", "//_refresh", headers={"Authorization": f"Basic {token}"})
    response = conn.getresponse()
    assert response.status == 200
    assert b'"_shards"' in response.read()
