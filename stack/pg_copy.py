"""A safety copy of one PostgreSQL database, and putting it back.

A drill that drops or overwrites a database first dumps exactly that database with the
server's own `pg_dump` (custom format, as its superuser); undoing the drill restores that
copy, never a backup under test. The grader (grader/safety.py) takes and restores copies,
and so does the fault ledger (stack/ledger.py), whose undo may run in a `heal` long after the
drill's process is gone: hence plain connection parameters here, no target profile, no
runtime."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stack.errors import StackError


def pg_tool(name: str) -> str:
    """A client program of the newest PostgreSQL installed (Debian keeps them off PATH)."""
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    found = str(versions[-1]) if versions else shutil.which(name)
    if not found:
        raise StackError(f"{name} is not installed: apt-get install postgresql-client")
    return found


@dataclass(frozen=True)
class Login:
    """How to reach the server as its superuser."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)

    def args(self, database: str) -> list[str]:
        """The connection options of pg_dump, pg_restore and psql."""
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database]

    def connect(self, database: str) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
            autocommit=True,
            connect_timeout=5,
        )

    def run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        # the password goes in the environment: a command line is visible to every user
        env = {**os.environ, "PGPASSWORD": self.password}
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def dump(login: Login, database: str, path: Path) -> None:
    """pg_dump `database` (custom format) into `path`; raises StackError if no usable file
    came out, and the destructive step must then not run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    done = login.run([pg_tool("pg_dump"), "-Fc", *login.args(database), "-f", str(path)])
    if done.returncode != 0 or not path.is_file() or path.stat().st_size == 0:
        raise StackError(f"pg_dump of {database} failed: {done.stderr.strip()[-300:]}")


def put_back(login: Login, database: str, owner: str, path: Path) -> None:
    """Recreate `database` as `up` makes it (owned by `owner`, no connections for PUBLIC) and
    restore the copy at `path` into it in one transaction. Safe to repeat: each run starts
    from a fresh database. Raises StackError, naming the command that does it by hand."""
    if not path.is_file():
        raise StackError(f"the safety copy {path} of {database} is gone: nothing to put back")
    name = sql.Identifier(database)
    try:
        with login.connect("postgres") as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, sql.Identifier(owner)))
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(name))
    except psycopg.Error as exc:
        raise StackError(f"could not recreate {database} for its safety copy: {exc}") from exc
    restore = [pg_tool("pg_restore"), "--single-transaction", "--exit-on-error"]
    done = login.run([*restore, *login.args(database), str(path)])
    if done.returncode != 0:
        raise StackError(
            f"the safety copy {path} did not restore into {database}: {done.stderr.strip()[-500:]}"
        )


def restore_command(login: Login, password_file: Path, path: Path) -> str:
    """The shell command a person runs to put the copy back by hand: pg_restore recreates the
    database from the dump itself (its owner and grants included), reading the superuser's
    password from its file so that no password is printed."""
    return (
        f"PGPASSWORD=$(cat {shlex.quote(str(password_file))}) {pg_tool('pg_restore')} "
        f"--clean --if-exists --create {shlex.join(login.args('postgres'))} "
        f"{shlex.quote(str(path))}"
    )
