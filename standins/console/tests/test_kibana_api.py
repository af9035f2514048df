"""The Kibana side: status, saved objects (find, get, import), internal/search/es."""

from __future__ import annotations

import json

import httpx
from console.testing import Console

NEW_OBJECT = {"type": "visualization", "id": "console-test-vis",
              "attributes": {"title": "Console test vis", "visState": "{}"}, "references": []}


def test_status(kibana_admin: httpx.Client) -> None:
    status = kibana_admin.get("/api/status").json()
    assert status["status"]["overall"]["level"] == "available"
    assert status["version"]["number"].startswith("8.")


def test_find_and_get(kibana_admin: httpx.Client) -> None:
    found = kibana_admin.get("/api/saved_objects/_find",
                             params=[("type", "dashboard"), ("type", "search")]).json()
    assert {(o["type"], o["id"]) for o in found["saved_objects"]} == {
        ("dashboard", "logs-overview"), ("search", "logs-errors")}
    assert found["total"] == 2 and found["page"] == 1
    paged = kibana_admin.get("/api/saved_objects/_find",
                             params={"type": "visualization", "per_page": 2, "page": 2}).json()
    assert paged["total"] == 5 and len(paged["saved_objects"]) == 2
    search = kibana_admin.get("/api/saved_objects/_find",
                              params={"type": "visualization", "search": "error*"}).json()
    assert {o["id"] for o in search["saved_objects"]} == {"logs-error-rate", "logs-top-errors"}
    one = kibana_admin.get("/api/saved_objects/dashboard/logs-overview").json()
    assert one["attributes"]["panelsJSON"]
    missing = kibana_admin.get("/api/saved_objects/dashboard/nope")
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "error": "Not Found",
                              "message": "Saved object [dashboard/nope] not found"}


def test_import_round_trip(console: Console, kibana_admin: httpx.Client) -> None:
    ndjson = json.dumps(NEW_OBJECT) + "\n" + json.dumps({"exportedCount": 1}) + "\n"
    no_xsrf = httpx.post(console.kibana + "/api/saved_objects/_import",
                         auth=kibana_admin.auth, files={"file": ("e.ndjson", ndjson.encode())})
    assert no_xsrf.status_code == 400
    first = kibana_admin.post("/api/saved_objects/_import?overwrite=true",
                              files={"file": ("export.ndjson", ndjson.encode())})
    assert first.status_code == 200, first.text
    assert first.json()["success"] is True and first.json()["successCount"] == 1
    assert first.json()["successResults"][0]["id"] == "console-test-vis"
    got = kibana_admin.get("/api/saved_objects/visualization/console-test-vis").json()
    assert got["attributes"]["title"] == "Console test vis"
    found = kibana_admin.get("/api/saved_objects/_find",
                             params={"type": "visualization", "search": "console"}).json()
    assert [o["id"] for o in found["saved_objects"]] == ["console-test-vis"]
    conflict = kibana_admin.post("/api/saved_objects/_import",
                                 files={"file": ("export.ndjson", ndjson.encode())}).json()
    assert conflict["success"] is False
    assert conflict["errors"][0]["error"] == {"type": "conflict"}
    stored = (console.data / "saved-objects.ndjson").read_text()
    assert json.loads(stored.splitlines()[0])["id"] == "console-test-vis"
    bad = kibana_admin.post("/api/saved_objects/_import",
                            files={"file": ("x.ndjson", b'{"type": "x"}\n')})
    assert bad.status_code == 400 and "`id`" in bad.json()["message"]


def test_internal_search_es(kibana_admin: httpx.Client) -> None:
    body = {"params": {"index": "logs-*", "body": {
        "size": 2, "query": {"query_string": {"query": "tags:error"}},
        "sort": [{"@timestamp": "desc"}]}}}
    answer = kibana_admin.post("/internal/search/es", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["isPartial"], result["isRunning"]) == (False, False)
    raw = result["rawResponse"]
    assert raw["hits"]["total"]["value"] == 4
    assert len(raw["hits"]["hits"]) == 2
    error = kibana_admin.post("/internal/search/es", json={"params": {
        "index": "logs-*", "body": {"query": {"no_such_query": {}}}}})
    assert error.status_code == 400
    assert error.json()["error"]["type"]
    assert error.json()["statusCode"] == 400
    # console_reader reads logs-* only
    denied = kibana_admin.post("/internal/search/es",
                               json={"params": {"index": ".security", "body": {}}})
    assert denied.status_code in (403, 404), denied.text
