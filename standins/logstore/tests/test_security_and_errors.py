"""Security, ES-shaped errors on bad input, content types, and start-up refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import (
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    NotFoundError,
)
from logstore.testing import PASSWORDS, Server


def _shape(body: dict[str, Any]) -> None:
    assert set(body) == {"error", "status"}
    assert body["error"]["root_cause"] and "type" in body["error"] and "reason" in body["error"]


def test_no_credentials_401(server: Server) -> None:
    for path in ("/", "/_cluster/health", "/metrics", "/logs-x/_search"):
        resp = httpx.get(server.url + path)
        assert resp.status_code == 401, path
        assert resp.headers["www-authenticate"] == 'Basic realm="security" charset="UTF-8"'
        assert resp.headers["x-elastic-product"] == "Elasticsearch"
        _shape(resp.json())
    with pytest.raises(AuthenticationException):
        Elasticsearch(server.url, basic_auth=("elastic", "wrong")).info()


def test_roles(server: Server) -> None:
    writer, reader = server.client("logstash_internal"), server.client("logs_reader")
    writer.index(index="logs-sec-2024.01.01", document={"message": "hi"}, refresh=True)
    assert reader.count(index="logs-sec-*")["count"] == 1
    with pytest.raises(AuthorizationException) as exc:
        reader.index(index="logs-sec-2024.01.01", document={"message": "no"})
    assert exc.value.body["error"]["type"] == "security_exception"
    denied = writer.bulk(operations=[{"index": {"_index": "other-index"}}, {"a": 1}])
    assert denied["items"][0]["index"]["status"] == 403
    with pytest.raises(AuthorizationException):
        server.client("kibana_system").indices.delete(index="logs-sec-2024.01.01")
    me = server.client("kibana_system").security.authenticate()
    assert me["username"] == "kibana_system"


def test_security_api(es: Elasticsearch, server: Server) -> None:
    es.security.put_role(
        name="ops_reader",
        cluster=["monitor"],
        indices=[{"names": ["logs-*"], "privileges": ["read"]}],
    )
    es.security.put_user(username="ops", password="ops-password-1", roles=["ops_reader"])
    ops = Elasticsearch(server.url, basic_auth=("ops", "ops-password-1"))
    assert ops.security.authenticate()["roles"] == ["ops_reader"]
    assert "ops" in es.security.get_user(username="ops")
    assert "ops_reader" in es.security.get_role(name="ops_reader")
    with pytest.raises(BadRequestError):
        es.security.change_password(username="kibana_system", password="not-the-file-one")
    es.security.change_password(username="kibana_system", password=PASSWORDS["kibana_system"])


def test_bad_input(es: Elasticsearch, server: Server) -> None:
    auth = ("elastic", PASSWORDS["elastic"])
    with pytest.raises(NotFoundError) as nf:
        es.search(index="does-not-exist")
    assert nf.value.body["error"]["type"] == "index_not_found_exception"
    assert es.search(index="nothing-*")["hits"]["total"]["value"] == 0
    with pytest.raises(BadRequestError) as unknown:
        es.search(index="logs-*", query={"fuzzy_wuzzy": {"a": 1}})
    assert unknown.value.body["error"]["type"] == "parsing_exception"
    with pytest.raises(BadRequestError):
        es.search(index="logs-*", aggs={"x": {"geo_hash": {"field": "a"}}})
    with pytest.raises(BadRequestError):
        es.search(index="logs-*", query={"query_string": {"query": "a AND (b"}})
    typed = es.bulk(
        operations=[
            {"index": {"_index": "logs-bad-2024.01.01"}},
            {"http": {"response": {"status_code": "abc"}}},
            {"index": {"_index": "logs-bad-2024.01.01"}},
            {"message": "fine"},
        ]
    )
    assert (
        typed["errors"]
        and typed["items"][0]["index"]["status"] == 400
        and typed["items"][1]["index"]["status"] == 201
    )
    action = b'{"index":{"_index":"logs-bad-2024.01.01"}}\n'
    raw = action + b"{broken json\n" + action + b'{"ok":1}\n'
    resp = httpx.post(
        server.url + "/_bulk",
        content=raw,
        auth=auth,
        headers={"content-type": "application/x-ndjson"},
    )
    items = resp.json()["items"]
    assert [next(iter(i.values()))["status"] for i in items] == [400, 201]
    huge = httpx.post(
        server.url + "/logs-bad-2024.01.01/_doc",
        content=b'{"m":"' + b"x" * 3_000_000 + b'"}',
        auth=auth,
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    _shape(huge.json())
    plain = httpx.post(
        server.url + "/_bulk", content=b"", auth=auth, headers={"content-type": "text/csv"}
    )
    assert plain.status_code == 406


def test_es7_style_client_headers(server: Server) -> None:
    """ElastAlert2's 7.10 client sends plain application/json and wants integer totals."""
    auth = ("elastic", PASSWORDS["elastic"])
    httpx.post(
        server.url + "/logs-seven-2024.01.01/_doc?refresh=true", json={"message": "x"}, auth=auth
    )
    resp = httpx.post(
        server.url + "/logs-seven-*/_search?rest_total_hits_as_int=true", json={}, auth=auth
    )
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["hits"]["total"] == 1
    cat = httpx.get(server.url + "/_cat/health", auth=auth)
    assert cat.status_code == 200 and "green" in cat.text
    metrics = httpx.get(server.url + "/metrics", auth=auth)
    assert "logstore_docs_indexed_total" in metrics.text


def test_missing_password_file_refuses_to_start(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "logstore",
            "--data",
            str(tmp_path / "d"),
            "--secrets-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and "elastic_password" in line and "create it" in line
