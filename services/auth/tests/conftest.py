"""Fixtures: keys and an admin token made here, and (for integration tests) the real
PostgreSQL and RabbitMQ of the local runtime on ports offset by 13000."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

OFFSET = 13000  # this suite's own offset: never the standard ports


def write_keys(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    (directory / "jwt_private_key").write_bytes(pem)
    (directory / "admin_token").write_text(secrets.token_urlsafe(24) + "\n")
    return {
        "JWT_PRIVATE_KEY_FILE": str(directory / "jwt_private_key"),
        "ADMIN_TOKEN_FILE": str(directory / "admin_token"),
    }


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
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
def environ(stack: object, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    topology = stack.topology  # type: ignore[attr-defined]
    secrets_dir = stack.data.secrets  # type: ignore[attr-defined]
    pg, mq = topology.get("postgres").port, topology.get("rabbitmq").port
    return {
        "DATABASE_URL": f"postgresql+psycopg://auth@127.0.0.1:{pg}/auth",
        "DATABASE_PASSWORD_FILE": str(secrets_dir / "db_auth_password"),
        "RABBITMQ_URL": f"amqp://stack@127.0.0.1:{mq}/",
        "RABBITMQ_PASSWORD_FILE": str(secrets_dir / "rabbitmq_password"),
        **write_keys(tmp_path_factory.mktemp("keys")),
    }


@pytest.fixture(scope="session")
def client(environ: dict[str, str]) -> Iterator[object]:
    from auth_service.core.config import Settings
    from auth_service.main import create_app
    from chassis import load_settings
    from fastapi.testclient import TestClient

    with TestClient(create_app(load_settings(Settings, environ))) as test_client:
        yield test_client
