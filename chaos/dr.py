"""The disaster-recovery steps the grader's DR check (`hc-recovery-tested`) and the chaos
experiments `database-lost` and `server-lost` share: log a marker user in, run
`python -m stack ...` against the target's local stack, drop a database, find the server's
data directory.

`run` is the grader's drill: steady state (a user registered through the gateway can log in,
and a verified backup taken after the registration exists) → fault (the service's database
is dropped) → recovery (`python -m stack restore <service>`) → verify (the user logs in again)
→ rollback (if anything failed: the database as it was, from a safety copy the drill took with
pg_dump before the drop, never from the backups under test), and the measured RTO: from the
drop until the restored data is served again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from grader import backups, journeys, safety
from grader.errors import CheckFailed, GraderError
from grader.polling import poll_until
from grader.target import Target

SERVICE = "auth"  # its data (accounts) is what a user notices first when it is lost


@dataclass(frozen=True)
class DrillResult:
    backup_id: str
    rto_s: float
    restore_output: str
    safety_copy: str  # the pg_dump taken before the drop, kept for a restore by hand


def can_log_in(gateway: httpx.Client, username: str) -> bool:
    """The user (registered by `journeys.register`, so with its password) logs in."""
    login = {"username": username, "password": journeys.PASSWORD}
    return gateway.post("/api/auth/login", json=login).status_code == 200


def stack_command(target: Target, *args: str, timeout: float = 300) -> str:
    """`python -m stack ...` against the target's local stack (its data dir)."""
    control = target.control
    if control.driver != "local" or control.project_dir is None or control.data_dir is None:
        raise CheckFailed(f"the DR drill needs the local control driver, got {control.driver!r}")
    done = subprocess.run(
        [sys.executable, "-m", "stack", *args],
        cwd=control.project_dir,
        env={**os.environ, "STACK_DATA_DIR": str(control.data_dir), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise CheckFailed(f"`python -m stack {' '.join(args)}` failed: {output[-800:]}")
    return output


def server_directory(target: Target, component: str) -> Path:
    """The data directory of the local runtime's PostgreSQL `component`: the server's disk."""
    if target.control.driver != "local" or target.control.data_dir is None:
        raise CheckFailed(
            "losing the database server moves its data directory on this machine: it needs "
            f"the local runtime (target {target.name!r} runs {target.control.driver})"
        )
    from stack.paths import DataDir  # the launcher's own layout: the grader's checks never
    from stack.runtimes.local import postgres  # come here, so they do not import it
    from stack.topology import topology

    return postgres.data_dir(DataDir(target.control.data_dir), topology().get(component))


def drop_database(target: Target, database: str) -> None:
    with backups.Superuser(target).connect("postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))


def run(
    target: Target,
    gateway: httpx.Client,
    player: journeys.Player,
    backup: dict[str, Any],
    *,
    service: str = SERVICE,
) -> DrillResult:
    """The drill proper, given a player whose account is in `backup` (a verified backup)."""
    timeout = target.timeouts.get("healthy")
    if not can_log_in(gateway, player.username):  # steady state
        raise CheckFailed(f"steady state: {player.username} cannot log in before the drill")
    database = str(backup["database"])
    copy = safety.take(target, database)  # raises, and nothing is dropped, if it cannot
    started = time.monotonic()
    try:
        drop_database(target, database)  # the fault
        poll_until(
            lambda: not can_log_in(gateway, player.username),
            f"logins to fail once database {database} is dropped",
            timeout=10,
        )
        output = stack_command(target, "restore", service, "--backup", "latest")
        poll_until(
            lambda: can_log_in(gateway, player.username),
            f"{player.username} (registered before {backup['id']}, the newest verified "
            f"backup) to log in again after `restore {service} --backup latest`",
            timeout=timeout,
        )
        rto = time.monotonic() - started
    except BaseException as exc:
        # Rollback: the data as it was before the drill, from the safety copy, never from
        # the backups under test (an empty backup would be restored again).
        problem = roll_back(target, service, copy)
        if problem:
            raise CheckFailed(f"{exc}; the rollback failed too: {problem}") from exc
        if isinstance(exc, Exception):
            raise CheckFailed(
                f"the drill failed, and {database} is back as it was before it (from the "
                f"safety copy {copy.path}): {exc}"
            ) from exc
        raise
    return DrillResult(
        backup_id=str(backup["id"]),
        rto_s=rto,
        restore_output=output,
        safety_copy=str(copy.path),
    )


def roll_back(target: Target, service: str, copy: safety.SafetyCopy) -> str | None:
    """Stop the service, put its database back from the safety copy, start it (and wait
    until it is healthy). Returns why that failed, with the command a person runs, or None."""
    try:
        stack_command(target, "stop", service)
        safety.put_back(target, copy)
        stack_command(target, "start", service)
    except (GraderError, psycopg.Error, OSError, subprocess.SubprocessError) as exc:
        return (
            f"{exc}; put {copy.database} back with `{copy.restore_command}`, then "
            f"`python -m stack start {service}`"
        )
    return None
