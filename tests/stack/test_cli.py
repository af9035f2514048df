"""The habits of `python -m stack` (stack/cli.py): usage errors, --version, --json output, an
80-column secrets listing, the end of the live table, one-line failures, and `logs -f` across a
log rotation. The runtime is faked: no stack runs."""

from __future__ import annotations

import importlib.metadata
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from healthprobe import ProbeResult
from rich.console import Console
from typer.testing import CliRunner

from stack import cli, ports_record
from stack.cli_follow import follow
from stack.cli_output import person_urls, secret_entries, secrets_listing, secrets_purposes
from stack.errors import StackError
from stack.ledger import Fault
from stack.runtimes.local.runtime import ComponentStatus
from stack.secrets import SPECS
from stack.topology import build

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "stack-data"
    monkeypatch.setenv("STACK_DATA_DIR", str(root))
    return root


def invoke(*args: str) -> Any:
    return runner.invoke(cli.app, list(args), prog_name="python -m stack")


# ---- 1, 2: usage errors and --version ----------------------------------------------------


def test_a_bogus_runtime_is_a_usage_error_naming_the_valid_ones() -> None:
    result = invoke("up", "--runtime", "bogus")
    assert result.exit_code == 2, result.output
    assert "local" in result.output and "compose" in result.output
    assert "bogus" in result.output


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert importlib.metadata.version("devops-stack") in result.output


# ---- 3: --json ---------------------------------------------------------------------------


class FakeRuntime:
    def __init__(self, healthy: bool) -> None:
        self.topology = build(environ={}).units()
        self.healthy = healthy

    def status(self) -> list[ComponentStatus]:
        rows = []
        for i, c in enumerate(self.topology.components):
            ok = self.healthy or c.name != "prometheus"
            health = ProbeResult(ok=ok, detail="" if ok else "connection refused", latency_ms=3.0)
            rows.append(ComponentStatus(c, "RUNNING", 1000 + i, 12.5, health))
        return rows

    def up(self, only: list[str] | None, progress: Callable[[str, str, str], None]) -> None:
        for c in self.topology.components:
            progress(c.name, "healthy", "")


def fake_ledger(faults: list[Fault]) -> Any:
    class FakeLedger:
        def __init__(self, data: Any) -> None:
            pass

        def open_faults(self) -> list[Fault]:
            return faults

    return FakeLedger


def test_status_json_has_the_facts_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_local", lambda data=None: FakeRuntime(healthy=True))
    monkeypatch.setattr(cli, "Ledger", fake_ledger([]))
    result = invoke("status", "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    by_name = {c["name"]: c for c in facts["components"]}
    prometheus = by_name["prometheus"]
    assert prometheus["role"] and prometheus["kind"] == "http"
    assert prometheus["url"] == "http://127.0.0.1:9090/-/ready"
    assert prometheus["state"] == "RUNNING" and prometheus["uptime_s"] == 12.5
    assert prometheus["health"]["ok"] is True and isinstance(prometheus["pid"], int)
    assert by_name["postgres"]["url"] == "postgres://127.0.0.1:5432"
    assert facts["open_faults"] == [] and facts["healthy"] is True


def test_status_json_exits_3_when_unhealthy_or_a_fault_is_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_local", lambda data=None: FakeRuntime(healthy=False))
    monkeypatch.setattr(cli, "Ledger", fake_ledger([]))
    result = invoke("status", "--json")
    assert result.exit_code == 3
    facts = json.loads(result.stdout)
    bad = [c for c in facts["components"] if not c["health"]["ok"]]
    assert [(c["name"], c["health"]["detail"]) for c in bad] == [
        ("prometheus", "connection refused")
    ]

    fault = Fault(id="f1", what="users killed (users)", injected_at=1.0, expires_at=2.0)
    monkeypatch.setattr(cli, "_local", lambda data=None: FakeRuntime(healthy=True))
    monkeypatch.setattr(cli, "Ledger", fake_ledger([fault]))
    result = invoke("status", "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["open_faults"][0]["what"] == "users killed (users)"


def test_secrets_json_names_files_never_passwords(data_dir: Path) -> None:
    secrets = data_dir / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "admin_password").write_text("do-not-print-me\n")
    result = invoke("secrets", "--json")
    assert result.exit_code == 0, result.output
    assert "do-not-print-me" not in result.output
    entries = json.loads(result.stdout)
    assert {"component", "url", "user", "password_file"} == set(entries[0])
    prometheus = next(e for e in entries if e["component"] == "prometheus")
    assert prometheus == {
        "component": "prometheus",
        "url": "http://127.0.0.1:9090",
        "user": "admin",
        "password_file": str(secrets / "admin_password"),
    }


# ---- 4: the secrets listing fits 80 columns ----------------------------------------------


def test_secrets_listing_fits_80_columns_without_cutting_a_url() -> None:
    topology = build(environ={})
    deep = Path("/home/someone/projects/devops-reference-stack/.stack/secrets")
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(secrets_listing(secret_entries(topology, deep)))
    console.print(secrets_purposes(SPECS))
    text = console.export_text()
    assert "…" not in text
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    shown = set(re.findall(r"[a-z]+://[^\s]+", text))
    for c in topology.components:
        if c.credentials or c.viewer:
            assert set(person_urls(c)) <= shown, c.name
    assert "/-/ready" not in text  # the URL a person opens, not the probe's
    assert "http://127.0.0.1:5601" in shown  # the console's second web UI
    # a path longer than the line wraps onto the next lines, in full
    assert f"cat{deep}/grafana_viewer_password" in re.sub(r"\s+", "", text)


# ---- 5: the live table of `up` ends its line ---------------------------------------------


def test_up_ends_the_live_table_before_its_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_local", lambda data=None: FakeRuntime(healthy=True))
    monkeypatch.setattr(ports_record, "record", lambda data: None)
    result = invoke("up")
    assert result.exit_code == 0, result.output
    assert re.search(r"┘\n+up \(local\): \d+ components healthy", result.stdout), result.stdout


# ---- 6: one line per failure, the traceback with --debug ---------------------------------


def _broken(data: Any = None) -> Any:
    raise StackError("supervisord is not answering; run `python -m stack up`")


def test_an_uncaught_stack_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_local", _broken)
    result = invoke("kill", "users")  # `kill` builds its runtime outside any try
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "supervisord is not answering" in lines[0], result.output


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_local", _broken)
    result = invoke("--debug", "kill", "users")
    assert isinstance(result.exception, StackError)  # raised through, for its traceback

    result = invoke("--debug", "status")  # a failure a command reports itself
    assert result.exit_code == 1
    assert "Traceback" in result.output and "supervisord is not answering" in result.output
    assert "Traceback" not in invoke("status").output  # the flag does not stick


# ---- 7: logs -f across a rotation ---------------------------------------------------------


def _follow_with(path: Path, at_each_wait: list[Callable[[], None]]) -> str:
    """Follow `path`; at each poll run the next step of `at_each_wait`, then stop."""
    written: list[str] = []
    steps = list(at_each_wait)
    follow(
        path,
        written.append,
        # a bound on the output too: a follower that rereads forever fails instead of hanging
        keep_going=lambda: bool(steps) and len(written) < 50,
        sleep=lambda _s: steps.pop(0)(),
    )
    return "".join(written)


def test_follow_reopens_a_rotated_log(tmp_path: Path) -> None:
    log = tmp_path / "users.log"
    log.write_text("one\n")

    def rotate() -> None:  # what supervisord does: rename, then a new file under the old name
        with log.open("a") as f:
            f.write("two\n")  # written to the old file just before the rename
        log.rename(tmp_path / "users.log.1")
        log.write_text("three\n")

    def append() -> None:
        with log.open("a") as f:
            f.write("four\n")

    assert _follow_with(log, [rotate, append, lambda: None]) == "one\ntwo\nthree\nfour\n"


def test_follow_rereads_a_truncated_log(tmp_path: Path) -> None:
    log = tmp_path / "users.log"
    log.write_text("a long first line\n")

    def truncate() -> None:
        log.write_text("new\n")  # the same inode, shorter than what was read

    assert _follow_with(log, [truncate, lambda: None]) == "a long first line\nnew\n"


def test_logs_without_follow_prints_the_file_and_returns(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = data_dir / "users.log"
    log.parent.mkdir(parents=True)
    log.write_text("hello\n")

    class Runtime:
        def log_file(self, name: str) -> str:
            return str(log)

    monkeypatch.setattr(cli, "_local", lambda data=None: Runtime())
    result = invoke("logs", "users")
    assert result.exit_code == 0 and result.stdout == "hello\n"
