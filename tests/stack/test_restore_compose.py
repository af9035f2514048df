"""`python -m stack restore` under compose, without a Docker engine: the `docker compose`
commands it runs, in order, against a fake runner, and each checked against compose.yaml
(every service it names exists, the exec'd module is the backup service's own)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
from backup_service import recover

from stack.errors import StackError
from stack.restore import BACKUP_SERVICE, ComposeSteps, run
from stack.runtimes import compose

TOPOLOGY = compose.standard_topology()
MANIFEST = {
    "id": "auth/20261204T150000Z",
    "created_at": "2026-12-04T15:00:00Z",
    "source": "/var/backups/stack/auth/20261204T150000Z.dump",
}


class FakeCompose:
    """Answers like `docker compose`: the recover module's JSON, or a failure for one step."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        step = args[6] if args[0] == "exec" else args[0]
        if step == self.fail:
            return subprocess.CompletedProcess(args, 1, "", f"{step}: it went wrong")
        out = {"choose": MANIFEST, "restore": {"tables": 5, "rows": 12}}.get(step, "")
        return subprocess.CompletedProcess(args, 0, json.dumps(out) if out else "", "")


def steps(fake: FakeCompose) -> ComposeSteps:
    return ComposeSteps(TOPOLOGY, fake, wait_s=300)


def test_stop_restore_in_the_backup_container_start(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeCompose()
    lines: list[str] = []
    done = run(steps(fake), TOPOLOGY, "auth", backup="latest", say=lines.append)
    recover_cmd = ["exec", "-T", "backup", "python", "-m", "backup_service.recover"]
    assert fake.calls == [
        [*recover_cmd, "choose", "auth", "latest"],
        ["stop", "auth"],
        [*recover_cmd, "restore", "auth", "auth/20261204T150000Z"],
        ["up", "-d", "--wait", "--wait-timeout", "300", "--no-deps", "auth"],
    ]
    assert (done.backup_id, done.tables, done.rows) == ("auth/20261204T150000Z", 5, 12)
    assert done.rpo_s == pytest.approx(
        (datetime.now(UTC) - datetime(2026, 12, 4, 15, tzinfo=UTC)).total_seconds(), abs=5
    )
    assert lines[0].startswith("backup auth/20261204T150000Z taken 2026-12-04T15:00:00Z")


def test_every_service_it_names_is_in_compose_yaml() -> None:
    services = set(compose.compose_doc()["services"])
    assert BACKUP_SERVICE in services
    backup = compose.compose_doc()["services"][BACKUP_SERVICE]
    assert backup["build"]["dockerfile"] == "services/backup/Dockerfile"  # has backup_service
    assert recover.__name__ == "backup_service.recover"
    for component in TOPOLOGY:
        if component.service and component.service.database:
            named = steps(FakeCompose()).services(component.replica_of or component.name)
            assert named and set(named) <= services, (component.name, named)


def test_force_is_passed_on() -> None:
    fake = FakeCompose()
    run(steps(fake), TOPOLOGY, "auth", force=True)
    assert fake.calls[0][-1] == "--force"


def test_a_refused_backup_stops_nothing() -> None:
    fake = FakeCompose(fail="choose")
    with pytest.raises(
        StackError, match=r"recover choose auth latest` failed: choose: it went wrong"
    ):
        run(steps(fake), TOPOLOGY, "auth")
    assert len(fake.calls) == 1


def test_a_failed_restore_leaves_the_service_stopped_and_says_so() -> None:
    fake = FakeCompose(fail="restore")
    with pytest.raises(StackError, match="restore: it went wrong; auth is left stopped"):
        run(steps(fake), TOPOLOGY, "auth")
    assert [c[0] for c in fake.calls] == ["exec", "stop", "exec"]


def test_a_service_without_a_database_is_refused() -> None:
    with pytest.raises(StackError, match="'gateway' has no database to restore"):
        run(steps(FakeCompose()), TOPOLOGY, "gateway")
