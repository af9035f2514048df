"""What the backup checks observe for themselves: the backup service's list (to know which
dumps exist), the dump bytes (downloaded), a restore of them into a scratch database on the
target's PostgreSQL, and that database's own row counts and checksums. The manifest is only
compared against, never believed: the grader recomputes every number.

The checksum of a table is the md5 of its rows' md5s (`md5(row::text)`) in sorted order, as
docs/backups.md defines it for the manifest."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from grader.errors import CheckFailed, GraderError
from grader.polling import poll_until
from grader.target import Target
from stack.pg_copy import Login, pg_tool


class BackupApi:
    def __init__(self, target: Target) -> None:
        name = target.backups.component
        component = target.component(name)
        self.client = httpx.Client(
            base_url=target.url(name, "main"),
            headers={"Authorization": f"Bearer {component.admin_token()}"},
            timeout=30,
        )

    def backups(self, database: str) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/backups", params={"database": database})
        if response.status_code != 200:
            raise CheckFailed(
                f"GET /api/v1/backups?database={database}: expected 200, got "
                f"{response.status_code}: {response.text[:300]}"
            )
        found: list[dict[str, Any]] = response.json()["backups"]
        return found

    def download(self, backup: dict[str, Any], path: Path) -> None:
        database, stamp = str(backup["id"]).split("/", 1)
        with self.client.stream("GET", f"/api/v1/backups/{database}/{stamp}/dump") as response:
            if response.status_code != 200:
                raise CheckFailed(f"download of {backup['id']}: HTTP {response.status_code}")
            with path.open("wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)

    def damage_next(self, database: str) -> dict[str, Any]:
        """The damaged-backup drill's fault: the service's fault flag damages the next dump of
        `database` after it is written (and re-signs it), then a run is requested. Returns
        that run's backup of `database`; the flag is cleared whatever happens."""
        try:
            armed = self.client.put("/api/v1/backups/faults", json={"corrupt_next_dump": database})
            if armed.status_code != 200:
                raise CheckFailed(f"PUT /api/v1/backups/faults: {armed.status_code} {armed.text}")
            done = self.run_now()
        finally:
            self.client.put("/api/v1/backups/faults", json={"corrupt_next_dump": None})
        found = [b for b in done["backups"] if b["database"] == database]
        if not found:
            raise CheckFailed(f"the requested run made no backup of {database}: {done}")
        return dict(found[0])

    def run_now(self) -> dict[str, Any]:
        """A backup run of every database, now: `backups` made, and the databases `failed`."""
        done = self.client.post("/api/v1/backups", timeout=300)
        if done.status_code not in (200, 201):
            raise CheckFailed(f"POST /api/v1/backups: {done.status_code} {done.text[:300]}")
        outcome: dict[str, Any] = done.json()
        return outcome


def offbox_copy(target: Target, backup: dict[str, Any], path: Path) -> None:
    """Fetch `backup`'s off-box copy into `path`, from where the profile says the copies are
    (`backups.offbox`), never through the backup service."""
    offbox = target.backups.offbox
    if offbox is None:
        raise CheckFailed(
            "the target declares no off-box store (`backups.offbox`: a directory, or a command "
            "that prints a copy), so no copy can be read back"
        )
    if offbox.directory is not None:
        copy = offbox.directory / f"{backup['id']}.dump"
        if not copy.is_file():
            raise CheckFailed(f"{backup['id']}: no off-box copy at {copy}")
        shutil.copyfile(copy, path)
        return
    assert offbox.command is not None  # validated: one of the two
    argv = [part.replace("{id}", str(backup["id"])) for part in offbox.command]
    cwd = target.source.parent if target.source else None
    with path.open("wb") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, cwd=cwd, timeout=300)
    if done.returncode != 0:
        raise CheckFailed(
            f"{backup['id']}: reading its off-box copy with {argv} failed "
            f"(exit {done.returncode}): {done.stderr.decode(errors='replace')[-300:]}"
        )


def restore_error(target: Target, dump: Path) -> str | None:
    """pg_restore `dump` into a scratch database here: None when it restores, else why not."""
    superuser = Superuser(target)
    with superuser.scratch() as scratch:
        try:
            superuser.pg_restore(dump, scratch)
        except CheckFailed as exc:
            return str(exc)
    return None


def created(backup: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(backup["created_at"]).replace("Z", "+00:00"))


def verified_since(api: BackupApi, database: str, since: datetime) -> dict[str, Any] | None:
    """The newest backup of `database` taken after `since` that the service marked verified."""
    fresh = [b for b in api.backups(database) if created(b) > since and b.get("verified")]
    return fresh[-1] if fresh else None


def wait_verified_since(
    api: BackupApi, databases: list[str], since: datetime, timeout: float, *, after: str = ""
) -> dict[str, dict[str, Any]]:
    """Wait until each of `databases` has a verified backup taken after `since` (`after` says
    what happened then, for the message); returns the newest of each."""
    what = after or f"{since:%H:%M:%S} UTC"
    found = poll_until(
        lambda: {db: verified_since(api, db, since) for db in databases},
        f"a new verified backup of each of {databases}, taken after {what}",
        timeout,
        interval=2,
        until=lambda seen: all(seen.values()),
        show=lambda seen: str({db: b["id"] if b else None for db, b in seen.items()}),
    )
    return {db: b for db, b in found.items() if b is not None}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Superuser:
    """The target's PostgreSQL superuser (its `postgres` component's credentials)."""

    def __init__(self, target: Target) -> None:
        pg = target.component("postgres")
        if pg.credentials is None:
            raise GraderError("the target's postgres component has no credentials")
        address = target.url("postgres", "main").split("://", 1)[1]
        self.host, _, port = address.rpartition(":")
        self.port = int(port)
        self.user = pg.credentials.username
        self.password = pg.credentials.password()

    @property
    def login(self) -> Login:
        """The same login for the stack's own PostgreSQL tools (stack/pg_copy.py)."""
        return Login(self.host, self.port, self.user, self.password)

    def connect(self, dbname: str) -> psycopg.Connection[tuple[Any, ...]]:
        return self.login.connect(dbname)

    def pg_restore(self, dump: Path, dbname: str) -> None:
        done = subprocess.run(
            [
                pg_tool("pg_restore"),
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                *self.login.args(dbname),
                str(dump),
            ],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise CheckFailed(f"pg_restore of {dump.name} failed: {done.stderr.strip()[-500:]}")

    @contextmanager
    def scratch(self) -> Iterator[str]:
        name = f"grader_scratch_{uuid.uuid4().hex[:8]}"
        with self.connect("postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield name
        finally:
            with self.connect("postgres") as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def tables_of(conn: psycopg.Connection[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    ).fetchall()
    found = {}
    for schema, table in rows:
        name = sql.Identifier(schema, table)
        hashes = conn.execute(sql.SQL("SELECT md5(t::text) FROM {} AS t").format(name)).fetchall()
        checksum = hashlib.md5("".join(sorted(h for (h,) in hashes)).encode()).hexdigest()
        found[f"{schema}.{table}"] = {"rows": len(hashes), "checksum": checksum if hashes else ""}
    return found


def contains(conn: psycopg.Connection[tuple[Any, ...]], marker: str) -> list[str]:
    """The tables with a row whose text holds `marker` (schema-agnostic: any service's data)."""
    hits = []
    for table in tables_of_names(conn):
        schema, name = table.split(".", 1)
        query = sql.SQL("SELECT count(*) FROM {} AS t WHERE strpos(t::text, %s) > 0").format(
            sql.Identifier(schema, name)
        )
        row = conn.execute(query, (marker,)).fetchone()
        if row and row[0]:
            hits.append(table)
    return hits


def tables_of_names(conn: psycopg.Connection[tuple[Any, ...]]) -> list[str]:
    rows = conn.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


def restore_and_inspect(
    target: Target, api: BackupApi, backup: dict[str, Any], *, marker: str | None = None
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Download `backup`, check its sha256, restore it into a scratch database; return the
    scratch database's own table fingerprints and the tables that hold `marker`."""
    superuser = Superuser(target)
    with tempfile.TemporaryDirectory(prefix="grader-backup-") as tmp:
        dump = Path(tmp) / "backup.dump"
        api.download(backup, dump)
        digest = sha256_of(dump)
        if digest != backup["sha256"]:
            raise CheckFailed(
                f"{backup['id']}: downloaded dump has sha256 {digest}, its manifest says "
                f"{backup['sha256']}"
            )
        with superuser.scratch() as scratch:
            superuser.pg_restore(dump, scratch)
            with superuser.connect(scratch) as conn:
                return tables_of(conn), contains(conn, marker) if marker else []


def differences(manifest: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    return [
        f"{t}: manifest {manifest.get(t)}, observed {observed.get(t)}"
        for t in sorted(set(manifest) | set(observed))
        if manifest.get(t) != observed.get(t)
    ]


def now() -> datetime:
    return datetime.now(UTC)
