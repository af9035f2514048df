"""Safety copies: before the grader (or a chaos drill) drops or overwrites a database, it dumps
exactly that database with PostgreSQL's own `pg_dump` (custom format, as the target profile's
`postgres` superuser), into a directory the grader owns. Undoing the step restores that copy,
never a backup of the stack under test: a stack whose backups are empty must fail its backup
checks, not lose its data to them.

The copies are kept (one file per database and moment) so a person can put one back by hand
with the command `restore_command` prints; `GRADER_SAFETY_DIR` says where they go."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from grader.backups import Superuser, pg_tool
from grader.errors import CheckFailed, GraderError
from grader.target import Target

SAFETY_DIR_ENV = "GRADER_SAFETY_DIR"
# Every copy this process took, newest last: the report offers them for what the run changed.
TAKEN: list[SafetyCopy] = []


def safety_dir() -> Path:
    """Where safety copies go: `$GRADER_SAFETY_DIR`, else the grader's own state directory
    (never the backup service's store, whose contents are what the checks judge)."""
    configured = os.environ.get(SAFETY_DIR_ENV)
    if configured:
        return Path(configured)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "devops-grader" / "safety-copies"


@dataclass(frozen=True)
class SafetyCopy:
    database: str
    owner: str
    path: Path
    restore_command: str  # what a person runs to put it back by hand


def owner_of(superuser: Superuser, database: str) -> str:
    with superuser.connect("postgres") as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
    if row is None:
        raise CheckFailed(f"no safety copy of {database}: the database does not exist")
    return str(row[0])


def take(target: Target, database: str, *, directory: Path | None = None) -> SafetyCopy:
    """pg_dump `database` into the safety directory. Raises CheckFailed (the destructive step
    must then not run) when the copy cannot be taken."""
    folder = directory or safety_dir()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / target.name / f"{database}-{stamp}.dump"
    try:
        superuser = Superuser(target)
        owner = owner_of(superuser, database)
        path.parent.mkdir(parents=True, exist_ok=True)
    except CheckFailed:
        raise
    except (OSError, GraderError, psycopg.Error) as exc:
        raise CheckFailed(
            f"no safety copy of {database} ({type(exc).__name__}: {exc}): the destructive "
            "step did not run"
        ) from exc
    done = subprocess.run(
        [pg_tool("pg_dump"), "-Fc", *login(superuser, database), "-f", str(path)],
        env={**os.environ, "PGPASSWORD": superuser.password},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not path.is_file() or path.stat().st_size == 0:
        raise CheckFailed(
            f"no safety copy of {database}: pg_dump failed ({done.stderr.strip()[-300:]}); "
            "the destructive step did not run"
        )
    command = (
        f"PGPASSWORD=$(cat {shlex.quote(str(password_file(target)))}) {pg_tool('pg_restore')} "
        f"--clean --if-exists --create {shlex.join(login(superuser, 'postgres'))} "
        f"{shlex.quote(str(path))}"
    )
    copy = SafetyCopy(database=database, owner=owner, path=path, restore_command=command)
    TAKEN.append(copy)
    return copy


def restore_commands() -> dict[str, str]:
    """database -> the command that restores the first safety copy of it this process took
    (the state before the first destructive step of the run)."""
    commands: dict[str, str] = {}
    for copy in TAKEN:
        commands.setdefault(copy.database, copy.restore_command)
    return commands


def password_file(target: Target) -> Path:
    credentials = target.component("postgres").credentials
    assert credentials is not None  # Superuser(target) refused a profile without them
    return credentials.password_file


def login(superuser: Superuser, database: str) -> list[str]:
    return ["-h", superuser.host, "-p", str(superuser.port), "-U", superuser.user, "-d", database]


def put_back(target: Target, copy: SafetyCopy) -> None:
    """Recreate the database as it was (its owner, connections only for the owner, as `up`
    makes it) and restore the safety copy into it, in one transaction."""
    superuser = Superuser(target)
    name = sql.Identifier(copy.database)
    with superuser.connect("postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(name, sql.Identifier(copy.owner))
        )
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(name))
    done = subprocess.run(
        [
            pg_tool("pg_restore"),
            "--single-transaction",
            "--exit-on-error",
            *login(superuser, copy.database),
            str(copy.path),
        ],
        env={**os.environ, "PGPASSWORD": superuser.password},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CheckFailed(
            f"the safety copy {copy.path} did not restore into {copy.database}: "
            f"{done.stderr.strip()[-500:]}; put it back with: {copy.restore_command}"
        )
