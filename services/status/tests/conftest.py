"""Fixtures: a real PostgreSQL from the local runtime on ports offset by 20000 (never the
standard ports), fake components to probe (HTTP servers whose answer a test flips, and one
that never answers), and the status app in-process with a fast polling policy."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack import service_policy

OFFSET = 20000  # this suite's own offset


class FakeComponent:
    """An HTTP /health on a free port whose status code a test sets (0: refuse connections)."""

    def __init__(self) -> None:
        self.code = 200
        self.body = b'{"status":"pass"}'
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(fake.code)
                self.send_header("Content-Type", "application/health+json")
                self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                self.wfile.write(fake.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeAlertmanager:
    def __init__(self) -> None:
        self.code = 200
        self.body: Any = []
        self.seen: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.seen.append({"path": self.path, **dict(self.headers)})
                data = json.dumps(fake.body).encode()
                self.send_response(fake.code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def fake_alertmanager() -> Iterator[FakeAlertmanager]:
    """A stand-in Alertmanager: every GET answers `code` with `body` as JSON."""
    made = FakeAlertmanager()
    yield made
    made.server.shutdown()
    made.server.server_close()


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """PostgreSQL at this suite's offset, or at the module's own `OFFSET` if it sets one."""
    from stack.paths import DataDir
    from stack.runtimes.local.runtime import LocalRuntime
    from stack.topology import build, offset_ports

    offset = getattr(request.module, "OFFSET", OFFSET)
    runtime = LocalRuntime(
        DataDir(tmp_path_factory.mktemp("stack")), build(environ=offset_ports(offset))
    )
    runtime.up(only=["postgres"])
    yield runtime
    runtime.down(purge=True)


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeComponent]]:
    made = {name: FakeComponent() for name in ("alpha", "beta-1", "beta-2")}
    yield made
    for fake in made.values():
        fake.close()


@pytest.fixture(scope="module")
def hung() -> Iterator[int]:
    """A port that accepts connections and never answers: a probe that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture(scope="module")
def targets_file(
    tmp_path_factory: pytest.TempPathFactory, fakes: dict[str, FakeComponent], hung: int
) -> Path:
    components: dict[str, Any] = {
        "alpha": {"role": "a service", "probe": {"kind": "http", "url": fakes["alpha"].url}},
        "beta-1": {
            "role": "replicas",
            "replica_of": "beta",
            "probe": {"kind": "http", "url": fakes["beta-1"].url},
        },
        "beta-2": {
            "role": "replicas",
            "replica_of": "beta",
            "probe": {"kind": "http", "url": fakes["beta-2"].url},
        },
        "stuck": {
            "role": "never answers",
            "probe": {"kind": "http", "url": f"http://127.0.0.1:{hung}/health"},
        },
        "status": {"role": "this page", "probe": {"kind": "http", "url": "http://x/health"}},
    }
    path = tmp_path_factory.mktemp("targets") / "target.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "components": components}))
    return path


@pytest.fixture(scope="module")
def environ(
    stack: Any, targets_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    token = tmp_path_factory.mktemp("token") / "admin_token"
    token.write_text(secrets.token_urlsafe(24))
    policy = token.parent / "policy.yaml"  # as the launcher renders it
    policy.write_text(service_policy.policy_text("status", runtime="local"))
    port = stack.topology.get("postgres").port
    return {
        "DATABASE_URL": f"postgresql+psycopg://status@127.0.0.1:{port}/status",
        "DATABASE_PASSWORD_FILE": str(stack.data.secrets / "db_status_password"),
        "ADMIN_TOKEN_FILE": str(token),
        "TARGETS_FILE": str(targets_file),
        "POLICY_FILE": str(policy),
        "POLL_INTERVAL_S": "0.3",
        "PROBE_TIMEOUT_S": "0.5",
        "STARTUP_GRACE_S": "0",
    }


@pytest.fixture(scope="module")
def make_client(environ: dict[str, str]) -> Callable[..., Any]:
    """A TestClient over a freshly built app (a "restart" is a new client on the same DB)."""
    from chassis import load_settings
    from fastapi.testclient import TestClient
    from status_service.core.config import Settings
    from status_service.main import create_app

    def make(**extra: str) -> Any:
        return TestClient(create_app(load_settings(Settings, {**environ, **extra})))

    return make


@pytest.fixture(scope="module")
def client(make_client: Callable[..., Any]) -> Iterator[Any]:
    with make_client() as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(environ: dict[str, str]) -> dict[str, str]:
    token = Path(environ["ADMIN_TOKEN_FILE"]).read_text().strip()
    return {"Authorization": f"Bearer {token}"}
