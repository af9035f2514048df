"""What the stack CLI shows while it waits: apt's status lines read into "installing <package>
(i/n)", the install run against a fake `apt-get` that speaks apt's status protocol, and the
CLI's table and piped lines for `up`, `down`, `start`, `restart` with a fake runtime. The real
apt-get in a real terminal is test_up_progress.py."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from stack import cli, planned_work, ports_record
from stack.errors import StackError
from stack.runtimes.local import elastalert, runtime, system
from stack.runtimes.local.runtime import EXIT, SETUP, Progress
from stack.runtimes.local.system import AptStatus, InstallProgress, parse_status
from stack.topology import build

# ---- apt's status lines ---------------------------------------------------------------------


def test_a_pmstatus_line_names_the_package_and_the_percent() -> None:
    status = parse_status("pmstatus:prometheus-node-exporter:20.0000:Unpacking it (amd64)\n")
    assert status == AptStatus("pmstatus", "prometheus-node-exporter", 20.0, "Unpacking it (amd64)")


def test_a_package_with_its_architecture_and_a_text_with_colons() -> None:
    status = parse_status("pmstatus:libc6:i386:40:Configuring libc6:i386 (i386)")
    assert status == AptStatus("pmstatus", "libc6", 40.0, "Configuring libc6:i386 (i386)")


def test_download_and_error_lines_and_what_is_no_status() -> None:
    assert parse_status("dlstatus:1:12.5:Retrieving file 1 of 3") == AptStatus(
        "dlstatus", "1", 12.5, "Retrieving file 1 of 3"
    )
    assert parse_status("pmerror:nginx:60:subprocess returned 1")
    assert parse_status("Reading package lists...") is None
    assert parse_status("pmstatus:nginx:not-a-number:text") is None


def test_the_count_follows_the_plan_and_counts_in_a_package_it_lacked() -> None:
    progress = InstallProgress(["libfoo", "prometheus-nginx-exporter"])
    say = progress.describe
    assert say(AptStatus("pmstatus", "dpkg-exec", 0, "Running dpkg")) is None
    assert say(AptStatus("pmstatus", "prometheus-nginx-exporter", 20, "Unpacking")) == (
        "installing prometheus-nginx-exporter (2/2, 20%)"
    )
    assert say(AptStatus("pmstatus", "libfoo", 30, "Unpacking")) == "installing libfoo (1/2, 30%)"
    assert say(AptStatus("pmstatus", "libbar", 35, "Unpacking")) == "installing libbar (3/3, 35%)"
    assert say(AptStatus("dlstatus", "1", 50, "Retrieving")) == "downloading 3 packages (50%)"
    assert say(AptStatus("pmerror", "libfoo", 60, "dpkg said no")) == "libfoo failed: dpkg said no"


# ---- install_packages against a fake apt-get ---------------------------------------------------

FAKE_APT = """
import os, sys

# Speaks apt's status protocol on the descriptor `-o APT::Status-Fd=N` names.
args = sys.argv[1:]
fd = next((int(a.split("=")[1]) for a in args if a.startswith("APT::Status-Fd=")), -1)
if "-s" in args:
    print("NOTE: simulation\\nInst liba (1 Debian [amd64])\\nInst pkg-b (2 Debian [amd64])")
elif "update" in args:
    os.write(fd, b"dlstatus:1:50.0:Retrieving file 1 of 2\\n")
    os.write(fd, b"dlstatus:2:100:Retrieving file 2 of 2\\n")
elif os.environ.get("FAKE_APT_FAIL"):
    sys.stderr.write(f"E: Unable to locate package {os.environ['FAKE_APT_FAIL']}\\n")
    sys.exit(100)
else:
    os.write(fd, b"pmstatus:dpkg-exec:0:Running dpkg\\npmstatus:liba:10:Unpacking liba\\n")
    os.write(fd, b"pmstatus:pkg-b:amd64:50:Unpacking pkg-b\\npmstatus:pkg-b:90:Installed\\n")
    print("lots of dpkg chatter on stdout")
"""


@pytest.fixture
def fake_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "apt-get"
    script.write_text(f"#!{sys.executable}\n{FAKE_APT}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    return script


def test_install_reports_each_package_with_its_count(fake_apt: Path) -> None:
    steps: list[tuple[str, str]] = []
    system.install_packages(["pkg-b"], lambda state, detail: steps.append((state, detail)))
    details = [d for _, d in steps]
    assert details[:3] == [
        "updating the package lists",
        "updating the package lists (50%)",
        "updating the package lists (reading them)",
    ]
    assert details[3:5] == [
        "planning the install of pkg-b",
        "installing 2 packages: reading the package lists",
    ]
    assert details[5:8] == [
        "installing liba (1/2, 10%)",
        "installing pkg-b (2/2, 50%)",
        "installing pkg-b (2/2, 90%)",
    ]
    assert steps[-1][0] == "done" and re.fullmatch(r"installed pkg-b \(\d+\.\ds\)", steps[-1][1])


def test_a_failing_install_says_the_command_and_its_stderr(
    fake_apt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_APT_FAIL", "pkg-b")
    with pytest.raises(StackError) as failed:
        system.install_packages(["pkg-b"])
    message = str(failed.value)
    assert "`apt-get install -y --no-install-recommends pkg-b` failed (100)" in message
    assert "E: Unable to locate package pkg-b" in message


def test_not_root_is_told_the_exact_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(StackError) as failed:
        system.install_packages(["nginx", "rsyslog"])
    assert str(failed.value) == (
        "missing Debian packages: nginx, rsyslog. Run: sudo apt-get update && "
        "sudo apt-get install -y --no-install-recommends nginx rsyslog"
    )


# ---- the CLI's rendering, with a fake runtime ------------------------------------------------


class FakeRuntime:
    """Reports what the local runtime reports, in its order, without running anything."""

    def __init__(self) -> None:
        self.topology = build(environ={}).units()

    def up(self, only: list[str] | None, progress: Progress) -> None:
        progress(SETUP, "installing", "updating the package lists")
        progress(SETUP, "installing", "installing prometheus-nginx-exporter (2/5)")
        progress(SETUP, "done", "installed prometheus-nginx-exporter (3.2s)")
        progress(SETUP, "installing", "creating the ElastAlert2 environment [uv] ...")
        for c in self.topology.select(only or []) or self.topology.start_order():
            progress(c.name, "starting", "")
            progress(c.name, "healthy", "0.1s, ok")

    def running(self) -> list[str]:
        return ["gateway", "postgres"]

    def down(self, *, purge: bool, progress: Progress) -> list[int]:
        progress("postgres", "waiting", "until gateway stopped")
        progress("gateway", "stopping", "")
        progress("gateway", "stopped", "0.2s")
        progress("postgres", "stopped", "1.0s")
        progress(EXIT, "waiting", "3 of 4 processes still running")
        progress(EXIT, "stopped", "all 4 processes exited (0.5s)")
        return [1, 2, 3, 4]

    def start(self, name: str, progress: Progress) -> None:
        progress(name, "starting", "")
        progress(name, "healthy", "0.3s, ok")

    def restart(self, name: str, progress: Progress) -> None:
        progress(name, "stopping", "")
        self.start(name, progress)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeRuntime:
    monkeypatch.setenv("STACK_DATA_DIR", str(tmp_path / "data"))
    fake_runtime = FakeRuntime()
    monkeypatch.setattr(cli, "_local", lambda data=None: fake_runtime)
    monkeypatch.setattr(ports_record, "record", lambda data: None)
    monkeypatch.setattr(planned_work, "announce", lambda *args: "status page told")

    class Ledger:
        def __init__(self, data: Any) -> None:
            pass

        def forget(self) -> list[Any]:
            return []

    monkeypatch.setattr(cli, "Ledger", Ledger)
    return fake_runtime


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli.app, list(args), prog_name="python -m stack")
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_up_piped_prints_a_line_per_step_then_the_table_with_setup_on_top(
    fake: FakeRuntime,
) -> None:
    text = invoke("up", "--only", "mailbox")
    lines = text.splitlines()
    assert "setup: installing - installing prometheus-nginx-exporter (2/5)" in lines
    assert "setup: done - installed prometheus-nginx-exporter (3.2s)" in lines
    # brackets in a detail are words, not Rich markup
    assert "setup: installing - creating the ElastAlert2 environment [uv] ..." in lines
    assert lines.index("mailbox: starting") < lines.index("mailbox: healthy - 0.1s, ok")
    rows = [line for line in lines if line.startswith("│")]
    assert "setup" in rows[0] and "[uv]" in rows[0] and "mailbox" in rows[1], text


def test_down_shows_each_stop_and_the_processes_exiting(fake: FakeRuntime) -> None:
    lines = invoke("down").splitlines()
    assert "postgres: waiting - until gateway stopped" in lines
    assert lines.index("gateway: stopping") < lines.index("gateway: stopped - 0.2s")
    assert "processes: waiting - 3 of 4 processes still running" in lines
    assert "processes: stopped - all 4 processes exited (0.5s)" in lines
    assert lines[-1] == "down: stopped 4 processes."


def test_start_and_restart_show_the_component_until_healthy(fake: FakeRuntime) -> None:
    started = invoke("start", "gateway").splitlines()
    assert started.index("gateway: starting") < started.index("gateway: healthy - 0.3s, ok")
    assert any(line.startswith("stack start gateway (") for line in started)
    restarted = invoke("restart", "gateway").splitlines()
    assert restarted.index("gateway: stopping") < restarted.index("gateway: starting")
    assert restarted[-1] == "restart gateway: done"


def test_a_step_reported_twice_is_printed_once() -> None:
    printed = io.StringIO()
    table = cli._ProgressTable("up", ["gateway"], echo=Console(file=printed, width=200))
    for _ in range(3):  # the runtime's wait loops report the same state again and again
        table.update("gateway", "starting", "")
    table.update("gateway", "healthy", "1.0s")
    assert printed.getvalue().splitlines() == ["gateway: starting", "gateway: healthy - 1.0s"]


# ---- the runtime's other waits: the ElastAlert2 environment, processes exiting --------------


def test_the_elastalert_environment_says_it_is_being_made_then_how_long_it_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_CACHE_DIR", str(tmp_path))
    made: list[list[str]] = []

    def fake_run(argv: list[str]) -> None:  # no network: the venv's directory is all it needs
        made.append(argv)
        elastalert.venv_dir().mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(elastalert, "_run", fake_run)
    steps: list[tuple[str, str]] = []
    assert elastalert.ensure_venv(lambda state, detail: steps.append((state, detail)))
    assert made and steps[0] == (
        "installing",
        f"creating the ElastAlert2 environment {elastalert.venv_dir()} ...",
    )
    assert steps[1][0] == "done" and re.fullmatch(
        r"created the ElastAlert2 environment \(\d+\.\ds\)", steps[1][1]
    )
    steps.clear()
    assert not elastalert.ensure_venv(lambda state, detail: steps.append((state, detail)))
    assert steps == []  # complete already: nothing to wait for, nothing said


def test_the_wait_for_processes_to_exit_counts_them_down() -> None:
    sleeper = subprocess.Popen(["sleep", "0.3"])
    steps: list[tuple[str, str]] = []
    try:
        left = runtime._wait_gone(
            {sleeper.pid}, timeout=30, report=lambda state, detail: steps.append((state, detail))
        )
    finally:
        sleeper.wait()
    assert left == set()
    assert steps[0] == ("waiting", "1 of 1 processes still running")
    assert steps[-1][0] == "stopped"
    assert re.fullmatch(r"all 1 processes exited \(\d+\.\ds\)", steps[-1][1])
