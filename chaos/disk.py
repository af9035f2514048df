"""A full filesystem under one database's backup directory, for the backup-disk-full drill.

Filling the real disk would stop every datastore of the machine, not only the backups. So a
small tmpfs is mounted over the directory, the backups already there are copied into it (the
service still lists and serves them), and the rest of it is filled: the next dump meets the
kernel's own ENOSPC. Unmounting (the ledger's `unmount` undo) brings back the directory as
it was underneath; nothing the service wrote during the fault survives, and nothing could be
written but the filler.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from chaos.context import ChaosFailed
from grader.target import Target
from stack.paths import DataDir

FILLER = ".chaos-filler"  # a dot-file: the backup service lists `*.json` manifests only
SLACK_BYTES = 64 * 1024  # room for the copies' rounding to pages, then filled up


def backup_directory(target: Target, database: str) -> Path:
    """Where the local runtime's backup service keeps `database`'s backups."""
    if target.control.driver != "local" or target.control.data_dir is None:
        raise ChaosFailed(
            "backup-disk-full mounts a filesystem over the backup directory on this machine: "
            f"it needs the local runtime (target {target.name!r} runs {target.control.driver})"
        )
    data = DataDir(target.control.data_dir)
    directory = data.component_data(target.backups.component) / database
    if not directory.is_dir():
        raise ChaosFailed(f"no backup directory {directory} for database {database!r}")
    return directory


def listing(directory: Path) -> list[str]:
    """The files of a backup directory, the filler left out."""
    return sorted(p.name for p in directory.iterdir() if p.name != FILLER)


def mount_full(directory: Path) -> int:
    """Mount a tmpfs over `directory` holding copies of its files, filled to the last byte.
    Returns the bytes left free (0). Needs root, as `mount` does."""
    if directory.is_mount():
        raise ChaosFailed(f"{directory} is already a mount point: an earlier fault left it")
    with tempfile.TemporaryDirectory(prefix="chaos-disk-") as staging:
        copies = Path(staging) / "copies"
        shutil.copytree(directory, copies)
        files = list(copies.iterdir())
        size = sum(p.stat().st_size for p in files) + SLACK_BYTES * (1 + len(files))
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode != 0:
            raise ChaosFailed(
                f"mount -t tmpfs over {directory}: {mounted.stderr.strip()} (needs root)"
            )
        for copy in files:
            shutil.copy2(copy, directory / copy.name)
    _fill(directory / FILLER)
    return shutil.disk_usage(directory).free


def _fill(path: Path) -> None:
    """Write zeros until the filesystem refuses more (ENOSPC): big chunks, then small ones
    for the last pages a big chunk did not fit in."""
    with path.open("wb", buffering=0) as f:
        for chunk in (bytes(64 * 1024), bytes(512)):
            with contextlib.suppress(OSError):
                while True:
                    f.write(chunk)
