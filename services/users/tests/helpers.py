"""Test helpers: polling, RabbitMQ (pika) access, a uvicorn subprocess, auth users."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

OFFSET = 14000  # this suite's own offset: never the standard ports, never another suite's


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last saw {last!r}")


def rabbit(stack: Any) -> Any:
    import pika

    password = (stack.data.secrets / "rabbitmq_password").read_text().strip()
    params = pika.ConnectionParameters(
        "127.0.0.1", stack.topology.get("rabbitmq").port,
        credentials=pika.PlainCredentials("stack", password), connection_attempts=1,
    )
    return pika.BlockingConnection(params)


def queue_depth(stack: Any, queue: str) -> int:
    with rabbit(stack) as conn:
        return int(conn.channel().queue_declare(queue, passive=True).method.message_count)


class Server:
    """A service as a real uvicorn process; its log goes to a file (an unread pipe fills up
    and blocks the server)."""

    def __init__(self, app: str, port: int, environ: dict[str, str], log: Path) -> None:
        self.app, self.port, self.environ, self.log = app, port, environ, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", self.app,
                 "--host", "127.0.0.1", "--port", str(self.port)],
                env={**os.environ, **self.environ}, stdout=out, stderr=subprocess.STDOUT,
            )
        wait_for(self._up, f"{self.app} to serve /livez on {self.port}")

    def _up(self) -> bool:
        if not self.running:
            raise AssertionError(f"{self.app} exited:\n{self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/livez", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def register(auth: Server) -> dict[str, str]:
    """A new account on the real auth service, logged in: its id, username and token."""
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.org", "password": "s3cret-pass"}
    r = httpx.post(f"{auth.url}/api/auth/register", json=body, timeout=5)
    assert r.status_code == 201, r.text
    user_id = str(r.json()["id"])
    r = httpx.post(f"{auth.url}/api/auth/login", json={"username": name,
                   "password": body["password"]}, timeout=5)
    assert r.status_code == 200, r.text
    return {"id": user_id, "username": name, "email": body["email"],
            "token": str(r.json()["access_token"])}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
