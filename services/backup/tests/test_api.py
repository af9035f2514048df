"""The API in-process, on a backup directory written by hand (no database, no schedule run):
admin token required, the list with each backup's verified state, 404s that say what exists,
and a leftover temporary file cleaned at start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_service import store
from backup_service.api import routes
from backup_service.cron import Cron
from backup_service.offbox import DirectoryTarget
from backup_service.pg import Server
from backup_service.rotation import Keep
from backup_service.scheduler import Scheduler
from fastapi import FastAPI
from fastapi.testclient import TestClient

TOKEN = "t" * 32


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    root = tmp_path / "backups"
    good = store.Backup(
        root,
        {
            "id": "auth/20260101T000000Z",
            "database": "auth",
            "stamp": "20260101T000000Z",
            "verification": {"ok": True},
        },
    )
    good.dump_path.parent.mkdir(parents=True)
    good.dump_path.write_bytes(b"dump")
    good.save()
    (root / "auth" / ".20260102T000000Z.dump.partial").write_bytes(b"half")
    scheduler = Scheduler(
        servers={"auth": Server("127.0.0.1", 1, "postgres", "x")},
        root=root,
        offbox=DirectoryTarget(tmp_path / "offbox"),
        cron=Cron.parse("0 * * * *"),
        keep=Keep(hourly=1, daily=1, weekly=1, monthly=1),
    )
    app = FastAPI()
    app.state.scheduler = scheduler
    app.state.admin_token = TOKEN
    app.include_router(routes.router)
    with TestClient(app) as c:
        yield c


def test_admin_token_required(client: TestClient) -> None:
    assert client.get("/api/v1/backups").status_code == 401
    wrong = client.get("/api/v1/backups", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403


def test_list_download_and_named_404s(client: TestClient, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    listed = client.get("/api/v1/backups", headers=auth).json()
    assert [(b["id"], b["verified"]) for b in listed["backups"]] == [
        ("auth/20260101T000000Z", True)
    ]
    assert client.get("/api/v1/backups/auth/latest/dump", headers=auth).content == b"dump"
    missing = client.get("/api/v1/backups/auth/nope", headers=auth)
    assert missing.status_code == 404 and "auth/20260101T000000Z" in missing.json()["detail"]
    unknown = client.get("/api/v1/backups?database=nope", headers=auth)
    assert unknown.status_code == 404 and "known: ['auth']" in unknown.json()["detail"]
    assert not list((tmp_path / "backups").rglob("*.partial")), "the leftover was not removed"


def test_fault_flag_names_a_known_database(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    anonymous = client.put("/api/v1/backups/faults", json={"corrupt_next_dump": "auth"})
    assert anonymous.status_code == 401
    unknown = client.put("/api/v1/backups/faults", headers=auth, json={"corrupt_next_dump": "x"})
    assert unknown.status_code == 404 and "known: ['auth']" in unknown.json()["detail"]
    typo = client.put("/api/v1/backups/faults", headers=auth, json={"corrupt": "auth"})
    assert typo.status_code == 422
    armed = client.put("/api/v1/backups/faults", headers=auth, json={"corrupt_next_dump": "auth"})
    assert armed.json() == {"corrupt_next_dump": "auth"}
    assert client.get("/api/v1/backups/faults", headers=auth).json() == armed.json()
