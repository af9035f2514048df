"""Integration: the backup service under the local runtime with a real PostgreSQL (conftest.py:
ports offset by 22000, a temporary data directory): scheduled backups verified by restore and
copied off-box, a damaged dump failing its restore test while rotation keeps the good one, and
`stack restore` bringing a dropped database back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from backup_service import pg, store
from backup_service.rotation import Keep, to_prune

from grader.polling import poll_until
from stack.errors import StackError
from stack.restore import restore
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import SERVICE_DATABASES

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(runtime: LocalRuntime) -> Iterator[httpx.Client]:
    token = (runtime.data.secrets / "admin_token").read_text().strip()
    with httpx.Client(
        base_url=runtime.topology.get("backup").url(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ) as client:
        yield client


def verified(api: httpx.Client) -> list[dict[str, Any]]:
    backups: list[dict[str, Any]] = api.get("/api/v1/backups").json()["backups"]
    return [b for b in backups if b["verified"]]


def test_backups_on_start_are_verified_and_copied_off_box(
    runtime: LocalRuntime, api: httpx.Client
) -> None:
    poll_until(
        lambda: verified(api),
        "the first verified backups",
        timeout=30,
        until=lambda bs: {b["database"] for b in bs} >= set(SERVICE_DATABASES),
    )
    # status and backup start side by side once PostgreSQL is up, so the backup taken at start
    # may come before status' migrations; one taken now, through the same pipeline, must hold
    # the schema.
    taken = api.post("/api/v1/backups").json()["backups"]
    status = next(b for b in taken if b["database"] == "status")
    assert status["verified"], status
    assert status["tables"]["public.alembic_version"]["rows"] == 1  # the schema is in it
    root, offbox = (
        runtime.data.component_data("backup"),
        runtime.data.component_data("backup-offbox"),
    )
    dump = root / "status" / f"{status['stamp']}.dump"
    assert store.sha256_of(dump) == status["sha256"]
    assert store.sha256_of(offbox / "status" / dump.name) == status["sha256"]
    assert not list(root.rglob("*.partial")), "a temporary file was left behind"
    metrics = api.get("/metrics").text
    assert 'backup_last_verified_timestamp_seconds{database="status"}' in metrics
    assert 'backup_verification_failures_total{database="status"} 0.0' in metrics
    # The API refuses without the admin token.
    assert httpx.get(f"{runtime.topology.get('backup').url()}/api/v1/backups").status_code == 401


def test_damaged_dump_fails_and_rotation_keeps_the_good_one(
    runtime: LocalRuntime, server: pg.Server, tmp_path: Path
) -> None:
    good = store.verify(server, store.take(server, "status", tmp_path), scratch_name="t_good")
    bad = store.take(server, "status", tmp_path)
    data = bad.dump_path.read_bytes()
    # Damage the table data in the middle but re-sign it: only the restore test can tell.
    bad.dump_path.write_bytes(data[: len(data) // 2] + b"\x00" * 64 + data[len(data) // 2 + 64 :])
    bad.manifest["sha256"] = store.sha256_of(bad.dump_path)
    store.verify(server, bad, scratch_name="t_bad")
    assert good.verified and not bad.verified, bad.manifest["verification"]
    detail = bad.manifest["verification"]["detail"]
    assert "pg_restore" in detail or "differs from the manifest" in detail, detail
    assert json.loads(bad.manifest_path.read_text())["verification"]["ok"] is False
    keep = Keep(hourly=0, daily=1, weekly=0, monthly=0)
    assert to_prune(store.list_backups(tmp_path, "status"), keep) == []


def test_restore_brings_a_dropped_database_back(
    runtime: LocalRuntime, api: httpx.Client, server: pg.Server
) -> None:
    latest = api.post("/api/v1/backups").json()["backups"]
    backup = next(b for b in latest if b["database"] == "status")
    pg.drop(server, "status")
    with pytest.raises(StackError, match=r"no backup 'status/nope' of status; available: status/"):
        restore(runtime, "status", backup="status/nope")
    done = restore(runtime, "status")
    assert done.backup_id == backup["id"] and done.rows == sum(
        t["rows"] for t in backup["tables"].values()
    )
    assert done.rpo_s < 120
    with server.connect("status") as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    health = httpx.get(runtime.topology.get("status").url("main", "/health"))
    assert health.status_code == 200
    # Only the owner and superusers may connect, as `up` set it.
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(
            host="127.0.0.1",
            port=server.port,
            user="users",
            dbname="status",
            password=(runtime.data.secrets / "db_users_password").read_text().strip(),
        )
