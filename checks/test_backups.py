"""Backups and disaster recovery (the course's module 4, parts 3 and 4). The checks write their own
data through the gateway, wait for the schedule to back it up (no manual action), restore the
dump themselves into a scratch database, and drop and restore a service's database.

Run one: `pytest checks -k hc-backups-restorable`. The user they look for in the backups is
registered when the session starts (checks/conftest.py, `backed_up_user`) and these checks run
after the quicker ones, so in a whole run the schedule has backed it up by then; run alone, they
wait for it (at most `timeouts.backup` in the target profile, one schedule period)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from healthprobe import run_probe

from chaos import dr
from grader import backups, journeys
from grader.errors import CheckFailed
from grader.target import Target


def accounts(target: Target) -> tuple[str, str]:
    """The service that keeps users' accounts (written by register, read back by login) and its
    database: the first of `microservices.user_data`."""
    service = target.microservices.user_data[0]
    databases = target.service_databases()
    if service not in databases:
        raise CheckFailed(f"`microservices.user_data` names {service!r}, not a service")
    return service, databases[service]


# Session-scoped: the DR drill runs late (after the monitoring checks), apart from this module's
# other checks, and must find what they wrote and waited for, not write and wait again.
@pytest.fixture(scope="session")
def api(target: Target) -> backups.BackupApi:
    return backups.BackupApi(target)


@pytest.fixture(scope="session")
def gateway(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=5) as client:
        yield client


@pytest.fixture(scope="session")
def written(
    backed_up_user: tuple[journeys.Player, datetime],
) -> tuple[journeys.Player, datetime]:
    """A user registered through the gateway (a row in auth's database), and when."""
    return backed_up_user


@pytest.fixture(scope="session")
def fresh(
    api: backups.BackupApi, target: Target, written: tuple[journeys.Player, datetime]
) -> dict[str, dict[str, Any]]:
    """For every database, a backup taken after `written` that the service marked verified."""
    _, since = written
    databases = list(target.service_databases().values())
    return backups.wait_verified_since(api, databases, since, target.timeouts.get("backup"))


@pytest.fixture(scope="session")
def later(
    gateway: httpx.Client, fresh: dict[str, dict[str, Any]]
) -> tuple[journeys.Player, datetime]:
    """A second user, registered as soon as the first fresh backups exist, and when: the DR
    drill restores a backup taken after it, so that two verified backups stand side by side.
    Every check that waits for `fresh` asks for it, so that it is written early and the
    schedule backs it up while the monitoring checks run."""
    player = journeys.register(gateway, "backup-later")
    return player, backups.now()


def metric(text: str, name: str, database: str) -> float | None:
    match = re.search(rf'^{name}\{{database="{database}"\}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else None


@pytest.mark.checklist("hc-backups-automatic")
def test_backups_run_on_schedule_and_are_verified(
    target: Target,
    api: backups.BackupApi,
    fresh: dict[str, dict[str, Any]],
    later: tuple[journeys.Player, datetime],
    evidence: Any,
) -> None:
    """A new backup of every database appears by itself, restore-tested, copied off-box (the
    copy read back from the off-box store by the grader, byte for byte the dump the service
    serves), and its timestamp is exported for the BackupStale alert."""
    access = target.component(target.backups.component).metrics
    if access is None:
        raise CheckFailed("the backup component has no metrics endpoint in the target profile")
    text = httpx.get(access.url, headers=access.auth_headers(), timeout=10).text
    problems = []
    copies = {}
    with tempfile.TemporaryDirectory(prefix="grader-offbox-") as tmp:
        for db, backup in fresh.items():
            dump, copy = Path(tmp) / f"{db}.dump", Path(tmp) / f"{db}.offbox"
            api.download(backup, dump)
            try:
                backups.offbox_copy(target, backup, copy)
            except CheckFailed as exc:
                problems.append(str(exc))
                continue
            served, copied = backups.sha256_of(dump), backups.sha256_of(copy)
            copies[backup["id"]] = {"sha256 served": served, "sha256 off-box": copied}
            if served != copied:
                problems.append(
                    f"{backup['id']}: the off-box copy has sha256 {copied}, the dump the "
                    f"service serves has {served}"
                )
    evidence.add("off-box copies read back", copies)
    for db, backup in fresh.items():
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
    later: tuple[journeys.Player, datetime],
) -> None:
    """Download the fresh backup of the accounts' database, restore it into a scratch database, and
    compare what is there with the manifest; the user registered before it must be in it."""
    player, since = written
    _, database = accounts(target)
    # The newest one: rotation may have pruned the first fresh backup since (it keeps the
    # newest of each hour), and any backup after `since` must hold the user.
    backup = backups.verified_since(api, database, since) or fresh[database]
    observed, holding = backups.restore_and_inspect(target, api, backup, marker=player.username)
    differ = backups.differences(backup["tables"], observed)
    assert differ == [], f"{backup['id']} restored differs from its manifest: {'; '.join(differ)}"
    assert holding, f"user {player.username} (registered before {backup['id']}) is not in it"


@pytest.mark.checklist("hc-recovery-tested")
@pytest.mark.late  # the backup after `later` is taken while the monitoring checks run
def test_dr_drill_restores_a_dropped_database(
    target: Target,
    api: backups.BackupApi,
    gateway: httpx.Client,
    fresh: dict[str, dict[str, Any]],
    written: tuple[journeys.Player, datetime],
    later: tuple[journeys.Player, datetime],
    request: pytest.FixtureRequest,
    evidence: Any,
) -> None:
    """Drop the accounts' database, restore it with `python -m stack restore <service>`: the
    user registered before the newest backup logs in again, and so does the one before the
    backup earlier; the service is healthy, and the RTO is reported. The drill takes a safety
    copy (pg_dump) first and, if anything fails, puts that back, never a backup under test.

    A second user (`later`) is registered after the first fresh backup, and the drill restores
    a backup taken after it: with two verified backups side by side, a restore that takes the
    wrong one (the oldest, say) brings back data without the later user."""
    first, _ = written
    second, since = later
    service, database = accounts(target)
    newest = backups.wait_verified_since(
        api,
        [database],
        since,
        target.timeouts.get("backup"),
        after=f"{second.username} registered, to stand beside {fresh[database]['id']}",
    )[database]
    evidence.add("backups of the drill", {"earlier": fresh[database]["id"], "newest": newest["id"]})
    result = dr.run(target, gateway, second, newest, service=service)
    # Kept on the test's report (pytest's user_properties) for plugins and the log below.
    request.node.user_properties.append(("rto_s", round(result.rto_s, 1)))
    evidence.add("restore output", result.restore_output[-800:])
    evidence.add("safety copy taken before the drop", result.safety_copy)
    assert dr.can_log_in(gateway, first.username), (
        f"{first.username} (registered before {fresh[database]['id']}) cannot log in after "
        f"the restore of {newest['id']}"
    )
    health = run_probe(target.component(target.units(service)[0]).probe)
    assert health.ok, f"{service}'s health after the restore: {health.detail}"
    assert "RPO" in result.restore_output, result.restore_output
    # Shown with -s: the drill's measured RTO (from the drop until the data is served).
    print(f"DR drill: {database} restored from {result.backup_id}, RTO {result.rto_s:.1f} s")  # noqa: T201


@pytest.mark.checklist("hc-recovery-tested")
@pytest.mark.aftereffects  # the damaged run fires BackupVerificationFailed for a while
def test_a_damaged_backup_fails_the_stacks_own_restore_test(
    target: Target, api: backups.BackupApi, evidence: Any
) -> None:
    """The stack tests every backup by restoring it: the next dump of one database is damaged
    on purpose after it is written (and re-signed, so its sha256 still matches), and that
    backup must come out unverified. The grader's own pg_restore of it fails too, which
    proves the damage took."""
    bad = api.damage_next(list(target.service_databases().values())[-1])
    with tempfile.TemporaryDirectory(prefix="grader-damaged-") as tmp:
        dump = Path(tmp) / "damaged.dump"
        api.download(bad, dump)
        error = backups.restore_error(target, dump)
    evidence.add("damaged backup", {"id": bad["id"], "verified": bad.get("verified")})
    evidence.add("the grader's own pg_restore of it", error or "restored")
    if error is None:
        raise CheckFailed(f"{bad['id']} restores here: the damage did not take, nothing to judge")
    assert not bad.get("verified"), (
        f"{bad['id']} was marked verified, yet its dump does not restore ({error}): the "
        "backups' restore test does not restore them"
    )
