"""What ElastAlert2 (elasticsearch-py 7.10.1) needs of the store beyond the 8.x conformance:
`PUT /<index>/_mapping` right after creating its writeback indices, `!` as NOT in its
query_string, plain `application/json` with `rest_total_hits_as_int`, and its own user."""

from __future__ import annotations

import uuid

import httpx
import pytest
from logstore.testing import PASSWORDS, Server

pytestmark = pytest.mark.integration

# elastalert2 2.19.0's es_mappings/8/elastalert.json, as create_index.py sends it.
WRITEBACK_MAPPING = {
    "numeric_detection": True,
    "date_detection": False,
    "dynamic_templates": [
        {
            "strings_as_keyword": {
                "mapping": {"ignore_above": 1024, "type": "keyword"},
                "match_mapping_type": "string",
            }
        }
    ],
    "properties": {
        "rule_name": {"type": "keyword"},
        "@timestamp": {"type": "date", "format": "date_optional_time"},
        "alert_time": {"type": "date", "format": "date_optional_time"},
        "match_time": {"type": "date", "format": "date_optional_time"},
        "match_body": {"enabled": "false", "type": "object"},
        "aggregate_id": {"type": "keyword"},
    },
}


def _as(server: Server, user: str) -> httpx.Client:
    # Plain JSON, no compatibility header: what the 7.10 client sends.
    return httpx.Client(
        base_url=server.url,
        auth=(user, PASSWORDS[user]),
        headers={"content-type": "application/json"},
        timeout=10,
    )


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_put_mapping_on_a_new_index_types_its_fields(server: Server) -> None:
    ea, index = _as(server, "elastalert"), _name("elastalert")
    assert ea.put(f"/{index}").status_code == 200
    put = ea.put(f"/{index}/_mapping", json=WRITEBACK_MAPPING)
    assert put.status_code == 200 and put.json() == {"acknowledged": True}, put.text
    props = ea.get(f"/{index}/_mapping").json()[index]["mappings"]["properties"]
    assert props["alert_time"]["type"] == "date" and props["rule_name"]["type"] == "keyword"
    # What ElastAlert asks at every run: pending alerts, by time, with `!` for NOT.
    doc = {"rule_name": "R", "alert_time": "2026-12-04T10:00:00Z", "alert_sent": False}
    assert ea.post(f"/{index}/_doc?refresh=true", json=doc).status_code == 201
    sent = {**doc, "alert_sent": True, "aggregate_id": "x"}
    assert ea.post(f"/{index}/_doc?refresh=true", json=sent).status_code == 201
    query = {
        "query": {
            "bool": {
                "must": {"query_string": {"query": "!_exists_:aggregate_id AND alert_sent:false"}},
                "filter": {"range": {"alert_time": {"from": "2026-12-04T09:00:00Z"}}},
            }
        }
    }
    found = ea.post(f"/{index}/_search?rest_total_hits_as_int=true", json=query)
    assert found.status_code == 200, found.text
    assert found.json()["hits"]["total"] == 1, f"expected only the unsent alert, got {found.text}"


def test_put_mapping_refuses_new_typed_fields_once_the_index_holds_documents(
    server: Server,
) -> None:
    elastic, index = _as(server, "elastic"), _name("mapped")
    assert elastic.post(f"/{index}/_doc?refresh=true", json={"a": 1}).status_code == 201
    put = elastic.put(f"/{index}/_mapping", json={"properties": {"when": {"type": "date"}}})
    assert put.status_code == 400, put.text
    assert "['when']" in put.json()["error"]["reason"], put.text
    # A field it already types, with the same type, is fine.
    same = elastic.put(
        f"/{index}/_mapping", json={"properties": {"log.level": {"type": "keyword"}}}
    )
    assert same.status_code == 200, same.text


def test_put_mapping_refuses_a_changed_type(server: Server) -> None:
    elastic, index = _as(server, "elastic"), _name("retyped")
    assert elastic.put(f"/{index}").status_code == 200
    put = elastic.put(
        f"/{index}/_mapping",
        json={"properties": {"log": {"properties": {"level": {"type": "long"}}}}},
    )
    assert put.status_code == 400, put.text
    assert "cannot be changed from type [keyword] to [long]" in put.text


def test_the_elastalert_user_reads_logs_and_owns_only_its_indices(server: Server) -> None:
    ea, elastic = _as(server, "elastalert"), _as(server, "elastic")
    logs = _name("logs-app")
    assert elastic.post(f"/{logs}/_doc?refresh=true", json={"message": "x"}).status_code == 201
    assert ea.post(f"/{logs}/_search", json={}).status_code == 200
    assert ea.post(f"/{logs}/_doc", json={"message": "y"}).status_code == 403
    assert ea.put(f"/{_name('other')}").status_code == 403
