"""The schedule: at every cron tick, for each database: dump, verify, copy off-box, rotate.
Metrics are set from what is on disk at start, so a restart does not forget the last backup.

One fault flag (`PUT /api/v1/backups/faults`, admin token) damages the next dump of a database
after its manifest is written and re-signs it, as a buggy pg_dump or a bad disk under it would:
only the restore test can tell, so a drill sees BackupVerificationFailed fire for real."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import Counter, Gauge

from backup_service import store
from backup_service.cron import Cron
from backup_service.offbox import DirectoryTarget, OffboxTarget
from backup_service.pg import BackupError, Server
from backup_service.rotation import Keep, to_prune
from backup_service.store import Backup

log = logging.getLogger("backup")

LAST_SUCCESS = Gauge(
    "backup_last_success_timestamp_seconds",
    "When the last successful dump of the database finished",
    ["database"],
)
LAST_VERIFIED = Gauge(
    "backup_last_verified_timestamp_seconds",
    "When the newest backup that passed its restore test was taken",
    ["database"],
)
VERIFY_FAILURES = Counter(
    "backup_verification_failures", "Backups that failed their restore test", ["database"]
)
FAILURES = Counter(
    "backup_failures", "Backup runs that failed (dump, verify, off-box copy)", ["database", "stage"]
)
DURATION = Gauge(
    "backup_duration_seconds", "Duration of the last run's stage", ["database", "stage"]
)
SIZE = Gauge("backup_size_bytes", "Size of the newest dump", ["database"])
COUNT = Gauge("backup_count", "Backups kept on disk", ["database"])
STAGES = ("dump", "verify", "offbox", "rotate")


@dataclass
class Scheduler:
    servers: dict[str, Server]
    root: Path
    offbox: OffboxTarget
    cron: Cron
    keep: Keep

    def __post_init__(self) -> None:
        self.lock = asyncio.Lock()
        self.next_run: datetime | None = None
        self.corrupt_next: str | None = None  # the fault flag: a database name, or off
        # A process killed mid-write (SIGKILL, power loss) leaves its temporary file: never
        # a backup, so it goes before anything lists the directory.
        directories = [self.root]
        if isinstance(self.offbox, DirectoryTarget):
            directories.append(self.offbox.root)
        for directory in directories:
            for partial in directory.glob("*/.*.partial"):
                partial.unlink(missing_ok=True)
                log.warning("removed %s, left by an interrupted run", partial)
        for database in self.servers:
            VERIFY_FAILURES.labels(database)  # created at 0: the first failure is an increase
            for stage in STAGES:
                FAILURES.labels(database, stage)
            self._refresh_metrics(database)

    def _refresh_metrics(self, database: str) -> None:
        backups = store.list_backups(self.root, database)
        COUNT.labels(database).set(len(backups))
        if backups:
            # Absent until the first backup: BackupStale must not read "never" as 1970.
            LAST_SUCCESS.labels(database).set(backups[-1].created.timestamp())
            SIZE.labels(database).set(float(backups[-1].manifest.get("size_bytes", 0)))
        verified = [b for b in backups if b.verified]
        if verified:
            LAST_VERIFIED.labels(database).set(verified[-1].created.timestamp())

    def backup_one(self, database: str, server: Server) -> Backup | None:
        """One database, every stage; a failure is logged and counted, never raised."""
        stage = "dump"
        try:
            started = time.monotonic()
            backup = store.take(server, database, self.root)
            DURATION.labels(database, "dump").set(time.monotonic() - started)
            if self.corrupt_next == database:
                self.corrupt_next = None
                damage(backup)
            self._refresh_metrics(database)
            stage = "verify"
            started = time.monotonic()
            store.verify(server, backup)
            DURATION.labels(database, "verify").set(time.monotonic() - started)
            if not backup.verified:
                VERIFY_FAILURES.labels(database).inc()
                FAILURES.labels(database, "verify").inc()
                log.error(
                    "backup %s failed verification: %s",
                    backup.id,
                    backup.manifest["verification"]["detail"],
                    extra={"event.outcome": "failure", "labels.database": database},
                )
                return backup
            stage = "offbox"
            started = time.monotonic()
            backup.manifest["offbox"] = self.offbox.put(backup)
            backup.save()
            DURATION.labels(database, "offbox").set(time.monotonic() - started)
            stage = "rotate"
            for old in to_prune(store.list_backups(self.root, database), self.keep):
                self.offbox.remove(old)  # first: if it fails, the next run finds both again
                store.remove(old)
                log.info("pruned %s (rotation)", old.id)
            log.info(
                "backup %s verified: %s bytes, %s",
                backup.id,
                backup.manifest["size_bytes"],
                backup.manifest["verification"]["detail"],
                extra={"event.outcome": "success", "labels.database": database},
            )
            return backup
        except Exception as exc:  # e.g. disk full, server down: counted, alerted, logged
            FAILURES.labels(database, stage).inc()
            log.error(
                "backup of %s failed at %s: %s",
                database,
                stage,
                exc,
                extra={"event.outcome": "failure", "labels.database": database},
            )
            return None
        finally:
            self._refresh_metrics(database)

    def run_once(self) -> list[Backup | None]:
        return [self.backup_one(db, server) for db, server in self.servers.items()]

    async def run_now(self) -> list[Backup | None]:
        async with self.lock:  # one cycle at a time: scheduled and requested runs never overlap
            return await asyncio.to_thread(self.run_once)

    async def run(self, *, on_start: bool) -> None:
        if on_start:
            await self.run_now()
        while True:
            self.next_run = self.cron.next_after(datetime.now(UTC))
            await asyncio.sleep(max(0.0, (self.next_run - datetime.now(UTC)).total_seconds()))
            await self.run_now()


def damage(backup: Backup) -> None:
    """The fault: cut the dump in half and record the new sha256, so the checksum passes and
    only pg_restore can find out."""
    data = backup.dump_path.read_bytes()
    backup.dump_path.write_bytes(data[: len(data) // 2])
    backup.manifest["sha256"] = store.sha256_of(backup.dump_path)
    backup.manifest["size_bytes"] = backup.dump_path.stat().st_size
    backup.save()
    log.warning("fault flag: damaged %s after it was written", backup.id)


def ensure_writable(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {directory}: {exc.strerror}") from exc
