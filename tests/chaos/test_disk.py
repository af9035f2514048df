"""The backup-disk-full drill's filesystem: the directory keeps its files, and the next write
meets the kernel's ENOSPC."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from chaos import disk

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


def test_the_directory_keeps_its_files_and_refuses_a_new_one(tmp_path: Path) -> None:
    directory = tmp_path / "games"
    directory.mkdir()
    (directory / "20260101T000000Z.dump").write_bytes(os.urandom(40_000))
    (directory / "20260101T000000Z.json").write_text('{"id": "games/20260101T000000Z"}')
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    try:
        disk.mount_full(directory)
        assert directory.is_mount()
        copies = {p.name: p.read_bytes() for p in directory.iterdir() if p.name != disk.FILLER}
        assert copies == before
        assert disk.listing(directory) == sorted(before)
        with pytest.raises(OSError) as refused:
            (directory / ".next.dump.partial").write_bytes(b"x" * 8192)
        assert refused.value.errno == errno.ENOSPC
    finally:
        subprocess.run(["umount", str(directory)], check=False)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
