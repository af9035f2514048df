"""Fixtures: a real logstore holding known log documents, a fake Prometheus, and a console
process on free ports reading the stack's own provisioning files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from console.testing import ADMIN, SECRETS, VIEWER, Console, FakePrometheus, start_console
from logstore.testing import PASSWORDS, Server, make_server

LOG_INDEX = "logs-console-test"
MAPPING = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event": {"properties": {"dataset": {"type": "keyword"}, "duration": {"type": "long"}}},
        "url": {"properties": {"path": {"type": "keyword"}}},
        "http": {"properties": {"request": {"properties": {"method": {"type": "keyword"}}}}},
        "user": {"properties": {"id": {"type": "keyword"}}},
        "tags": {"type": "keyword"},
        "message": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
    }
}

os.environ.setdefault("NO_PROXY", "127.0.0.1")


def log_documents(now: datetime) -> list[dict[str, object]]:
    """6 access lines (3 login POSTs by u1..u3; durations 100..600) and 4 error lines
    (3 "boom one", 1 "boom two"), all within the last 10 minutes."""
    base = now.replace(second=0, microsecond=0) - timedelta(minutes=5)

    def stamp(seconds: int) -> str:
        return (base + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    docs: list[dict[str, object]] = []
    for i in range(6):
        docs.append({
            "@timestamp": stamp(5 * i),
            "event": {"dataset": "access", "duration": 100 * (i + 1)},
            "url": {"path": "/api/auth/login" if i < 3 else "/api/games"},
            "http": {"request": {"method": "POST" if i < 3 else "GET"}},
            "user": {"id": f"u{i % 3 + 1}"},
            "message": f"request {i}",
        })
    for i in range(4):
        docs.append({
            "@timestamp": stamp(40 + i),
            "event": {"dataset": "app"},
            "tags": ["error"],
            "message": "boom one" if i < 3 else "boom two",
        })
    return docs


@pytest.fixture(scope="session")
def logstore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = make_server(tmp_path_factory.mktemp("logstore"))
    with httpx.Client(base_url=server.url, auth=("elastic", PASSWORDS["elastic"]),
                      timeout=30) as es:
        # console_reader is a built-in user of logstore: the console must log in with the
        # password make_server gave it.
        assert PASSWORDS["console_reader"] == SECRETS["console_reader_password"]
        es.get("/_security/_authenticate", auth=("console_reader", PASSWORDS["console_reader"])
               ).raise_for_status()
        es.put(f"/{LOG_INDEX}", json={"mappings": MAPPING}).raise_for_status()
        lines = []
        for doc in log_documents(datetime.now(UTC)):
            lines += ['{"create": {}}', json.dumps(doc)]
        response = es.post(f"/{LOG_INDEX}/_bulk?refresh=true", content="\n".join(lines) + "\n",
                           headers={"Content-Type": "application/x-ndjson"})
        response.raise_for_status()
        assert not response.json()["errors"], response.text
    yield server
    if server.proc is not None:
        server.stop()


@pytest.fixture(scope="session")
def prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus(SECRETS["console_prometheus_password"])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory, logstore: Server,
            prometheus: FakePrometheus) -> Iterator[Console]:
    proc = start_console(tmp_path_factory.mktemp("console"), prometheus_url=prometheus.url,
                         logstore_url=logstore.url)
    yield proc
    proc.stop()


@pytest.fixture()
def admin(console: Console) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.grafana, auth=ADMIN, timeout=30) as client:
        yield client


@pytest.fixture()
def viewer(console: Console) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.grafana, auth=VIEWER, timeout=30) as client:
        yield client


@pytest.fixture()
def kibana_admin(console: Console) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.kibana, auth=ADMIN, timeout=30,
                      headers={"kbn-xsrf": "true"}) as client:
        yield client
