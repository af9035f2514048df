"""`python -m stack restore <service> [--backup ID|latest] [--force]` for the local runtime.

Stop the service (every unit), restore its database from a verified backup in one transaction,
check every table's row count and checksum against the backup's manifest, start the service
(it runs its Alembic migrations at start, so a backup from an older schema is brought up to
date) and wait until it is healthy. The dump is looked for in the backup directory, then in
the off-box copy (a lost backup disk is one of the failures this recovers from)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from stack.errors import StackError
from stack.runtimes.local.runtime import LocalRuntime
from stack.secrets import Secrets
from stack.topology import HOST

Say = Callable[[str], None]


@dataclass(frozen=True)
class Restored:
    service: str
    database: str
    backup_id: str
    source: str
    tables: int
    rows: int
    rpo_s: float
    rto_s: float


def _database_of(runtime: LocalRuntime, service: str) -> str:
    units = runtime.topology.resolve(service)
    spec = units[0].service
    if spec is None or spec.database is None:
        owners = sorted(
            {c.replica_of or c.name for c in runtime.topology if c.service and c.service.database}
        )
        raise StackError(f"{service!r} has no database to restore; services with one: {owners}")
    return spec.database


def restore(
    runtime: LocalRuntime,
    service: str,
    *,
    backup: str = "latest",
    force: bool = False,
    say: Say = lambda line: None,
) -> Restored:
    from backup_service import pg, store  # the backup service's own manifest and restore code

    started = time.monotonic()
    database = _database_of(runtime, service)
    roots = [runtime.data.component_data("backup"), runtime.data.component_data("backup-offbox")]
    chosen, errors = None, []
    for root in roots:
        try:
            candidate = store.find(root, database, backup)
        except pg.BackupError as exc:
            errors.append(str(exc))
            continue
        if candidate.dump_path.exists():
            chosen = candidate
            break
        errors.append(f"{candidate.id}: its dump {candidate.dump_path} is missing")
    if chosen is None:
        raise StackError("; ".join(dict.fromkeys(errors)))
    if not chosen.verified and not force:
        raise StackError(
            f"backup {chosen.id} is not verified ({(chosen.manifest.get('verification') or {})}); "
            "pass --force to restore it anyway, or choose a verified one with --backup"
        )
    actual = store.sha256_of(chosen.dump_path)
    if actual != chosen.manifest["sha256"]:
        raise StackError(
            f"{chosen.dump_path}: sha256 {actual} differs from the manifest's "
            f"{chosen.manifest['sha256']}: the file is damaged; choose another with --backup"
        )
    say(f"backup {chosen.id} taken {chosen.manifest['created_at']} from {chosen.dump_path}")

    server = pg.Server(
        host=HOST,
        port=runtime.topology.get("postgres").port,
        user="postgres",
        password=Secrets(runtime.data.secrets).read("postgres_password"),
    )
    runtime.stop(service)
    say(f"stopped {service}")
    pg.recreate(server, database, owner=database)
    pg.restore(server, chosen.dump_path, database, keep_owner=True)
    say(f"restored database {database} (pg_restore --single-transaction)")
    with server.connect(database) as conn:
        problems = store.compare(chosen.manifest["tables"], pg.fingerprints(conn))
    if problems:
        raise StackError(
            f"database {database} differs from the manifest after the restore; {service} is left "
            "stopped: " + "; ".join(problems[:5])
        )
    tables = chosen.manifest["tables"]
    rows = sum(int(t["rows"]) for t in tables.values())
    say(f"verified: {len(tables)} tables, {rows} rows, checksums equal the manifest")
    runtime.start(service)
    say(f"started {service}: migrations ran at its start, /health passes")
    rpo = (datetime.now(UTC) - chosen.created).total_seconds()
    return Restored(
        service=service,
        database=database,
        backup_id=chosen.id,
        source=str(chosen.dump_path),
        tables=len(tables),
        rows=rows,
        rpo_s=rpo,
        rto_s=time.monotonic() - started,
    )
