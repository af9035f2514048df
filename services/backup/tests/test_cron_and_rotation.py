"""Unit tests: the cron subset and grandfather-father-son rotation (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from backup_service.cron import Cron, CronError
from backup_service.rotation import Keep, to_prune
from backup_service.store import STAMP, Backup


def test_every_two_minutes() -> None:
    cron = Cron.parse("*/2 * * * *")
    start = datetime(2026, 1, 1, 0, 1, 30, tzinfo=UTC)
    assert cron.next_after(start) == datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    assert cron.period_s(start) == 120


def test_hourly_and_weekday() -> None:
    assert Cron.parse("0 * * * *").next_after(datetime(2026, 1, 1, 5, 0)) == datetime(
        2026, 1, 1, 6, 0
    )
    # 2026-01-04 is a Sunday (0 and 7 both mean Sunday)
    assert Cron.parse("30 2 * * 7").next_after(datetime(2026, 1, 1)) == datetime(2026, 1, 4, 2, 30)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 4 fields"),
        ("61 * * * *", "outside 0-59"),
        ("*/0 * * * *", "step must be a positive"),
        ("x * * * *", r"is not \*, a number"),
    ],
)
def test_bad_cron_is_named(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        Cron.parse(expression)


def backup(t: datetime, *, ok: bool | None = True) -> Backup:
    stamp = t.strftime(STAMP)
    verification = None if ok is None else {"ok": ok}
    return Backup(
        Path("/nonexistent"),
        {"id": f"db/{stamp}", "database": "db", "stamp": stamp, "verification": verification},
    )


KEEP = Keep(hourly=3, daily=2, weekly=1, monthly=1)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_gfs_keeps_newest_per_period() -> None:
    # every 30 minutes over 3 days: 144 verified backups
    backups = [backup(NOW - timedelta(minutes=30 * i)) for i in range(144)]
    kept = {b.id for b in backups} - {b.id for b in to_prune(backups, KEEP)}
    expected = {
        f"db/{t.strftime(STAMP)}"
        for t in [
            NOW,  # newest: hour 12, day 10, week, month
            NOW - timedelta(minutes=30),  # hour 11 (newest of that hour)
            NOW - timedelta(minutes=90),  # hour 10
            datetime(2026, 3, 9, 23, 30, tzinfo=UTC),  # newest of day 9
        ]
    }
    assert kept == expected


def test_nothing_pruned_without_a_newer_verified_backup() -> None:
    old_good = backup(NOW - timedelta(days=40))
    failures = [backup(NOW - timedelta(hours=h), ok=False) for h in range(10)]
    pending = backup(NOW, ok=None)
    assert to_prune([old_good, *failures, pending], KEEP) == []


def test_the_last_verified_backup_survives_newer_failures() -> None:
    good = [backup(NOW - timedelta(days=d)) for d in (30, 20, 10)]
    corrupt = backup(NOW, ok=False)
    pruned = to_prune([*good, corrupt], Keep(hourly=0, daily=1, weekly=0, monthly=0))
    assert [b.id for b in pruned] == [good[0].id, good[1].id]


def test_failed_backups_older_than_a_verified_one_are_pruned() -> None:
    failed = backup(NOW - timedelta(hours=1), ok=False)
    good = backup(NOW)
    assert to_prune([failed, good], KEEP) == [failed]
