"""Fixtures: the local runtime's real PostgreSQL and RabbitMQ on ports offset by 14000, a real
auth service (uvicorn subprocess, database `auth`), and the users app in-process."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from .helpers import OFFSET, Server, rabbit, wait_for

AUTH_PORT = 8101 + OFFSET
USERS_PORT = 8201 + OFFSET


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("keys")
    key = Ed25519PrivateKey.generate()
    (directory / "jwt_private_key").write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    (directory / "admin_token").write_text(secrets.token_urlsafe(24) + "\n")
    return {"jwt": directory / "jwt_private_key", "admin": directory / "admin_token"}


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


def _common(stack: Any, keys: dict[str, Path], db: str) -> dict[str, str]:
    pg, mq = stack.topology.get("postgres").port, stack.topology.get("rabbitmq").port
    secrets_dir = stack.data.secrets
    return {
        "DATABASE_URL": f"postgresql+psycopg://{db}@127.0.0.1:{pg}/{db}",
        "DATABASE_PASSWORD_FILE": str(secrets_dir / f"db_{db}_password"),
        "RABBITMQ_URL": f"amqp://stack@127.0.0.1:{mq}/",
        "RABBITMQ_PASSWORD_FILE": str(secrets_dir / "rabbitmq_password"),
        "ADMIN_TOKEN_FILE": str(keys["admin"]),
    }


@pytest.fixture(scope="session")
def environ(stack: Any, keys: dict[str, Path]) -> dict[str, str]:
    return {
        **_common(stack, keys, "users"),
        "SERVICE_NAME": "users",
        "AUTH_URL": f"http://127.0.0.1:{AUTH_PORT}",
        # Nothing listens there: games is "down" for these tests (test_games_breaker.py).
        "GATEWAY_URL": "http://127.0.0.1:9",
    }


@pytest.fixture(scope="session")
def auth_process(
    stack: Any, keys: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {**_common(stack, keys, "auth"), "SERVICE_NAME": "auth",
           "JWT_PRIVATE_KEY_FILE": str(keys["jwt"])}
    server = Server("auth_service.main:app", AUTH_PORT, env,
                    tmp_path_factory.mktemp("auth") / "auth.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def auth(auth_process: Server) -> Server:
    """The auth service, running (a test that stopped it does not break the next one)."""
    if not auth_process.running:
        auth_process.start()
    return auth_process


@pytest.fixture(scope="session")
def client(environ: dict[str, str], stack: Any) -> Iterator[Any]:
    from chassis import load_settings
    from fastapi.testclient import TestClient
    from users_service.core.config import Settings
    from users_service.main import create_app

    with TestClient(create_app(load_settings(Settings, environ))) as test_client:
        wait_for(lambda: consumers(stack, "users.events") > 0, "users to consume users.events")
        yield test_client


def consumers(stack: Any, queue: str) -> int:
    try:
        with rabbit(stack) as conn:
            return int(conn.channel().queue_declare(queue, passive=True).method.consumer_count)
    except Exception:  # the queue does not exist yet
        return 0
