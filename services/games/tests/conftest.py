"""Fixtures: the real PostgreSQL and RabbitMQ of the local runtime on ports offset by 15000
(never the standard ports), a real auth service as a uvicorn subprocess for tokens, the
games app in-process, and a test queue bound to `game.finished` on the `events` exchange."""

from __future__ import annotations

import itertools
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

OFFSET = 15000  # this suite's own offset: never the standard ports, never another suite's
AUTH_PORT = 8101 + OFFSET


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last saw {last!r}")


class Server:
    """A service as a real uvicorn process; the log goes to a file (a full pipe blocks it)."""

    def __init__(self, module: str, port: int, environ: dict[str, str], log: Path) -> None:
        self.module, self.port, self.environ, self.log = module, port, environ, log
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self, wait: bool = True) -> None:
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"{self.module}:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env={**os.environ, **self.environ},
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        if wait:
            self.wait()

    def wait(self) -> None:
        wait_for(self._up, f"{self.module} to serve /livez on {self.port}", timeout=30)

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"uvicorn exited:\n{self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.base}/livez", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from stack.paths import DataDir
    from stack.runtimes.local.runtime import LocalRuntime
    from stack.topology import build, offset_ports

    runtime = LocalRuntime(
        DataDir(tmp_path_factory.mktemp("stack")), build(environ=offset_ports(OFFSET))
    )
    runtime.up(only=["postgres", "rabbitmq"])
    yield runtime
    runtime.down(purge=True)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("keys")
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    (directory / "jwt_private_key").write_bytes(pem)
    (directory / "admin_token").write_text(secrets.token_urlsafe(24) + "\n")
    return {
        "JWT_PRIVATE_KEY_FILE": str(directory / "jwt_private_key"),
        "ADMIN_TOKEN_FILE": str(directory / "admin_token"),
    }


def _common(stack: Any, keys: dict[str, str], role: str) -> dict[str, str]:
    secrets_dir = stack.data.secrets
    pg, mq = stack.topology.get("postgres").port, stack.topology.get("rabbitmq").port
    return {
        "DATABASE_URL": f"postgresql+psycopg://{role}@127.0.0.1:{pg}/{role}",
        "DATABASE_PASSWORD_FILE": str(secrets_dir / f"db_{role}_password"),
        "RABBITMQ_URL": f"amqp://stack@127.0.0.1:{mq}/",
        "RABBITMQ_PASSWORD_FILE": str(secrets_dir / "rabbitmq_password"),
        "ADMIN_TOKEN_FILE": keys["ADMIN_TOKEN_FILE"],
    }


@pytest.fixture(scope="session")
def environ(stack: Any, keys: dict[str, str]) -> dict[str, str]:
    """The games service's environment."""
    return {
        **_common(stack, keys, "games"),
        "SERVICE_NAME": "games",
        "AUTH_URL": f"http://127.0.0.1:{AUTH_PORT}",
    }


@pytest.fixture(scope="session")
def auth(
    stack: Any, keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {**_common(stack, keys, "auth"), "JWT_PRIVATE_KEY_FILE": keys["JWT_PRIVATE_KEY_FILE"]}
    log = tmp_path_factory.mktemp("auth") / "auth.log"
    server = Server("auth_service.main", AUTH_PORT, env, log)
    server.start()
    yield server
    server.stop()


@dataclass
class Player:
    id: str
    token: str
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}


def register(auth: Server) -> Player:
    name = f"p{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.org", "password": "s3cret-pass"}
    r = httpx.post(f"{auth.base}/api/auth/register", json=body, timeout=10)
    assert r.status_code == 201, r.text
    login = {"username": name, "password": body["password"]}
    r = httpx.post(f"{auth.base}/api/auth/login", json=login, timeout=10)
    assert r.status_code == 200, r.text
    return Player(_sub(r.json()), r.json()["access_token"])


def _sub(tokens: dict[str, Any]) -> str:
    return str(jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"])


@pytest.fixture(scope="session")
def new_player(auth: Server) -> Callable[[], Player]:
    """A registered user with an access token, from a pool of 4 made once (argon2 is slow on
    purpose): up to four calls in a test give four different users."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        players = list(pool.map(lambda _: register(auth), range(4)))
    turn = itertools.cycle(players)
    return lambda: next(turn)


@pytest.fixture(scope="session")
def client(environ: dict[str, str], auth: Server, events: Any) -> Iterator[Any]:
    from chassis import load_settings
    from fastapi.testclient import TestClient
    from games_service.core.config import Settings
    from games_service.main import create_app

    with TestClient(create_app(load_settings(Settings, environ))) as test_client:
        yield test_client


def rabbit(stack: Any) -> Any:
    import pika

    password = (stack.data.secrets / "rabbitmq_password").read_text().strip()
    params = pika.ConnectionParameters(
        "127.0.0.1",
        stack.topology.get("rabbitmq").port,
        credentials=pika.PlainCredentials("stack", password),
        connection_attempts=1,
    )
    return pika.BlockingConnection(params)


class Events:
    """A durable test queue bound to `game.finished`; events are kept by game id."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.queue = f"test.games.finished.{uuid.uuid4().hex[:6]}"
        self.seen: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
        with rabbit(stack) as conn:
            channel = conn.channel()
            channel.exchange_declare("events", "topic", durable=True)
            channel.queue_declare(self.queue, durable=True)
            channel.queue_bind(self.queue, "events", routing_key="game.finished")

    def drain(self) -> None:
        try:
            conn = rabbit(self.stack)
        except Exception:
            return
        with conn:
            channel = conn.channel()
            while True:
                method, props, payload = channel.basic_get(self.queue, auto_ack=True)
                if method is None:
                    return
                event = json.loads(payload)
                self.seen.setdefault(event["data"]["game_id"], []).append((props, event))

    def of(self, game_id: str, timeout: float = 15) -> list[tuple[Any, dict[str, Any]]]:
        def arrived() -> list[tuple[Any, dict[str, Any]]]:
            self.drain()
            return self.seen.get(game_id, [])

        return list(wait_for(arrived, f"game.finished for {game_id}", timeout=timeout))


@pytest.fixture(scope="session")
def events(stack: Any) -> Events:
    return Events(stack)


@pytest.fixture(scope="session")
def new_game() -> Callable[[Any, Player, Player], dict[str, Any]]:
    """A two-player game created by `x` and joined by `o`, via `client`."""

    def make(client: Any, x: Player, o: Player) -> dict[str, Any]:
        r = client.post("/api/games", headers=x.headers)
        assert r.status_code == 201, r.text
        r = client.post(f"/api/games/{r.json()['id']}/join", headers=o.headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    return make


@pytest.fixture(scope="session")
def server_class() -> type[Server]:
    return Server
