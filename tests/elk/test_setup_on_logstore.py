"""The setup requests of stack/elastic_setup.py, sent by the real setup script to a real
logstore process: the policy, repository and template bodies are runtime-neutral, so the local
runtime can send the same ones (security=False: logstore issues its users itself, from the
secrets directory). Then the users are tried the way the shipper and the reader use the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from logstore.testing import PASSWORDS, Server, make_server

from stack import elastic_setup
from stack.retention import retention
from tests.elk.setup_script import start_setup, stop_setup

pytestmark = pytest.mark.integration

INDEX = "logs-app-2026.11.28"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """logstore after the setup script has run against it."""
    tmp = tmp_path_factory.mktemp("elk-setup")
    (tmp / "snapshots").mkdir()
    server = make_server(tmp, "--snapshot-allow", str(tmp / "snapshots"))
    try:
        requests = tmp / "setup-requests.txt"
        location = str(tmp / "snapshots" / retention().logs.archive.repository)
        lines = elastic_setup.setup_requests(
            retention().logs, repository_location=location, security=False
        )
        requests.write_text("".join(r.line() + "\n" for r in lines))
        proc = start_setup(
            server.url,
            secrets_dir=server.secrets,  # logstore reads <user>_password: our secret names
            requests_file=requests,
            snapshots_dir=tmp / "unused",
            ready_file=tmp / "ready",
        )
        deadline = time.monotonic() + 20
        while not (tmp / "ready").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        err = stop_setup(proc)
        assert (tmp / "ready").exists(), f"setup failed on logstore: {err}"
        yield server
    finally:
        server.stop()


def as_user(store: Server, user: str) -> httpx.Client:
    return httpx.Client(base_url=store.url, auth=(user, PASSWORDS[user]), timeout=10)


def bulk_create(client: httpx.Client, doc_id: str) -> int:
    doc = {"@timestamp": "2026-11-28T12:00:00Z", "message": "hello", "event": {"id": doc_id}}
    lines = [{"create": {"_index": INDEX, "_id": doc_id}}, doc]
    response = client.post(
        "/_bulk",
        content="".join(json.dumps(line) + "\n" for line in lines),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    return int(response.json()["items"][0]["create"]["status"])


def test_the_policies_come_from_retention_yaml(store: Server) -> None:
    elastic = as_user(store, "elastic")
    logs = retention().logs
    policy = elastic.get(f"/_ilm/policy/{logs.ilm_policy}").json()[logs.ilm_policy]
    assert policy["policy"]["phases"]["delete"]["min_age"] == logs.hot
    slm = elastic.get(f"/_slm/policy/{elastic_setup.ARCHIVE_POLICY}").json()
    assert slm[elastic_setup.ARCHIVE_POLICY]["policy"]["repository"] == logs.archive.repository
    names = {t["name"] for t in elastic.get("/_index_template").json()["index_templates"]}
    assert {f"logs-{d}" for d in elastic_setup.DATASETS} <= names


def test_the_shipper_creates_once_and_the_reader_only_reads(store: Server) -> None:
    writer, reader = as_user(store, "logstash_internal"), as_user(store, "logs_reader")
    assert bulk_create(writer, "event-1") == 201
    assert bulk_create(writer, "event-1") == 409, "a replayed event must not be stored twice"
    settings = as_user(store, "elastic").get(f"/{INDEX}/_settings").json()
    lifecycle = settings[INDEX]["settings"]["index"]["lifecycle"]["name"]
    assert lifecycle == retention().logs.ilm_policy, "the template bound the index to the policy"
    assert as_user(store, "elastic").post(f"/{INDEX}/_refresh").status_code == 200
    found = reader.post(f"/{INDEX}/_search", json={"query": {"term": {"event.id": "event-1"}}})
    assert found.status_code == 200, found.text
    hits = found.json()["hits"]["total"]
    assert (hits["value"] if isinstance(hits, dict) else hits) == 1, found.text
    assert bulk_create(reader, "event-2") == 403, "the reader must not write"


def test_the_shipper_cannot_delete_an_index(store: Server) -> None:
    writer = as_user(store, "logstash_internal")
    assert bulk_create(writer, "event-3") in (201, 409)
    assert writer.delete(f"/{INDEX}").status_code == 403
