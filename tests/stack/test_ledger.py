"""The fault ledger (stack/ledger.py): what is recorded is undone by `heal`, once, and a fault
whose undo fails stays recorded with its error named."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from stack.errors import StackError
from stack.ledger import Ledger, Undo, ledger_file
from stack.paths import DataDir

OFF = {"error_rate": 0.0, "latency_ms": 0, "fail_health": False}


class FakeControls:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail = fail

    def start(self, name: str) -> None:
        if self.fail:
            raise StackError(f"{name} did not become healthy")
        self.calls.append(("start", name))


class FlagServer(HTTPServer):
    """Answers `PUT /admin/faults` as a chassis service does, and records each request."""

    seen: list[tuple[str, str, Any]]

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/admin/faults"


class _Handler(BaseHTTPRequestHandler):
    server: FlagServer

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.path, self.headers["Authorization"], body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(DataDir(tmp_path))


@pytest.fixture
def flags(tmp_path: Path) -> Iterator[tuple[FlagServer, Path]]:
    server = FlagServer(("127.0.0.1", 0), _Handler)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = tmp_path / "admin_token"
    token.write_text("s3cret\n")
    yield server, token
    server.shutdown()


def clear_flags(server: FlagServer, token: Path) -> Undo:
    return Undo("http-put", {"url": server.url(), "body": OFF, "token_file": str(token)})


def test_heal_undoes_each_recorded_fault_once(
    ledger: Ledger, flags: tuple[FlagServer, Path]
) -> None:
    server, token = flags
    ledger.record("users killed", [Undo("start", {"units": ["users", "users-2"]})], 60, watch=False)
    ledger.record("games error_rate=0.5", [clear_flags(server, token)], 60, watch=False)
    controls = FakeControls()
    done = ledger.heal(controls)
    assert [line.split(" (")[0] for line in done] == [
        "undone: users killed",
        "undone: games error_rate=0.5",
    ]
    assert controls.calls == [("start", "users"), ("start", "users-2")]
    assert server.seen == [("/admin/faults", "Bearer s3cret", OFF)]
    assert ledger.open_faults() == []
    assert ledger.heal(controls) == []  # nothing twice
    assert len(controls.calls) == 2 and len(server.seen) == 1


def test_heal_of_one_fault_leaves_the_others(ledger: Ledger) -> None:
    first = ledger.record("a killed", [Undo("start", {"units": ["a"]})], 60, watch=False)
    ledger.record("b killed", [Undo("start", {"units": ["b"]})], 60, watch=False)
    controls = FakeControls()
    ledger.heal(controls, first.id)
    assert [f.what for f in ledger.open_faults()] == ["b killed"]
    assert controls.calls == [("start", "a")]


def test_a_failed_undo_stays_recorded_and_is_named(ledger: Ledger) -> None:
    ledger.record("games killed", [Undo("start", {"units": ["games"]})], 60, watch=False)
    with pytest.raises(StackError, match=r"could not undo games killed .*did not become healthy"):
        ledger.heal(FakeControls(fail=True))
    assert [f.what for f in ledger.open_faults()] == ["games killed"]


def test_bad_input_is_refused_before_anything_is_written(ledger: Ledger) -> None:
    with pytest.raises(StackError, match="undo kinds"):
        ledger.record("nothing to undo", [], 60, watch=False)
    with pytest.raises(StackError, match="undo kinds"):
        ledger.record("x", [Undo("resume", {"units": ["a"]})], 60, watch=False)  # type: ignore[arg-type]
    with pytest.raises(StackError, match="maximum duration must be positive"):
        ledger.record("x", [Undo("start", {"units": ["a"]})], 0, watch=False)
    assert ledger.open_faults() == []


def test_a_ledger_that_is_not_ours_is_named(ledger: Ledger) -> None:
    ledger.path.parent.mkdir(parents=True)
    ledger.path.write_text('{"not": "a list"}')
    with pytest.raises(StackError, match="not a fault ledger"):
        ledger.open_faults()


def test_a_fault_undoes_itself_at_its_expiry(
    tmp_path: Path, flags: tuple[FlagServer, Path]
) -> None:
    """The watcher is a real `python -m stack heal --fault ID --at T`, detached."""
    server, token = flags
    data = DataDir(tmp_path)
    os.environ["STACK_DATA_DIR"] = str(tmp_path)  # what the watcher inherits
    try:
        fault = Ledger(data).record("games error_rate=0.5", [clear_flags(server, token)], 1)
    finally:
        del os.environ["STACK_DATA_DIR"]
    deadline = time.monotonic() + 60
    while not server.seen and time.monotonic() < deadline:
        time.sleep(0.2)
    log = data.logs / "chaos-heal.log"
    assert server.seen == [("/admin/faults", "Bearer s3cret", OFF)], log.read_text()
    assert Ledger(data).open_faults() == []
    assert fault.id not in ledger_file(data).read_text()


def test_forget_strikes_everything_off_without_undoing(ledger: Ledger) -> None:
    ledger.record("users killed", [Undo("start", {"units": ["users"]})], 60, watch=False)
    assert [f.what for f in ledger.forget()] == ["users killed"]
    assert ledger.open_faults() == []


def test_forget_one_fault_keeps_the_others(ledger: Ledger) -> None:
    kept = ledger.record("users killed", [Undo("start", {"units": ["users"]})], 60, watch=False)
    lost = ledger.record("server lost", [Undo("start", {"units": ["postgres"]})], 60, watch=False)
    assert [f.what for f in ledger.forget(lost.id)] == ["server lost"]
    assert ledger.open_faults() == [kept]
