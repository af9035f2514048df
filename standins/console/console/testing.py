"""Start a real console process on free ports, and a fake Prometheus for it, for tests (here
and elsewhere): `start_console(tmp, prometheus_url=..., logstore_url=...)`.

The fake Prometheus answers query, query_range and label values with numbers a test can
predict, checks the console's basic auth, and records every request it got.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

# The repository's own provisioning files, when the console runs from a checkout.
REPO = Path(__file__).resolve().parents[3]
PROVISIONING = REPO / "stack/config/grafana/provisioning"
DASHBOARDS = REPO / "stack/config/grafana/dashboards"
SAVED_OBJECTS = REPO / "stack/config/kibana/saved-objects.ndjson"
SECRETS = {
    "admin_password": "admin-pw-1",
    "grafana_viewer_password": "viewer-pw-2",
    "console_session_key": "session-key-3",
    "console_prometheus_password": "prom-pw-4",
    # logstore's built-in console_reader, as logstore.testing.make_server writes its password
    "console_reader_password": "console-reader-pw-6",
    "metrics_token": "metrics-token-6",
}
ADMIN = ("admin", SECRETS["admin_password"])
VIEWER = ("viewer", SECRETS["grafana_viewer_password"])
PROMETHEUS_USER = "console"
BAD_QUERY_ERROR = 'invalid parameter "query": 1:5: parse error: unexpected end of input'


# (path, the parameters' first values, every value) -> (HTTP status, JSON body)
Answerer = Callable[[str, dict[str, str], dict[str, list[str]]], tuple[int, Any]]


@dataclass
class FakePrometheus:
    """Checks the console's basic auth, records each request, and answers with `answerer`
    (default: `answer`, numbers a test can predict)."""

    password: str
    answerer: Answerer | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)  # every PromQL expression asked, in order
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the fake Prometheus is not running: start() it first")
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, params: dict[str, list[str]]) -> None:
                expected = base64.b64encode(f"{PROMETHEUS_USER}:{fake.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self.send_response(401)
                    self.end_headers()
                    return
                path = urlsplit(self.path).path
                flat = {k: v[0] for k, v in params.items()}
                fake.requests.append({"path": path, "params": params, "method": self.command})
                if "query" in flat:
                    fake.queries.append(flat["query"])
                status, body = (fake.answerer or answer)(path, flat, params)
                self._answer(status, body)

            def do_GET(self) -> None:
                self._handle(parse_qs(urlsplit(self.path).query))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._handle(parse_qs(self.rfile.read(length).decode()))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def last(self, path: str) -> dict[str, str]:
        for request in reversed(self.requests):
            if request["path"] == path:
                return {k: v[0] for k, v in request["params"].items()}
        raise LookupError(f"the fake Prometheus got no request on {path}: {self.requests}")


def answer(path: str, params: dict[str, str], multi: dict[str, list[str]]) -> tuple[int, Any]:
    query = params.get("query", "")
    if path.startswith("/api/v1/label/") and path.endswith("/values"):
        return 200, {"status": "success", "data": ["api", "auth"], "match": multi.get("match[]")}
    if "bad(" in query:
        return 400, {"status": "error", "errorType": "bad_data", "error": BAD_QUERY_ERROR}
    if path == "/api/v1/query":
        return 200, {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "api"}, "value": [float(params["time"]), "7"]}
        ]}}
    if path != "/api/v1/query_range":
        return 404, {"status": "error", "errorType": "not_found", "error": path}
    start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
    points = int((end - start) // step) + 1
    if points > 11_000:
        return 400, {"status": "error", "errorType": "bad_data", "error": (
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
            "query resolution (?step=XX)")}
    times = [start + i * step for i in range(points)]
    if "by (result)" in query:
        result = [
            {"metric": {"result": "ok"}, "values": [[t, "2.5"] for t in times]},
            {"metric": {"result": "fail"}, "values": [[t, "0.5"] for t in times]},
        ]
    else:
        # the i-th point is i + 1, the last one NaN (as a rate over a gap)
        values = [[t, str(i + 1)] for i, t in enumerate(times)]
        values[-1][1] = "NaN"
        result = [{"metric": {"__name__": "up", "job": "api"}, "values": values}]
    return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}


@dataclass
class Console:
    grafana: str
    kibana: str
    proc: subprocess.Popen[bytes]
    data: Path
    log: Path

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=15)


def write_secrets(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in SECRETS.items():
        (directory / name).write_text(value + "\n")
    return directory


def start_console(tmp: Path, *, prometheus_url: str, logstore_url: str,
                  extra: tuple[str, ...] = ()) -> Console:
    grafana_port, kibana_port = _free_ports()
    data = tmp / "console-data"
    cmd = [
        sys.executable, "-m", "console",
        "--grafana-listen", f"127.0.0.1:{grafana_port}",
        "--kibana-listen", f"127.0.0.1:{kibana_port}",
        "--provisioning", str(PROVISIONING),
        "--dashboards", str(DASHBOARDS),
        "--saved-objects", str(SAVED_OBJECTS),
        "--prometheus-url", prometheus_url,
        "--logstore-url", logstore_url,
        "--secrets-dir", str(write_secrets(tmp / "console-secrets")),
        "--data", str(data),
        *extra,
    ]
    log = tmp / f"console-{grafana_port}.log"
    proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    console = Console(f"http://127.0.0.1:{grafana_port}", f"http://127.0.0.1:{kibana_port}",
                      proc, data, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"console exited with {proc.returncode}: {log.read_text()}")
        try:
            httpx.get(console.grafana + "/api/health", timeout=0.5)
            httpx.get(console.kibana + "/login", timeout=0.5)
            return console
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"console did not answer within 20 s: {log.read_text()}")

PORT_RANGE = range(23000, 24000)  # the ports this project's helpers and tests may use


def _free_ports() -> tuple[int, int]:
    """Two free ports of PORT_RANGE, tried in a random order so parallel runs rarely collide."""
    found: list[int] = []
    for port in random.sample(PORT_RANGE, len(PORT_RANGE)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == 2:
            return found[0], found[1]
    raise RuntimeError(f"no two free ports in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")
