"""Unit tests of the backup directory: atomic writes, a full disk, a corrupted or truncated
dump failing verification before anything is restored, a nonexistent id."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from backup_service import offbox, store
from backup_service.offbox import DirectoryTarget
from backup_service.pg import BackupError, Server


def test_full_disk_is_a_clear_failure_and_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "db" / "x.dump"

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"half a dump")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(BackupError, match="No space left on device"):
        store.write_atomically(target, write)
    assert list((tmp_path / "db").iterdir()) == []


def test_write_json_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    store.write_json(path, {"a": 1})
    store.write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def make_backup(root: Path, content: bytes, *, stamp: str = "20260101T000000Z") -> store.Backup:
    b = store.Backup(root, {"id": f"db/{stamp}", "database": "db", "stamp": stamp})
    b.dump_path.parent.mkdir(parents=True, exist_ok=True)
    b.dump_path.write_bytes(content)
    b.manifest.update(sha256=store.sha256_of(b.dump_path), tables={}, verification=None)
    b.save()
    return b


# No server behind it: verification must fail on the checksum before it connects anywhere.
UNREACHABLE = Server(host="127.0.0.1", port=1, user="postgres", password="x")


@pytest.mark.parametrize("damage", ["corrupt", "truncate"])
def test_damaged_dump_fails_verification(tmp_path: Path, damage: str) -> None:
    b = make_backup(tmp_path, b"PGDMP" + bytes(range(256)) * 10)
    data = b.dump_path.read_bytes()
    b.dump_path.write_bytes(data[:100] if damage == "truncate" else data[:50] + b"X" + data[51:])
    store.verify(UNREACHABLE, b)
    saved = json.loads(b.manifest_path.read_text())
    assert saved["verification"]["ok"] is False
    assert "differs from the manifest" in saved["verification"]["detail"]
    assert not store.Backup(tmp_path, saved).verified


def test_unknown_id_lists_the_available_backups(tmp_path: Path) -> None:
    make_backup(tmp_path, b"one", stamp="20260101T000000Z")
    with pytest.raises(
        BackupError, match=r"no backup 'nope'.*db/20260101T000000Z \(NOT verified\)"
    ):
        store.find(tmp_path, "db", "nope")
    with pytest.raises(BackupError, match="no verified backup of db"):
        store.find(tmp_path, "db", "latest")


def test_offbox_copy_is_checked_and_removed(tmp_path: Path) -> None:
    b = make_backup(tmp_path / "main", b"dump bytes")
    target = DirectoryTarget(tmp_path / "offbox")
    record = target.put(b)
    copy = tmp_path / "offbox" / "db" / b.dump_path.name
    assert copy.read_bytes() == b"dump bytes"
    assert record == {"path": str(copy), "sha256_verified": True}
    assert json.loads(copy.with_suffix(".json").read_text())["offbox"] == record
    target.remove(b)
    assert list((tmp_path / "offbox" / "db").iterdir()) == []


def test_offbox_copy_that_reads_back_wrong_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = make_backup(tmp_path / "main", b"dump bytes")
    monkeypatch.setattr(offbox, "sha256_of", lambda path: "0" * 64)  # the disk returns junk
    with pytest.raises(BackupError, match=f"has sha256 0{{64}}, expected {b.manifest['sha256']}"):
        DirectoryTarget(tmp_path / "offbox").put(b)
    assert list((tmp_path / "offbox" / "db").iterdir()) == []


def test_compare_names_the_table() -> None:
    problems = store.compare(
        {"public.t": {"rows": 2, "checksum": "a"}}, {"public.t": {"rows": 1, "checksum": "b"}}
    )
    assert problems == [
        "public.t: expected {'rows': 2, 'checksum': 'a'}, observed {'rows': 1, 'checksum': 'b'}"
    ]
