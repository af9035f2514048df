"""Unit tests of the chassis: settings, health, metrics, request ids, faults, breaker, logs.

The app under test has fake health checks, so no database or broker is needed."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from chassis import (
    Breaker,
    CircuitOpenError,
    HealthCheck,
    ServiceSettings,
    SettingsError,
    create_service_app,
    load_settings,
)
from chassis.logs import DROPPED, EcsFormatter, TcpShipperHandler
from chassis.messaging import url_with_password
from fastapi import APIRouter
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import BaseModel

TOKEN = "a" * 32
SCRAPE_TOKEN = "m" * 32


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "db").write_text("dbpass\n")
    (tmp_path / "admin").write_text(TOKEN + "\n")
    (tmp_path / "scrape").write_text(SCRAPE_TOKEN + "\n")
    return {
        "SERVICE_NAME": "unit",
        "DATABASE_URL": "postgresql+psycopg://unit@127.0.0.1:1/unit",
        "DATABASE_PASSWORD_FILE": str(tmp_path / "db"),
        "ADMIN_TOKEN_FILE": str(tmp_path / "admin"),
        "METRICS_TOKEN_FILE": str(tmp_path / "scrape"),
    }


def test_settings_read_secret_files(environ: dict[str, str]) -> None:
    settings = load_settings(ServiceSettings, environ)
    assert settings.database_sqlalchemy_url.password == "dbpass"
    assert settings.admin_token == TOKEN
    assert settings.service_version


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DATABASE_URL": None}, "missing required environment variable DATABASE_URL"),
        ({"ADMIN_TOKEN_FILE": "/nope"}, "ADMIN_TOKEN_FILE=/nope: cannot read"),
        (
            {"DATABASE_URL": "postgresql://u:secret@h/db"},
            "DATABASE_URL='postgresql://u:secret@h/db': Value error, must not contain the password",
        ),
        ({"LOG_TCP_ADDRESS": "nohost"}, "LOG_TCP_ADDRESS='nohost': Value error, must be host:port"),
        ({"LOG_RELP_ADDRESS": ":2514"}, "LOG_RELP_ADDRESS=':2514': Value error, must be host:port"),
    ],
)
def test_settings_errors_name_the_variable(
    environ: dict[str, str], change: dict[str, str | None], message: str
) -> None:
    for key, value in change.items():
        if value is None:
            environ.pop(key)
        else:
            environ[key] = value
    with pytest.raises(SettingsError) as excinfo:
        load_settings(ServiceSettings, environ)
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_short_admin_token_is_unsafe(environ: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "admin").write_text("short")
    with pytest.raises(SettingsError, match=r"ADMIN_TOKEN_FILE=.*shorter than 16"):
        load_settings(ServiceSettings, environ)


class Item(BaseModel):
    name: str
    size: int


class Probe:
    def __init__(self) -> None:
        self.healthy = True

    async def __call__(self) -> None:
        if not self.healthy:
            raise ConnectionError("connection refused")


@pytest.fixture
def app_and_probes(environ: dict[str, str]) -> tuple[TestClient, Probe, Probe]:
    db, mq = Probe(), Probe()
    checks = [
        HealthCheck("postgres", "datastore", db),
        HealthCheck("rabbitmq", "component", mq, critical=False),
    ]
    app = create_service_app(
        load_settings(ServiceSettings, environ), title="unit", health_checks=checks
    )
    router = APIRouter()

    @router.get("/api/items/{item_id}")
    def get_item(item_id: int) -> Item:
        return Item(name=f"item{item_id}", size=item_id)

    @router.post("/api/items")
    def post_item(item: Item) -> Item:
        return item

    @router.get("/api/boom")
    def boom() -> Item:
        raise RuntimeError("boom")

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False), db, mq


def test_health_pass_warn_fail(app_and_probes: tuple[TestClient, Probe, Probe]) -> None:
    client, db, mq = app_and_probes
    r = client.get("/health")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/health+json"
    body = r.json()
    assert body["status"] == "pass" and body["serviceId"] == "unit" and body["version"]
    check = body["checks"]["postgres:responseTime"][0]
    assert check["componentId"] == "postgres" and check["observedUnit"] == "ms"
    assert {"observedValue", "time", "status", "componentType"} <= set(check)
    mq.healthy = False
    r = client.get("/health")
    assert (r.status_code, r.json()["status"]) == (200, "warn")
    db.healthy = False
    r = client.get("/health")
    assert (r.status_code, r.json()["status"]) == (503, "fail")
    failing = r.json()["checks"]["postgres:responseTime"][0]
    assert failing["status"] == "fail" and "connection refused" in failing["output"]
    assert client.get("/livez").status_code == 200


def test_json_errors(app_and_probes: tuple[TestClient, Probe, Probe]) -> None:
    client, _, _ = app_and_probes
    r = client.get("/no/such/route")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    json_type = {"content-type": "application/json"}
    r = client.post("/api/items", content=b'{"name": ', headers=json_type)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    r = client.post("/api/items", json={"name": "x", "size": "big"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "size"]
    r = client.get("/api/boom", headers={"X-Request-ID": "req-boom"})
    assert r.status_code == 500
    assert r.json() == {"detail": "internal server error", "request_id": "req-boom"}


def test_request_id_and_route_template_metrics(
    app_and_probes: tuple[TestClient, Probe, Probe], caplog: pytest.LogCaptureFixture
) -> None:
    client, _, _ = app_and_probes
    with caplog.at_level(logging.INFO, logger="chassis.access"):
        r = client.get("/api/items/41", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert any(getattr(rec, "http.route", None) == "/api/items/{item_id}" for rec in caplog.records)
    assert len(client.get("/api/items/1").headers["x-request-id"]) == 32
    with caplog.at_level(logging.INFO, logger="chassis.access"):
        caplog.clear()
        client.get("/api/boom")
    levels = {rec.levelname for rec in caplog.records if rec.msg == "%s %s %s"}
    assert levels == {"ERROR"}, f"a 5xx access line is an error, got {levels}"
    labels = {"service": "unit", "route": "/api/items/{item_id}", "method": "GET", "status": "200"}
    assert (REGISTRY.get_sample_value("http_requests_total", labels) or 0) >= 1
    text = client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}).text
    assert 'route="/api/items/{item_id}"' in text and "/api/items/41" not in text
    assert "http_request_duration_seconds_bucket" in text


def test_metrics_need_the_scrape_or_the_admin_token(
    app_and_probes: tuple[TestClient, Probe, Probe],
) -> None:
    client, _, _ = app_and_probes
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "b" * 32})
    assert wrong.status_code == 403
    basic = client.get("/metrics", headers={"Authorization": "Basic YWRtaW46eA=="})
    assert basic.status_code == 401
    for token in (SCRAPE_TOKEN, TOKEN):
        r = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and "http_requests_total" in r.text


def test_an_unreadable_scrape_token_stops_the_start(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="METRICS_TOKEN_FILE=/nope: cannot read"):
        load_settings(ServiceSettings, {**environ, "METRICS_TOKEN_FILE": "/nope"})


def test_ecs_line_carries_the_request_id() -> None:
    from chassis.context import request_id

    token = request_id.set("rid-1")
    try:
        record = logging.makeLogRecord({"msg": "hello %s", "args": ("x",), "levelname": "INFO"})
        doc = json.loads(EcsFormatter("svc", "1.0").format(record))
    finally:
        request_id.reset(token)
    assert doc["message"] == "hello x" and doc["http.request.id"] == "rid-1"
    assert doc["service.name"] == "svc" and doc["log.level"] == "info" and "@timestamp" in doc


def test_ecs_line_keeps_the_fields_and_shape_the_log_pipeline_reads() -> None:
    """Flat dotted keys with the types the shipper's rules, the index mappings and the alerts
    expect; an exception's type, message and whole traceback; extras as ECS fields."""
    try:
        try:
            raise KeyError("inner")
        except KeyError as cause:
            raise ValueError("boom") from cause
    except ValueError:
        record = logging.getLogger("unit").makeRecord(
            "unit", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info(),
            extra={"event.duration": 1500, "user.id": "u1", "color_message": "ansi", "_x": 1},
        )  # fmt: skip
    doc = json.loads(EcsFormatter("svc", "1.0").format(record))
    assert list(doc)[:3] == ["@timestamp", "log.level", "message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["@timestamp"])
    assert (doc["log.level"], doc["message"], doc["log.logger"]) == ("error", "failed x", "unit")
    assert (doc["service.name"], doc["service.version"], doc["ecs.version"]) == (
        "svc",
        "1.0",
        "8.11.0",
    )
    assert isinstance(doc["process.pid"], int) and doc["event.duration"] == 1500
    assert (doc["error.type"], doc["error.message"], doc["user.id"]) == ("ValueError", "boom", "u1")
    trace = doc["error.stack_trace"]
    assert trace.startswith("Traceback") and "KeyError: 'inner'" in trace
    assert trace.endswith("ValueError: boom\n")
    assert not [key for key, value in doc.items() if isinstance(value, dict)], "nested objects"
    left_out = {"color_message", "_x", "log.original", "process.name", "http.request.id"}
    assert not left_out & set(doc), "no request id outside a request"


def test_fault_flags(app_and_probes: tuple[TestClient, Probe, Probe]) -> None:
    client, _, _ = app_and_probes
    assert client.get("/admin/faults").status_code == 401
    assert client.put("/admin/faults", json={"error_rate": 1}).status_code == 401
    wrong = {"Authorization": "Bearer " + "b" * 32}
    assert client.put("/admin/faults", json={"error_rate": 1}, headers=wrong).status_code == 403
    admin = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/admin/faults", headers=admin).json() == {
        "error_rate": 0.0,
        "latency_ms": 0,
        "fail_health": False,
    }
    r = client.put("/admin/faults", json={"error_rate": 2}, headers=admin)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "error_rate"]
    flags = {"error_rate": 1.0, "latency_ms": 200, "fail_health": True}
    assert client.put("/admin/faults", json=flags, headers=admin).status_code == 200
    assert REGISTRY.get_sample_value("fault_flag", {"flag": "latency_ms"}) == 200
    started = time.perf_counter()
    r = client.get("/api/items/7")
    assert r.status_code == 500 and r.json() == {"detail": "injected fault: error_rate"}
    assert time.perf_counter() - started >= 0.2
    labels = {"service": "unit", "route": "/api/items/{item_id}", "method": "GET", "status": "500"}
    assert (REGISTRY.get_sample_value("http_requests_total", labels) or 0) >= 1
    assert client.get("/health").status_code == 503
    assert client.get("/livez").status_code == 200
    client.put("/admin/faults", json={}, headers=admin)
    assert client.get("/api/items/7").status_code == 200
    assert REGISTRY.get_sample_value("fault_flag", {"flag": "error_rate"}) == 0


def test_breaker_opens_and_exports_its_state() -> None:
    breaker = Breaker("unit-dep", fail_max=2, reset_timeout_s=60)

    async def failing() -> None:
        raise ConnectionError("down")

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises((ConnectionError, CircuitOpenError)):
                await breaker.call_async(failing)
        with pytest.raises(CircuitOpenError):
            async with breaker.guard():
                pass

    asyncio.run(scenario())
    assert breaker.state == "open"
    assert REGISTRY.get_sample_value("circuit_breaker_state", {"name": "unit-dep"}) == 2


def test_tcp_shipper_sends_lines_and_counts_drops() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = bytearray()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while b"\n" not in received:
                received.extend(conn.recv(4096))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    handler = TcpShipperHandler("127.0.0.1", port)
    handler.setFormatter(EcsFormatter("svc", "1"))
    handler.emit(logging.makeLogRecord({"msg": "shipped"}))
    thread.join(timeout=5)
    handler.close()
    server.close()
    assert json.loads(received.decode().splitlines()[0])["message"] == "shipped"

    before = DROPPED.labels(reason="queue_full")._value.get()
    stuck = TcpShipperHandler("127.0.0.1", 1, capacity=1)  # nothing listens on port 1
    stuck.setFormatter(EcsFormatter("svc", "1"))
    started = time.perf_counter()
    for _ in range(50):
        stuck.emit(logging.makeLogRecord({"msg": "x"}))
    assert time.perf_counter() - started < 0.5  # never blocks the caller
    assert DROPPED.labels(reason="queue_full")._value.get() - before >= 45
    stuck.close()


def test_rabbitmq_url_gets_the_password_quoted() -> None:
    url = url_with_password("amqp://stack@127.0.0.1:5672/", "p@ss/word")
    assert url == "amqp://stack:p%40ss%2Fword@127.0.0.1:5672/"
