"""`python -m stack up` in a real terminal names the Debian package it installs, with a count.

The package of one small component (the node exporter) is removed first, so that `up --only
node-exporter` really installs it with the real apt-get; its live table runs in a pty, as a
person sees it. The stack runs in its own data directory on its own ports, and the package is
installed again whatever happens (from a copy of its .deb fetched before it was removed)."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.paths import REPO_ROOT
from stack.runtimes.local.system import LOCK_WAIT_S
from stack.topology import offset_ports

PACKAGE = "prometheus-node-exporter"  # the node-exporter component's package and binary
OFFSET = 21000  # this suite's own ports; no other suite's stack uses this offset
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _stack_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACK_PORT_")}
    env.update(offset_ports(OFFSET))
    # a terminal Rich draws on: wide enough for a row, colours allowed
    env.update(STACK_DATA_DIR=str(data), TERM="xterm-256color", COLUMNS="160")
    env.pop("NO_COLOR", None)
    return env


def _in_pty(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `argv` with a pty as its terminal; its exit code and every byte it drew."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin, stdout and stderr are the pty
        os.chdir(REPO_ROOT)
        os.execvpe(argv[0], argv, env)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


def _installed() -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", PACKAGE], capture_output=True, text=True
    )
    return done.stdout == "installed" and shutil.which(PACKAGE) is not None


@pytest.fixture
def package_removed(tmp_path: Path) -> Iterator[None]:
    """The package gone for the test, back afterwards even when the test fails."""
    if os.geteuid() != 0:
        pytest.skip("removing and installing a Debian package needs root")
    saved = tmp_path / "debs"
    saved.mkdir()
    fetched = subprocess.run(
        ["apt-get", "download", PACKAGE], cwd=saved, capture_output=True, text=True
    )
    if fetched.returncode != 0:
        pytest.skip(f"apt-get cannot reach the archive: {fetched.stderr.strip()[-300:]}")
    _apt_get("remove", PACKAGE)
    assert shutil.which(PACKAGE) is None
    try:
        yield
    finally:
        if not _installed():
            _apt_get("install", "--no-install-recommends", *map(str, saved.glob("*.deb")))
        assert _installed()


def _apt_get(*args: str) -> None:
    """apt-get, waiting for the lock of an apt or dpkg that another run has at work."""
    lock = f"DPkg::Lock::Timeout={LOCK_WAIT_S}"
    done = subprocess.run(["apt-get", "-y", "-o", lock, *args], capture_output=True, text=True)
    assert done.returncode == 0, f"apt-get {' '.join(args)}: {done.stderr[-2000:]}"


def test_up_shows_the_package_it_installs_and_the_count(
    package_removed: None, tmp_path: Path
) -> None:
    env = _stack_env(tmp_path / "stack")
    python = [sys.executable, "-m", "stack"]
    try:
        code, drawn = _in_pty([*python, "up", "--only", "node-exporter"], env)
    finally:
        subprocess.run([*python, "down"], env=env, cwd=REPO_ROOT, capture_output=True)
    screen = ANSI.sub("", drawn)
    assert code == 0, screen[-3000:]
    assert re.search(rf"installing {PACKAGE} \(1/1, \d+%\)", screen), screen[-3000:]
    assert re.search(rf"installed {PACKAGE} \(\d+\.\ds\)", screen), screen[-3000:]
    assert "\x1b[" in drawn  # drawn by the live table, with the cursor moved to redraw it
    assert "setup: installing" not in screen  # the lines of a pipe, not the terminal's table
    assert shutil.which(PACKAGE), "up itself installed the package again"
