"""The full disaster-recovery drill: `nox -s drill -- dr --full` (local runtime only).

Steady state (a user registered through the gateway can log in; a verified backup of every
service database taken after that exists) → fault (PostgreSQL stopped and its data directory
moved away: the server is lost) → recovery (`python -m stack up` builds an empty server with
every role and database, then `python -m stack restore <service>` for each) → verify (the user
logs in again, every service is healthy) → rollback (on failure, the old data directory is put
back and `up` runs again). The RTO is measured from the wipe until the data is served."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from chaos.dr import DrillResult, can_log_in, stack_command
from grader import journeys
from grader.errors import CheckFailed
from grader.polling import poll_until
from grader.target import Target
from stack.paths import DataDir
from stack.runtimes.local import postgres
from stack.topology import topology


def pgdata(target: Target) -> Path:
    if target.control.data_dir is None:
        raise CheckFailed("the full DR drill needs the local control driver (control.data_dir)")
    return postgres.data_dir(DataDir(target.control.data_dir), topology().get("postgres"))


def run_full(target: Target, gateway: httpx.Client, player: journeys.Player) -> DrillResult:
    if not can_log_in(gateway, player):
        raise CheckFailed(f"steady state: {player.username} cannot log in before the drill")
    live = pgdata(target)
    moved = live.with_name(f"{live.name}.lost-{int(time.time())}")
    started = time.monotonic()
    recovered = False
    outputs = []
    try:
        stack_command(target, "stop", "postgres")
        live.rename(moved)  # the server's disk is gone
        outputs.append(stack_command(target, "up", timeout=600))
        for service in target.service_names():
            outputs.append(stack_command(target, "restore", service))
        poll_until(
            lambda: can_log_in(gateway, player),
            f"{player.username} to log in again after the rebuild",
            timeout=target.timeouts.get("healthy"),
        )
        rto = time.monotonic() - started
        recovered = True
    finally:
        if recovered:
            shutil.rmtree(moved, ignore_errors=True)
        elif moved.exists():  # rollback: the old server back as it was
            stack_command(target, "stop", "postgres")
            shutil.rmtree(live, ignore_errors=True)
            moved.rename(live)
            stack_command(target, "up", timeout=600)
    return DrillResult(backup_id="latest of each", rto_s=rto, restore_output="\n".join(outputs))
