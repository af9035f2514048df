"""Integration: a real full backup disk (a 16 KiB tmpfs, mounted as root for this test) under a
real pg_dump: the run fails at its dump stage with the kernel's own message, leaves no partial
file, counts the failure (BackupFailed fires on it) and keeps the good backup already there."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_service import pg, store
from backup_service.cron import Cron
from backup_service.offbox import DirectoryTarget
from backup_service.rotation import Keep
from backup_service.scheduler import Scheduler
from prometheus_client import REGISTRY

pytestmark = pytest.mark.integration
DATABASE = "status"  # its dump is ≈17 KiB: more than the disk holds


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root); test_store.py fakes ENOSPC")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_fails_the_dump_cleanly(
    full_disk: Path, server: pg.Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(
        servers={DATABASE: server},
        root=full_disk,
        offbox=DirectoryTarget(tmp_path / "offbox"),
        cron=Cron.parse("0 * * * *"),
        keep=Keep(hourly=0, daily=0, weekly=0, monthly=0),
    )
    (full_disk / DATABASE).mkdir()
    good = store.Backup(
        full_disk,
        {"id": f"{DATABASE}/20260101T000000Z", "database": DATABASE, "stamp": "20260101T000000Z"},
    )
    good.dump_path.write_bytes(b"an older good dump")
    good.manifest.update(sha256=store.sha256_of(good.dump_path), verification={"ok": True})
    good.save()
    before = sorted(p.name for p in (full_disk / DATABASE).iterdir())
    labels = {"database": DATABASE, "stage": "dump"}
    failures = REGISTRY.get_sample_value("backup_failures_total", labels) or 0

    with caplog.at_level(logging.ERROR, logger="backup"):
        assert scheduler.backup_one(DATABASE, server) is None

    message = "\n".join(r.getMessage() for r in caplog.records)
    assert f"backup of {DATABASE} failed at dump: " in message, message
    assert "No space left on device" in message, message
    assert sorted(p.name for p in (full_disk / DATABASE).iterdir()) == before, "a partial file"
    assert REGISTRY.get_sample_value("backup_failures_total", labels) == failures + 1
    assert [b.id for b in store.list_backups(full_disk, DATABASE)] == [good.id]
