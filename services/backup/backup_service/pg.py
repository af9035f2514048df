"""PostgreSQL side of a backup: the dump and its manifest taken in one snapshot, the restore
test into a scratch database, and the table fingerprints both compare.

A table's fingerprint is its row count and the md5 of its rows' md5s in sorted order: it does
not depend on physical row order, so a restored copy has the same fingerprint as the original."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_BIN = Path("/usr/lib/postgresql/15/bin")


class BackupError(Exception):
    """A backup, verification or restore step failed; the message says which and why."""


@dataclass(frozen=True)
class Server:
    """Where a database lives and how the superuser logs in (password from a secret file)."""

    host: str
    port: int
    user: str
    password: str
    bin_dir: Path = DEFAULT_BIN

    def connect(self, dbname: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def login(self, database: str) -> list[str]:
        """The connection options of pg_dump and pg_restore (the password comes from `env`)."""
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database]

    def tool(self, name: str) -> str:
        path = self.bin_dir / name
        if not path.exists():
            raise BackupError(f"{name} not found in {self.bin_dir} (set PG_BIN_DIR)")
        return str(path)

    def env(self) -> dict[str, str]:
        # libpq reads the password from the environment: never on a command line (ps shows it).
        return {**os.environ, "PGPASSWORD": self.password}

    def run(self, args: list[str], what: str) -> None:
        done = subprocess.run(args, env=self.env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(
                f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}"
            )


TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2
"""


def fingerprints(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, dict[str, object]]:
    """{"schema.table": {"rows": n, "checksum": md5}} for every user table."""
    result: dict[str, dict[str, object]] = {}
    for schema, table in conn.execute(TABLES).fetchall():
        query = sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') "
            "FROM (SELECT md5(t::text) AS h FROM {}.{} AS t) AS rows"
        ).format(sql.Identifier(str(schema)), sql.Identifier(str(table)))
        row = conn.execute(query).fetchone()
        assert row is not None  # an aggregate always returns one row
        result[f"{schema}.{table}"] = {"rows": int(str(row[0])), "checksum": str(row[1])}
    return result


def dump(server: Server, database: str, path: Path) -> tuple[dict[str, dict[str, object]], str]:
    """pg_dump -Fc into `path` and the fingerprints of the same snapshot: a REPEATABLE READ
    transaction exports its snapshot and pg_dump --snapshot reads exactly that state
    (https://www.postgresql.org/docs/15/app-pgdump.html). The fingerprints are computed while
    pg_dump runs (both read the snapshot). Returns (fingerprints, server version)."""
    with server.connect(database) as conn:
        conn.autocommit = False
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
        version = conn.execute("SHOW server_version").fetchone()
        assert snapshot is not None and version is not None
        args = [
            server.tool("pg_dump"),
            "-Fc",
            f"--snapshot={snapshot[0]}",
            *server.login(database),
            "-f",
            str(path),
        ]
        with subprocess.Popen(
            args, env=server.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                tables = fingerprints(conn)
            finally:
                _, stderr = process.communicate()
        if process.returncode != 0:
            raise BackupError(
                f"pg_dump of {database} failed (exit {process.returncode}): {stderr.strip()[-800:]}"
            )
        conn.rollback()
    return tables, str(version[0])


def recreate(server: Server, database: str, *, owner: str | None = None) -> None:
    with server.connect("postgres") as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
        if owner:
            create += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        conn.execute(create)
        # As `up` sets it: only the owner (and superusers) may connect.
        conn.execute(
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
        )


def drop(server: Server, database: str) -> None:
    with server.connect("postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def restore(server: Server, path: Path, database: str, *, keep_owner: bool) -> None:
    """One transaction: a failed restore leaves an empty database, never a half-filled one
    (which a scheduled backup could then take for the real thing)."""
    args = [
        server.tool("pg_restore"),
        "--single-transaction",
        "--exit-on-error",
        *server.login(database),
    ]
    if not keep_owner:
        args += ["--no-owner", "--no-acl"]
    server.run([*args, str(path)], f"pg_restore of {path.name} into {database}")


def amcheck(server: Server, database: str) -> str:
    """bt_index_check on every btree index, when the amcheck extension is installed
    (https://www.postgresql.org/docs/15/amcheck.html). Returns what was checked."""
    with server.connect(database) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'"
        ).fetchone()
        if not available:
            return "amcheck not available"
        conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        indexes = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname NOT LIKE 'pg\\_%' "
            "AND n.nspname != 'information_schema' AND c.relpersistence != 't'"
        ).fetchall()
        for (index,) in indexes:
            try:
                conn.execute("SELECT bt_index_check(%s::regclass)", (index,))
            except psycopg.Error as exc:
                raise BackupError(f"amcheck: index {index} is corrupt: {exc}") from exc
        return f"amcheck: {len(indexes)} btree indexes checked"


@contextmanager
def scratch(server: Server, name: str) -> Iterator[str]:
    """A scratch database that is dropped afterwards, whatever happens."""
    recreate(server, name)
    try:
        yield name
    finally:
        drop(server, name)
