"""The fault ledger (stack/ledger.py): what is recorded is undone by `heal`, once, and a fault
whose undo fails stays recorded with its error named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest

from stack.errors import StackError
from stack.ledger import Ledger, Undo, ledger_file
from stack.paths import DataDir


class FakeControls:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail = fail

    def start(self, name: str) -> None:
        if self.fail:
            raise StackError(f"{name} did not become healthy")
        self.calls.append(("start", name))

    def resume(self, name: str) -> None:
        self.calls.append(("resume", name))


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(DataDir(tmp_path))


def test_heal_undoes_each_recorded_fault_once(ledger: Ledger, tmp_path: Path) -> None:
    filler = tmp_path / "filler"
    filler.write_bytes(b"x" * 10)
    ledger.record("users killed", [Undo("start", {"units": ["users", "users-2"]})], 60, watch=False)
    ledger.record("disk filled", [Undo("remove-file", {"path": str(filler)})], 60, watch=False)
    controls = FakeControls()
    done = ledger.heal(controls)
    assert [line.split(" (")[0] for line in done] == ["undone: users killed", "undone: disk filled"]
    assert controls.calls == [("start", "users"), ("start", "users-2")]
    assert not filler.exists()
    assert ledger.open_faults() == []
    assert ledger.heal(controls) == []  # nothing twice
    assert controls.calls == [("start", "users"), ("start", "users-2")]


def test_heal_of_one_fault_leaves_the_others(ledger: Ledger) -> None:
    first = ledger.record("a paused", [Undo("resume", {"units": ["a"]})], 60, watch=False)
    ledger.record("b paused", [Undo("resume", {"units": ["b"]})], 60, watch=False)
    ledger.heal(FakeControls(), first.id)
    assert [f.what for f in ledger.open_faults()] == ["b paused"]


def test_a_failed_undo_stays_recorded_and_is_named(ledger: Ledger) -> None:
    ledger.record("games killed", [Undo("start", {"units": ["games"]})], 60, watch=False)
    with pytest.raises(StackError, match=r"could not undo games killed .*did not become healthy"):
        ledger.heal(FakeControls(fail=True))
    assert [f.what for f in ledger.open_faults()] == ["games killed"]


def test_kill_process_kills_the_hog_and_spares_a_reused_pid(ledger: Ledger) -> None:
    hog = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    created = psutil.Process(hog.pid).create_time()
    stale = ledger.record(
        "old hog", [Undo("kill-process", {"pid": hog.pid, "created": created - 100})], 60,
        watch=False,
    )
    ledger.heal(FakeControls(), stale.id)
    assert hog.poll() is None, "a process with another start time was killed"
    ledger.record(
        "cpu hog", [Undo("kill-process", {"pid": hog.pid, "created": created})], 60, watch=False
    )
    ledger.heal(FakeControls())
    assert hog.wait(timeout=10) != 0


def test_http_put_replays_the_clearing_request(ledger: Ledger, tmp_path: Path) -> None:
    seen: list[tuple[str, str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers["Authorization"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = tmp_path / "admin_token"
    token.write_text("s3cret\n")
    url = f"http://127.0.0.1:{server.server_port}/admin/faults"
    body = {"error_rate": 0.0, "latency_ms": 0, "fail_health": False}
    ledger.record(
        "games error_rate 0.5",
        [Undo("http-put", {"url": url, "body": body, "token_file": str(token)})],
        60,
        watch=False,
    )
    ledger.heal(FakeControls())
    server.shutdown()
    assert seen == [("/admin/faults", "Bearer s3cret", body)]


def test_bad_input_is_refused_before_anything_is_written(ledger: Ledger) -> None:
    with pytest.raises(StackError, match="undo kinds"):
        ledger.record("nothing to undo", [], 60, watch=False)
    with pytest.raises(StackError, match="maximum duration must be positive"):
        ledger.record("x", [Undo("resume", {"units": ["a"]})], 0, watch=False)
    assert ledger.open_faults() == []


def test_a_ledger_that_is_not_ours_is_named(ledger: Ledger) -> None:
    ledger.path.parent.mkdir(parents=True)
    ledger.path.write_text('{"not": "a list"}')
    with pytest.raises(StackError, match="not a fault ledger"):
        ledger.open_faults()


def test_a_fault_undoes_itself_at_its_expiry(tmp_path: Path) -> None:
    """The watcher is a real `python -m stack heal --fault ID --at T`, detached."""
    data = DataDir(tmp_path)
    filler = tmp_path / "filler"
    filler.write_bytes(b"x")
    os.environ["STACK_DATA_DIR"] = str(tmp_path)  # what the watcher inherits
    try:
        fault = Ledger(data).record("disk filled", [Undo("remove-file", {"path": str(filler)})], 1)
    finally:
        del os.environ["STACK_DATA_DIR"]
    deadline = time.monotonic() + 60
    while filler.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not filler.exists(), (data.logs / "chaos-heal.log").read_text()
    assert Ledger(data).open_faults() == []
    assert not ledger_file(data).read_text().count(fault.id)


def test_forget_strikes_everything_off_without_undoing(ledger: Ledger) -> None:
    ledger.record("users killed", [Undo("start", {"units": ["users"]})], 60, watch=False)
    assert [f.what for f in ledger.forget()] == ["users killed"]
    assert ledger.open_faults() == []
