"""Integration: the outbox while RabbitMQ is down, /health while PostgreSQL is down, the
service as a real uvicorn process, and schemathesis against its OpenAPI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration
PORT = 8101 + 13000


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last saw {last!r}")


def checks_of(client: Any) -> tuple[int, dict[str, str]]:
    r = client.get("/health")
    body = r.json()
    return r.status_code, {k.split(":")[0]: v[0]["status"] for k, v in body["checks"].items()}


def _rabbit(stack: Any) -> Any:
    import pika

    password = (stack.data.secrets / "rabbitmq_password").read_text().strip()
    params = pika.ConnectionParameters(
        "127.0.0.1", stack.topology.get("rabbitmq").port,
        credentials=pika.PlainCredentials("stack", password), connection_attempts=1,
    )
    return pika.BlockingConnection(params)


def test_event_written_while_rabbitmq_is_down_is_delivered_later(client: Any, stack: Any) -> None:
    queue = f"test.registered.{uuid.uuid4().hex[:6]}"
    with _rabbit(stack) as conn:
        channel = conn.channel()
        channel.queue_declare(queue, durable=True)
        channel.queue_bind(queue, "events", routing_key="user.registered")
    stack.stop("rabbitmq")
    try:
        wait_for(lambda: checks_of(client) == (200, {"postgres": "pass", "rabbitmq": "warn"}),
                 "health to warn about rabbitmq")
        name = f"offline{uuid.uuid4().hex[:6]}"
        body = {"username": name, "email": f"{name}@example.org", "password": "s3cret-pass"}
        r = client.post("/api/auth/register", json=body)
        assert r.status_code == 201, "auth keeps working while RabbitMQ is down"
        user_id = r.json()["id"]
        assert client.get("/livez").status_code == 200
    finally:
        stack.start("rabbitmq")

    def delivered() -> dict[str, Any] | None:
        with _rabbit(stack) as conn:
            channel = conn.channel()
            while True:
                method, props, payload = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    return None
                event = json.loads(payload)
                if event["data"]["user_id"] == user_id:
                    assert props.message_id == event["event_id"]
                    return dict(event)

    event = wait_for(delivered, "the outbox to deliver user.registered", timeout=40)
    assert event["type"] == "user.registered" and event["data"]["username"] == name
    assert {"event_id", "occurred_at"} <= set(event)


def test_health_fails_naming_postgres_and_livez_stays_up(client: Any, stack: Any) -> None:
    stack.stop("postgres")
    try:
        _, checks = wait_for(lambda: (r := checks_of(client))[0] == 503 and r, "health to fail")
        assert checks["postgres"] == "fail"
        body = client.get("/health").json()
        assert body["status"] == "fail" and body["serviceId"] == "auth"
        assert "output" in body["checks"]["postgres:responseTime"][0]
        assert client.get("/livez").status_code == 200
    finally:
        stack.start("postgres")
    wait_for(lambda: checks_of(client)[0] == 200, "health to pass again", timeout=10)


def _run(environ: dict[str, str], log: Path) -> subprocess.Popen[str]:
    # The log goes to a file: an unread pipe fills up and blocks the server.
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "auth_service.main:app",
             "--host", "127.0.0.1", "--port", str(PORT)],
            env={**os.environ, **environ}, stdout=out, stderr=subprocess.STDOUT, text=True,
        )


def test_refuses_to_start_naming_the_variable(environ: dict[str, str]) -> None:
    bad = {k: v for k, v in environ.items() if k != "DATABASE_URL"}
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "auth_service.main:app", "--port", str(PORT)],
        env={**env, **bad}, capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "missing required environment variable DATABASE_URL"
    )


@pytest.fixture(scope="module")
def server(environ: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("uvicorn") / "auth.log"
    proc = _run(environ, log)
    base = f"http://127.0.0.1:{PORT}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"uvicorn exited:\n{log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{base}/livez", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, "uvicorn to serve /livez", timeout=20)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_schemathesis_finds_no_server_error(server: str, tmp_path: Any) -> None:
    st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    result = subprocess.run(
        [st, "run", f"{server}/openapi.json", "--checks",
         "not_a_server_error,status_code_conformance,response_schema_conformance,"
         "content_type_conformance", "--max-examples", "10", "--seed", "1",
         "--phases", "examples,fuzzing", "--request-timeout", "5"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:]
