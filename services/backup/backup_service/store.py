"""The backup directory: `<root>/<database>/<UTC timestamp>.dump` beside its `.json` manifest.

Every file is written to a hidden temporary name and renamed into place, so a reader (the
restore command, the grader, the off-box copy of offbox.py) never sees a partial dump or
manifest, and a full disk leaves nothing behind but an error."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backup_service import pg
from backup_service.pg import BackupError, Server

STAMP = "%Y%m%dT%H%M%SZ"
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """`write(tmp)` then fsync and rename to `path`; on any failure the temp file is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        write(tmp)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


@dataclass
class Backup:
    """One dump and its manifest (the manifest's dict is the source of truth, on disk)."""

    root: Path
    manifest: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.manifest["id"])

    @property
    def database(self) -> str:
        return str(self.manifest["database"])

    @property
    def created(self) -> datetime:
        return datetime.strptime(str(self.manifest["stamp"]), STAMP).replace(tzinfo=UTC)

    @property
    def dump_path(self) -> Path:
        return self.root / self.database / f"{self.manifest['stamp']}.dump"

    @property
    def manifest_path(self) -> Path:
        return self.dump_path.with_suffix(".json")

    @property
    def verified(self) -> bool:
        verification = self.manifest.get("verification") or {}
        return bool(verification.get("ok"))

    def save(self) -> None:
        write_json(self.manifest_path, self.manifest)


def backup_id(database: str, stamp: str) -> str:
    return f"{database}/{stamp}"


def list_backups(root: Path, database: str) -> list[Backup]:
    """Oldest first. A manifest that cannot be read is skipped (it is not a usable backup)."""
    found = []
    for path in sorted((root / database).glob("*.json")):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("database") == database:
            found.append(Backup(root, manifest))
    return found


def find(root: Path, database: str, wanted: str) -> Backup:
    """`latest` (the newest verified backup) or an id (`<database>/<stamp>` or `<stamp>`)."""
    backups = list_backups(root, database)
    if wanted == "latest":
        verified = [b for b in backups if b.verified]
        if not verified:
            raise BackupError(
                f"no verified backup of {database} in {root / database}; "
                f"available: {_names(backups)}"
            )
        return verified[-1]
    stamp = wanted.split("/", 1)[1] if wanted.startswith(f"{database}/") else wanted
    for b in backups:
        if b.manifest["stamp"] == stamp:
            return b
    raise BackupError(f"no backup {wanted!r} of {database}; available: {_names(backups)}")


def _names(backups: list[Backup]) -> str:
    if not backups:
        return "none"
    return ", ".join(f"{b.id} ({'verified' if b.verified else 'NOT verified'})" for b in backups)


def take(server: Server, database: str, root: Path, *, now: datetime | None = None) -> Backup:
    """Dump `database` and write its manifest (unverified yet)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    while (root / database / f"{now.strftime(STAMP)}.json").exists():
        now += timedelta(seconds=1)  # two runs within a second: never overwrite a backup
    stamp = now.strftime(STAMP)
    backup = Backup(root, {"id": backup_id(database, stamp), "database": database, "stamp": stamp})
    started = time.monotonic()
    result: dict[str, Any] = {}

    def write(tmp: Path) -> None:
        result["tables"], result["version"] = pg.dump(server, database, tmp)

    write_atomically(backup.dump_path, write)
    try:
        backup.manifest.update(
            created_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            file=backup.dump_path.name,
            format="pg_dump custom (-Fc)",
            size_bytes=backup.dump_path.stat().st_size,
            sha256=sha256_of(backup.dump_path),
            server_version=result["version"],
            duration_s=round(time.monotonic() - started, 3),
            tables=result["tables"],
            verification=None,
            offbox=None,
        )
        backup.save()
    except BaseException:
        backup.dump_path.unlink(missing_ok=True)  # a dump without its manifest is useless
        raise
    return backup


def compare(expected: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    """Differences between two fingerprint maps, as readable lines (empty: equal)."""
    problems = []
    for table in sorted(set(expected) | set(observed)):
        want, got = expected.get(table), observed.get(table)
        if want != got:
            problems.append(f"{table}: expected {want}, observed {got}")
    return problems


def verify(server: Server, backup: Backup, *, scratch_name: str | None = None) -> Backup:
    """Restore into a scratch database and compare with the manifest; record the result."""
    started = time.monotonic()
    ok, detail = True, ""
    try:
        actual = sha256_of(backup.dump_path)
        if actual != backup.manifest["sha256"]:
            raise BackupError(
                f"sha256 {actual} differs from the manifest's {backup.manifest['sha256']}"
            )
        name = scratch_name or f"backup_verify_{backup.database}"
        with pg.scratch(server, name):
            pg.restore(server, backup.dump_path, name, keep_owner=False)
            with server.connect(name) as conn:
                problems = compare(backup.manifest["tables"], pg.fingerprints(conn))
            if problems:
                raise BackupError(
                    "restored data differs from the manifest: " + "; ".join(problems[:5])
                )
            detail = (
                f"restored into {name}: {len(backup.manifest['tables'])} tables, row counts "
                f"and checksums equal the manifest; {pg.amcheck(server, name)}"
            )
    except (BackupError, OSError) as exc:
        ok, detail = False, str(exc)
    except Exception as exc:  # a psycopg error from the scratch database: the backup failed
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    backup.manifest["verification"] = {
        "ok": ok,
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "duration_s": round(time.monotonic() - started, 3),
        "detail": detail[:2000],
    }
    backup.save()
    return backup


def remove(backup: Backup) -> None:
    """Delete the dump and manifest here (the off-box target removes its own copy)."""
    for path in (backup.dump_path, backup.manifest_path):
        path.unlink(missing_ok=True)
