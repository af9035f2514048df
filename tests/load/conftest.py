"""Stand-ins for the unit tests: HTTP servers that answer `PUT /admin/faults` as
chassis/faults.py does, and a target profile that points at them."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from grader.target import load_target

TOKEN = "t" * 32


class StandIn(BaseHTTPRequestHandler):
    """`PUT /admin/faults` echoes the flags (or fails with `server.status`) and is recorded
    in `server.seen`; `GET /admin/faults` answers the last flags put (all off at first);
    anything else is a JSON 404, enough for a gateway stand-in."""

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/admin/faults":
            return self._answer(404, b'{"detail":"not found"}')
        self.server.seen.append((self.path, self.headers["Authorization"], json.loads(body)))
        ok = self.server.status == 200
        self._answer(self.server.status, body if ok else b'{"detail":"no"}')

    def do_GET(self):
        if self.path != "/admin/faults":
            return self._answer(404, b'{"detail":"not found"}')
        last = self.server.seen[-1][2] if self.server.seen else {}
        self._answer(200, json.dumps({"error_rate": 0.0, "latency_ms": 0, "fail_health": False,
                                      **last}).encode())  # fmt: skip

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(404, b'{"detail":"not found"}')

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def admin_token():
    return TOKEN


@pytest.fixture
def stand_ins():
    """games-1, games-2 and a gateway."""
    started = []
    for _ in range(3):
        server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
        server.seen, server.status = [], 200
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append(server)
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stand_in_target(tmp_path, stand_ins):
    """`make(control=None)`: a profile file whose games units and gateway are the stand-ins;
    returns the loaded Target (its `source` is the file)."""

    def make(control=None):
        (tmp_path / "secrets").mkdir(exist_ok=True)
        (tmp_path / "secrets" / "admin_token").write_text(TOKEN + "\n")
        probe = {"kind": "tcp", "port": 1}
        games, gateway = stand_ins[:2], stand_ins[2]
        components = {
            f"games-{i}": {"role": "games", "replica_of": "games", "probe": probe,
                           "urls": {"main": f"http://127.0.0.1:{s.server_port}"}}
            for i, s in enumerate(games, 1)
        }  # fmt: skip
        components["gateway"] = {
            "role": "gateway", "probe": probe,
            "urls": {"main": f"http://127.0.0.1:{gateway.server_port}"},
        }  # fmt: skip
        raw = {"version": 1, "name": "stand-ins", "runtime": "local",
               "control": control or {"driver": "local", "project_dir": ".", "data_dir": "."},
               "components": components}  # fmt: skip
        path = tmp_path / "target.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        return load_target(path)

    return make
