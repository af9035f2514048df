"""Start a real logstore process on a free port, for tests and benchmarks (and the official
Elasticsearch client on it): `make_server(tmp_path)`, then `server.client("elastic")`."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # the client is a test dependency, not the server's
    from elasticsearch import Elasticsearch

PASSWORDS = {
    "elastic": "elastic-pw-1",
    "logstash_internal": "logstash-pw-2",
    "kibana_system": "kibana-pw-3",
    "logs_reader": "reader-pw-4",
    "elastalert": "elastalert-pw-5",
    "console_reader": "console-reader-pw-6",
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
            "logstore",
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
        if self.proc is None:
            raise RuntimeError("logstore is not running: start() it first")
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=15)
        self.proc = None
        return code

    def client(self, user: str = "elastic") -> Elasticsearch:
        from elasticsearch import Elasticsearch

        return Elasticsearch(self.url, basic_auth=(user, PASSWORDS[user]), request_timeout=30)


def load(es: Elasticsearch, index: str, docs: list[dict[str, Any]], **create: Any) -> str:
    """Create `index` (with `create`'s body: mappings, settings...), bulk-index `docs` into it
    refreshed, and return its name."""
    from elasticsearch import helpers

    es.indices.create(index=index, **create)
    helpers.bulk(es, ({"_index": index, "_source": d} for d in docs), refresh=True)
    return index


def make_server(tmp: Path, *extra: str) -> Server:
    port = free_port()
    server = Server(
        f"http://127.0.0.1:{port}", tmp / "data", write_secrets(tmp / "secrets"), port, extra=extra
    )
    server.start()
    return server
