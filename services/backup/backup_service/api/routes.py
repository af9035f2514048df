"""`/api/v1/backups` (admin bearer token): the backups, their manifests and verification
state, a dump's download (the grader restores it itself), a run on demand, and the fault
flag that damages the next dump (for the backup-corrupt drill)."""

from __future__ import annotations

from typing import Annotated, Any

from chassis.faults import require_admin
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict

from backup_service import store
from backup_service.pg import BackupError
from backup_service.scheduler import Scheduler

router = APIRouter(
    prefix="/api/v1/backups", tags=["backups"], dependencies=[Depends(require_admin)]
)


def get_scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


SchedulerDep = Annotated[Scheduler, Depends(get_scheduler)]


def _known(scheduler: Scheduler, database: str) -> None:
    if database not in scheduler.servers:
        raise HTTPException(
            404, f"unknown database {database!r}; known: {sorted(scheduler.servers)}"
        )


def _view(backup: store.Backup) -> dict[str, Any]:
    return {**backup.manifest, "verified": backup.verified}


@router.get("")
def list_backups(scheduler: SchedulerDep, database: str | None = None) -> dict[str, Any]:
    if database is not None:
        _known(scheduler, database)
    names = [database] if database else list(scheduler.servers)
    return {
        "schedule": scheduler.cron.expression,
        "next_run": scheduler.next_run.isoformat() if scheduler.next_run else None,
        "backups": [_view(b) for n in names for b in store.list_backups(scheduler.root, n)],
    }


@router.post("")
async def run_now(scheduler: SchedulerDep) -> dict[str, Any]:
    done = await scheduler.run_now()
    return {
        "backups": [_view(b) for b in done if b is not None],
        "failed": [db for db, b in zip(scheduler.servers, done, strict=True) if b is None],
    }


class BackupFaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A database whose next dump is damaged after it is written (then re-signed), or null.
    corrupt_next_dump: str | None = None


@router.get("/faults")
def get_faults(scheduler: SchedulerDep) -> BackupFaults:
    return BackupFaults(corrupt_next_dump=scheduler.corrupt_next)


@router.put("/faults")
def put_faults(scheduler: SchedulerDep, faults: BackupFaults) -> BackupFaults:
    if faults.corrupt_next_dump is not None:
        _known(scheduler, faults.corrupt_next_dump)
    scheduler.corrupt_next = faults.corrupt_next_dump
    return faults


def _find(scheduler: Scheduler, database: str, stamp: str) -> store.Backup:
    _known(scheduler, database)
    try:
        return store.find(scheduler.root, database, stamp)
    except BackupError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/{database}/{stamp}")
def manifest(scheduler: SchedulerDep, database: str, stamp: str) -> dict[str, Any]:
    return _view(_find(scheduler, database, stamp))


@router.get("/{database}/{stamp}/dump")
def download(scheduler: SchedulerDep, database: str, stamp: str) -> FileResponse:
    backup = _find(scheduler, database, stamp)
    return FileResponse(
        backup.dump_path,
        media_type="application/octet-stream",
        filename=f"{database}-{backup.manifest['stamp']}.dump",
    )
