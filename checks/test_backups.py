"""Backups and disaster recovery (the course's module 4, parts 3 and 4). The checks write their own
data through the gateway, wait for the schedule to back it up (no manual action), restore the
dump themselves into a scratch database, and drop and restore a service's database.

Run one: `pytest checks -k hc-backups-restorable`. The wait for a fresh backup is shared by
the module (one schedule period, `timeouts.backup` in the target profile)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from chaos import dr
from grader import backups, journeys
from grader.errors import CheckFailed
from grader.polling import poll_until
from grader.target import Target

DRILL_DATABASE = "auth"  # a user's account: written by register, read back by login


@pytest.fixture(scope="module")
def api(target: Target) -> backups.BackupApi:
    return backups.BackupApi(target)


@pytest.fixture(scope="module")
def gateway(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def written(gateway: httpx.Client) -> tuple[journeys.Player, datetime]:
    """A user registered through the gateway (a row in auth's database), and when."""
    player = journeys.register(gateway, "backup")
    return player, backups.now()


@pytest.fixture(scope="module")
def fresh(
    api: backups.BackupApi, target: Target, written: tuple[journeys.Player, datetime]
) -> dict[str, dict[str, Any]]:
    """For every database, a backup taken after `written` that the service marked verified."""
    _, since = written
    databases = list(target.service_databases().values())

    def newest() -> dict[str, dict[str, Any] | None]:
        return {db: backups.verified_since(api, db, since) for db in databases}

    found = poll_until(
        newest,
        f"a new verified backup of each of {databases}, taken after {since:%H:%M:%S} UTC",
        timeout=target.timeouts.get("backup"),
        interval=2,
        until=lambda seen: all(seen.values()),
        show=lambda seen: str({db: b["id"] if b else None for db, b in seen.items()}),
    )
    return {db: b for db, b in found.items() if b is not None}


def metric(text: str, name: str, database: str) -> float | None:
    match = re.search(rf'^{name}\{{database="{database}"\}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else None


@pytest.mark.checklist("hc-backups-automatic")
def test_backups_run_on_schedule_and_are_verified(
    target: Target, fresh: dict[str, dict[str, Any]]
) -> None:
    """A new backup of every database appears by itself, restore-tested, copied off-box, and
    its timestamp is exported for the BackupStale alert."""
    access = target.component(backups.BACKUP_COMPONENT).metrics
    if access is None:
        raise CheckFailed("the backup component has no metrics endpoint in the target profile")
    text = httpx.get(access.url, headers=access.auth_headers(), timeout=10).text
    problems = []
    for db, backup in fresh.items():
        if not (backup.get("offbox") or {}).get("sha256_verified"):
            problems.append(f"{backup['id']}: no checked off-box copy ({backup.get('offbox')})")
        exported = metric(text, "backup_last_success_timestamp_seconds", db)
        if exported is None or exported < backups.created(backup).timestamp():
            problems.append(
                f"{db}: backup_last_success_timestamp_seconds is {exported}, expected >= "
                f"{backups.created(backup).timestamp():.0f} ({backup['id']})"
            )
        if metric(text, "backup_verification_failures_total", db) is None:
            problems.append(f"{db}: backup_verification_failures_total is not exported")
    assert problems == [], problems


@pytest.mark.checklist("hc-backups-restorable")
def test_latest_backup_restores_and_matches_its_manifest(
    target: Target,
    api: backups.BackupApi,
    fresh: dict[str, dict[str, Any]],
    written: tuple[journeys.Player, datetime],
) -> None:
    """Download the fresh backup of auth's database, restore it into a scratch database, and
    compare what is there with the manifest; the user registered before it must be in it."""
    player, since = written
    # The newest one: rotation may have pruned the first fresh backup since (it keeps the
    # newest of each hour), and any backup after `since` must hold the user.
    backup = backups.verified_since(api, DRILL_DATABASE, since) or fresh[DRILL_DATABASE]
    observed, holding = backups.restore_and_inspect(target, api, backup, marker=player.username)
    assert backups.differences(backup["tables"], observed) == []
    assert holding, f"user {player.username} (registered before {backup['id']}) is not in it"


@pytest.mark.checklist("hc-recovery-tested")
def test_dr_drill_restores_a_dropped_database(
    target: Target,
    gateway: httpx.Client,
    fresh: dict[str, dict[str, Any]],
    written: tuple[journeys.Player, datetime],
    request: pytest.FixtureRequest,
) -> None:
    """Drop auth's database, restore it with `python -m stack restore auth`: the user
    registered before the backup logs in again, auth is healthy, and the RTO is reported."""
    player, _ = written
    result = dr.run(target, gateway, player, fresh[DRILL_DATABASE])
    # Kept on the test's report (pytest's user_properties) for plugins and the log below.
    request.node.user_properties.append(("rto_s", round(result.rto_s, 1)))
    health = httpx.get(target.url("auth", "main") + "/health", timeout=5)
    assert health.status_code == 200, f"auth /health after the restore: {health.text[:300]}"
    assert "RPO" in result.restore_output, result.restore_output
    # Shown with -s: the drill's measured RTO (from the drop until the data is served).
    print(f"DR drill: {DRILL_DATABASE} restored from {result.backup_id}, RTO {result.rto_s:.1f} s")  # noqa: T201
