"""PostgreSQL in the local runtime: one server, one role and one database per service.

initdb refuses root, so the data directory belongs to the `postgres` user. The harness (root)
administers the server over the local socket as `postgres` through a peer-auth ident map,
so no password is baked in: `up` (re)applies every role's password from the secrets.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
from healthprobe import ProbeResult
from psycopg import sql

from stack.errors import StackError
from stack.files import write_if_changed
from stack.paths import DataDir
from stack.runtimes.local.launcher import Context, Launcher, Program
from stack.secrets import Secrets
from stack.topology import HOST, SERVICE_DATABASES, Component

OS_USER = "postgres"
EXPORTER_ROLE = "postgres_exporter"

HBA = """\
# Written by `python -m stack up`. The harness (root) administers as `postgres` over the
# local socket (peer + ident map); everything else logs in over TCP with a password.
local   all   postgres   peer map=admins
host    all   all        {host}/32   scram-sha-256
"""
IDENT = """\
admins   root       postgres
admins   postgres   postgres
"""


def bin_dir() -> Path | None:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _bin(name: str) -> str:
    found = bin_dir()
    if found is None:
        raise StackError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres)")
    return str(found / name)


FALLBACK_ROOT = Path("/var/lib/devops-stack")


def _home(data: DataDir) -> Path:
    """Where PostgreSQL's files live: under the data directory when the `postgres` user can
    reach it, else (a checkout under /root, a private tmp dir) under /var/lib/devops-stack,
    one folder per data directory, linked from `.stack/data/postgres`."""
    inside = data.data / "postgres"
    if inside.is_symlink() or _reachable(data.root):
        return inside
    digest = hashlib.sha256(str(data.root).encode()).hexdigest()[:12]
    outside = FALLBACK_ROOT / digest
    outside.mkdir(parents=True, exist_ok=True)
    os.chmod(FALLBACK_ROOT, 0o755)
    data.data.mkdir(parents=True, exist_ok=True)
    inside.symlink_to(outside, target_is_directory=True)
    return inside


def data_dir(data: DataDir, c: Component) -> Path:
    # Resolved: the `postgres` user may not be able to follow the link's own path.
    return _home(data).resolve() / "pgdata"


def socket_dir(data: DataDir) -> Path:
    return _home(data).resolve() / "socket"


def purge(data: DataDir) -> None:
    """Delete files kept outside the data directory (the fallback location), if any."""
    inside = data.data / "postgres"
    if inside.is_symlink():
        shutil.rmtree(inside.resolve(), ignore_errors=True)


def prepare(data: DataDir, c: Component) -> bool:
    pgdata = data_dir(data, c)
    sock = socket_dir(data)
    owner = pwd.getpwnam(OS_USER)
    for path, mode in ((pgdata.parent, 0o755), (pgdata, 0o700), (sock, 0o755)):
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, owner.pw_uid, owner.pw_gid)
        os.chmod(path, mode)
    changed = False
    if not (pgdata / "PG_VERSION").exists():
        initdb = subprocess.run(
            [
                "runuser",
                "-u",
                OS_USER,
                "--",
                _bin("initdb"),
                "-D",
                str(pgdata),
                "-U",
                OS_USER,
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            text=True,
        )
        if initdb.returncode != 0:
            raise StackError(f"initdb of {pgdata} failed:\n{initdb.stderr.strip()[-1500:]}")
        changed = True
    for name, text in (("pg_hba.conf", HBA.format(host=HOST)), ("pg_ident.conf", IDENT)):
        if write_if_changed(pgdata / name, text, mode=0o600):
            os.chown(pgdata / name, owner.pw_uid, owner.pw_gid)
            changed = True
    return changed


def _reachable(directory: Path) -> bool:
    """Can the `postgres` user walk to this directory (every parent executable for it)?"""
    directory.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(
            ["runuser", "-u", OS_USER, "--", "test", "-x", str(directory)], capture_output=True
        ).returncode
        == 0
    )


def command(data: DataDir, c: Component) -> list[str]:
    return [
        _bin("postgres"),
        "-D",
        str(data_dir(data, c)),
        "-p",
        str(c.port),
        "-c",
        f"listen_addresses={HOST}",
        "-c",
        f"unix_socket_directories={socket_dir(data)}",
        "-c",
        "max_connections=200",
    ]


def admin_connect(
    data: DataDir, c: Component, *, timeout: int = 2
) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=str(socket_dir(data)),
        port=c.port,
        user=OS_USER,
        dbname="postgres",
        autocommit=True,
        connect_timeout=timeout,
    )


def socket_probe(data: DataDir, c: Component) -> ProbeResult:
    started = time.perf_counter()
    try:
        with admin_connect(data, c) as conn:
            conn.execute("SELECT 1")
        ok, detail = True, "SELECT 1 over the local socket"
    except psycopg.Error as exc:
        ok, detail = False, str(exc).strip()
    return ProbeResult(ok=ok, detail=detail, latency_ms=(time.perf_counter() - started) * 1000)


def apply_roles(data: DataDir, c: Component, secrets: Secrets) -> None:
    """Create or update every role and database. Safe to run on every `up`."""
    with admin_connect(data, c, timeout=5) as conn:
        _set_password(conn, OS_USER, secrets.read("postgres_password"), login=True)
        _set_password(conn, EXPORTER_ROLE, secrets.read("postgres_exporter_password"), login=True)
        conn.execute(sql.SQL("GRANT pg_monitor TO {}").format(sql.Identifier(EXPORTER_ROLE)))
        for db in SERVICE_DATABASES:
            _set_password(conn, db, secrets.read(f"db_{db}_password"), login=True)
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
            if not exists:
                # CREATE DATABASE cannot run inside a transaction block: autocommit, one each.
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(db), sql.Identifier(db)
                    )
                )
        # Independence: a role can connect to its own database only.
        for db in ("postgres", "template1", *SERVICE_DATABASES):
            conn.execute(
                sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(db))
            )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE postgres TO {}").format(
                sql.Identifier(EXPORTER_ROLE)
            )
        )


def _set_password(
    conn: psycopg.Connection[tuple[object, ...]], role: str, password: str, *, login: bool
) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(
        sql.SQL("{} ROLE {} WITH {} PASSWORD {}").format(
            sql.SQL(verb),
            sql.Identifier(role),
            sql.SQL("LOGIN" if login else "NOLOGIN"),
            sql.Literal(password),
        )
    )


# ---- its launcher (stack/runtimes/local/launcher.py) ---------------------------------------------


class Postgres(Launcher):
    packages = ("postgresql",)

    def installed(self) -> bool:
        return bin_dir() is not None

    def prepare(self, ctx: Context, c: Component) -> bool:
        return prepare(ctx.data, c)

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            command(ctx.data, c), user="postgres", stopsignal="INT", stopwaitsecs=30
        )

    def ready(self, ctx: Context, c: Component) -> ProbeResult:
        # The contract probe logs in with the password, which after_ready applies; readiness
        # is a query over the local socket as the superuser (peer authentication).
        return socket_probe(ctx.data, c)

    def after_ready(self, ctx: Context, c: Component) -> None:
        apply_roles(ctx.data, c, ctx.secrets)
