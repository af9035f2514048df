"""The ledger's undos of the machine-level faults: a filesystem mounted over a directory (the
backup-disk-full drill) and a process group the drill started (the cpu-hog drill). Both are
safe to repeat, and `kill-process` never hits a pid that now belongs to another program."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from grader.polling import poll_until
from stack.ledger import Undo, undo_step


def test_kill_process_kills_the_group_and_spares_a_reused_pid(tmp_path: Path) -> None:
    hog = subprocess.Popen(["sleep", "300"], start_new_session=True)
    # Popen can return before the child's exec shows in /proc (an empty command line)
    poll_until(lambda: b"sleep" in Path(f"/proc/{hog.pid}/cmdline").read_bytes(), "exec", 5)
    pidfile = tmp_path / "hog.pid"
    pidfile.write_text(str(hog.pid))

    undo_step(Undo("kill-process", {"pidfile": str(pidfile), "program": "stress-ng"}), None)
    assert hog.poll() is None, "a pid whose command line names another program was killed"

    undo_step(Undo("kill-process", {"pidfile": str(pidfile), "program": "sleep"}), None)
    assert hog.wait(timeout=5) == -9
    undo_step(Undo("kill-process", {"pidfile": str(pidfile), "program": "sleep"}), None)  # again
    undo_step(Undo("kill-process", {"pidfile": str(tmp_path / "none"), "program": "x"}), None)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")
def test_unmount_brings_back_the_directory_underneath(tmp_path: Path) -> None:
    directory = tmp_path / "backups"
    directory.mkdir()
    (directory / "kept.json").write_text("{}")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(directory)], check=True)
    assert not (directory / "kept.json").exists()

    undo_step(Undo("unmount", {"path": str(directory)}), None)
    assert not directory.is_mount()
    assert (directory / "kept.json").read_text() == "{}"
    undo_step(Undo("unmount", {"path": str(directory)}), None)  # again: nothing to do


class Controls:
    """The runtime's verbs, recorded: what the undo stopped and started, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def stop(self, unit: str) -> None:
        self.calls.append(f"stop {unit}")

    def start(self, unit: str) -> None:
        self.calls.append(f"start {unit}")


def test_put_back_replaces_a_half_rebuilt_server_with_the_old_one(tmp_path: Path) -> None:
    live, moved = tmp_path / "pgdata", tmp_path / "pgdata.lost"
    moved.mkdir()
    (moved / "PG_VERSION").write_text("15")
    live.mkdir()
    (live / "half-rebuilt").write_text("")
    controls = Controls()
    step = Undo("put-back", {"moved": str(moved), "live": str(live), "unit": "postgres"})

    undo_step(step, controls)
    assert sorted(p.name for p in live.iterdir()) == ["PG_VERSION"] and not moved.exists()
    assert controls.calls == ["stop postgres", "start postgres"]
    undo_step(step, controls)  # again: nothing moved away any more, nothing to do
    assert controls.calls == ["stop postgres", "start postgres"]
