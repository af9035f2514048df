"""The restore steps that touch backups and PostgreSQL, as a command line that
`python -m stack restore` runs in both runtimes: beside the stack with the backup service's
environment (local), and through `docker compose exec -T backup ...` (compose: the backup
volumes and the database servers are only reachable from inside the compose network). A
backup that is on neither local disk is downloaded from the S3 off-box target, if that is one.

    python -m backup_service.recover choose <database> <backup|latest> [--force]
    python -m backup_service.recover restore <database> <backup id>

Both print one JSON object; on failure, the reason on stderr and exit status 1."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from backup_service import pg, store
from backup_service.offbox import OffboxTarget, S3Target
from backup_service.pg import BackupError, Server


def choose(roots: list[Path], database: str, wanted: str, *, force: bool) -> store.Backup:
    """The backup to restore: from the first root that has it with its dump (the backup
    directory, then the off-box copy), verified unless forced, its sha256 re-checked."""
    chosen, errors = None, []
    for root in roots:
        try:
            candidate = store.find(root, database, wanted)
        except BackupError as exc:
            errors.append(str(exc))
            continue
        if candidate.dump_path.exists():
            chosen = candidate
            break
        errors.append(f"{candidate.id}: its dump {candidate.dump_path} is missing")
    if chosen is None:
        raise BackupError("; ".join(dict.fromkeys(errors)))
    if not chosen.verified and not force:
        raise BackupError(
            f"backup {chosen.id} is not verified ({(chosen.manifest.get('verification') or {})}); "
            "pass --force to restore it anyway, or choose a verified one with --backup"
        )
    actual = store.sha256_of(chosen.dump_path)
    if actual != chosen.manifest["sha256"]:
        raise BackupError(
            f"{chosen.dump_path}: sha256 {actual} differs from the manifest's "
            f"{chosen.manifest['sha256']}: the file is damaged; choose another with --backup"
        )
    return chosen


def locate(
    roots: list[Path],
    target: OffboxTarget,
    database: str,
    wanted: str,
    *,
    force: bool,
    scratch: Path,
) -> store.Backup:
    """`choose` among the local roots; if none has it and the off-box target is a bucket,
    download it from there into `scratch` (a lost backup disk, in compose)."""
    try:
        return choose(roots, database, wanted, force=force)
    except BackupError as local:
        if not isinstance(target, S3Target):
            raise
        try:
            target.fetch(database, wanted, scratch)
        except BackupError as remote:
            raise BackupError(f"{local}; and from {target.description}: {remote}") from None
        return choose([scratch], database, wanted, force=force)


def restore_database(server: Server, backup: store.Backup) -> dict[str, int]:
    """Recreate the database (owned by its service's role), restore the dump in one
    transaction, compare every table with the manifest. Returns the tables and rows."""
    database = backup.database
    pg.recreate(server, database, owner=database)
    pg.restore(server, backup.dump_path, database, keep_owner=True)
    with server.connect(database) as conn:
        problems = store.compare(backup.manifest["tables"], pg.fingerprints(conn))
    if problems:
        raise BackupError(
            f"database {database} differs from the manifest after the restore: "
            + "; ".join(problems[:5])
        )
    tables = backup.manifest["tables"]
    return {"tables": len(tables), "rows": sum(int(t["rows"]) for t in tables.values())}


def summary(backup: store.Backup) -> dict[str, Any]:
    return {**backup.manifest, "source": str(backup.dump_path)}


def main(argv: list[str] | None = None) -> int:
    from chassis import SettingsError, load_settings

    from backup_service.config import Settings

    parser = argparse.ArgumentParser(prog="python -m backup_service.recover")
    parser.add_argument("step", choices=["choose", "restore"])
    parser.add_argument("database")
    parser.add_argument("backup")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(Settings)
        known = settings.database_names
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    if args.database not in known:
        sys.stderr.write(f"unknown database {args.database!r}; known: {known}\n")
        return 1
    roots = [settings.backup_dir, *([settings.offbox_dir] if settings.offbox_dir else [])]
    # `restore` names the id `choose` answered; it was forced (or verified) then.
    force = args.force or args.step != "choose"
    try:
        with tempfile.TemporaryDirectory(prefix="offbox-fetch-") as scratch:
            chosen = locate(
                roots,
                settings.offbox_target(),
                args.database,
                args.backup,
                force=force,
                scratch=Path(scratch),
            )
            result = summary(chosen)
            if args.step == "restore":
                result = restore_database(settings.server_for(args.database), chosen)
    except Exception as exc:  # BackupError, psycopg errors: one line for the caller to show
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
