"""Elasticsearch APIs logstore does not serve answer a 400 that names them, never a served
route's answer for a look-alike path (`GET /_stats` is not an index named `_stats`)."""

from __future__ import annotations

import httpx
import pytest
from logstore.testing import PASSWORDS, Server


@pytest.mark.parametrize(
    ("method", "path", "named"),
    [
        ("GET", "/_stats", "_stats"),
        ("GET", "/logs-x/_stats/docs", "_stats"),
        ("POST", "/_reindex", "_reindex"),
        ("PUT", "/_ingest/pipeline/p1", "_ingest"),
        ("POST", "/logs-x/_update_by_query", "_update_by_query"),
        ("GET", "/_cluster/state", "_cluster/state"),
        ("POST", "/logs-x/_rollover", "_rollover"),
    ],
)
def test_an_unserved_api_is_refused_by_name(
    server: Server, method: str, path: str, named: str
) -> None:
    answer = httpx.request(
        method, server.url + path, auth=("elastic", PASSWORDS["elastic"]), json={}, timeout=10
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "illegal_argument_exception"
    assert named in error["reason"] and "not supported by logstore" in error["reason"]


def test_a_served_look_alike_still_answers(server: Server) -> None:
    auth = ("elastic", PASSWORDS["elastic"])
    assert httpx.get(server.url + "/_cluster/health", auth=auth, timeout=10).status_code == 200
    assert httpx.get(server.url + "/_cluster/settings", auth=auth, timeout=10).status_code == 200
