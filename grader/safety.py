"""Safety copies: before the grader (or a chaos drill) drops or overwrites a database, it dumps
exactly that database with PostgreSQL's own `pg_dump` (custom format, as the target profile's
`postgres` superuser), into a directory the grader owns. Undoing the step restores that copy,
never a backup of the stack under test: a stack whose backups are empty must fail its backup
checks, not lose its data to them.

The copies are kept (one file per database and moment) so a person can put one back by hand
with the command `restore_command` prints; `GRADER_SAFETY_DIR` says where they go."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from grader.backups import Superuser
from grader.errors import CheckFailed
from grader.target import Target
from stack import pg_copy
from stack.errors import StackError

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
        pg_copy.dump(superuser.login, database, path)
    except CheckFailed:
        raise
    except (OSError, StackError, psycopg.Error) as exc:
        raise CheckFailed(
            f"no safety copy of {database} ({type(exc).__name__}: {exc}): the destructive "
            "step did not run"
        ) from exc
    command = pg_copy.restore_command(superuser.login, password_file(target), path)
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


def put_back(target: Target, copy: SafetyCopy) -> None:
    """Recreate the database as it was (its owner, connections only for the owner, as `up`
    makes it) and restore the safety copy into it, in one transaction."""
    try:
        pg_copy.put_back(Superuser(target).login, copy.database, copy.owner, copy.path)
    except CheckFailed:
        raise
    except StackError as exc:
        raise CheckFailed(f"{exc}; put it back with: {copy.restore_command}") from exc
