"""Fixtures: a real logstore process on a free port, and the official ES client on it."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

PASSWORDS = {
    "elastic": "elastic-pw-1",
    "logstash_internal": "logstash-pw-2",
    "kibana_system": "kibana-pw-3",
    "logs_reader": "reader-pw-4",
    "elastalert": "elastalert-pw-5",
}


PORT_RANGE = range(23000, 24000)  # the ports this project's helpers and tests may use


def free_port() -> int:
    """A free port in PORT_RANGE, tried in a random order so parallel runs rarely collide."""
    for port in random.sample(PORT_RANGE, len(PORT_RANGE)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def write_secrets(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for user, password in PASSWORDS.items():
        (directory / f"{user}_password").write_text(password + "\n")
    return directory


@dataclass
class Server:
    url: str
    data: Path
    secrets: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    extra: tuple[str, ...] = ()

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "stack.standins.logstore",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--data",
            str(self.data),
            "--secrets-dir",
            str(self.secrets),
            *self.extra,
        ]
        log = open(self.data.parent / f"logstore-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"logstore exited with {self.proc.returncode}")
            try:
                httpx.get(self.url + "/", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"logstore did not answer on {self.url} within 20 s")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=15)
        self.proc = None
        return code

    def client(self, user: str = "elastic") -> Elasticsearch:
        return Elasticsearch(self.url, basic_auth=(user, PASSWORDS[user]), request_timeout=30)


def make_server(tmp: Path, *extra: str) -> Server:
    port = free_port()
    server = Server(
        f"http://127.0.0.1:{port}", tmp / "data", write_secrets(tmp / "secrets"), port, extra=extra
    )
    server.start()
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("logstore")
    (tmp / "snapshots").mkdir()
    srv = make_server(tmp, "--snapshot-allow", str(tmp / "snapshots"), "--max-body", "2mb")
    yield srv
    if srv.proc is not None:
        srv.stop()


@pytest.fixture(scope="session")
def es(server: Server) -> Elasticsearch:
    return server.client("elastic")


@pytest.fixture()
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(tmp_path)
    yield srv
    if srv.proc is not None:
        srv.proc.kill()
        srv.proc.wait()


os.environ.setdefault("NO_PROXY", "127.0.0.1")
