"""Unit tests: cron schedules and grandfather-father-son rotation (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from backup_service.config import Settings
from backup_service.cron import Cron, CronError
from backup_service.rotation import Keep, to_prune
from backup_service.store import STAMP, Backup
from chassis import SettingsError, load_settings


def test_every_two_minutes() -> None:
    cron = Cron.parse("*/2 * * * *")
    start = datetime(2026, 1, 1, 0, 1, 30, tzinfo=UTC)
    first = cron.next_after(start)
    assert first == datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    assert cron.next_after(first) - first == timedelta(minutes=2)  # strictly after a tick


def test_hourly_and_weekday() -> None:
    assert Cron.parse("0 * * * *").next_after(datetime(2026, 1, 1, 5, 0)) == datetime(
        2026, 1, 1, 6, 0
    )
    # 2026-01-04 is a Sunday (0 and 7 both mean Sunday)
    assert Cron.parse("30 2 * * 7").next_after(datetime(2026, 1, 1)) == datetime(2026, 1, 4, 2, 30)


def runs(expression: str, count: int) -> list[str]:
    t, found = datetime(2026, 1, 1, tzinfo=UTC), []  # a Thursday
    for _ in range(count):
        t = Cron.parse(expression).next_after(t)
        found.append(t.strftime("%d %a"))
    return found


def test_day_of_month_or_day_of_week_as_crontab5() -> None:
    # Both restricted: either matches (the 13th, and every Friday).
    assert runs("0 0 13 * 5", 4) == ["02 Fri", "09 Fri", "13 Tue", "16 Fri"]
    # A field starting with `*` restricts nothing, so the other one must match too: odd days
    # that are Mondays (Vixie cron's DOM_STAR), not odd days plus every Monday.
    assert runs("0 0 */2 * 1", 2) == ["05 Mon", "19 Mon"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 4 fields, expected 5"),
        ("0 0 * * * *", "has 6 fields, expected 5"),
        ("61 * * * *", "the minute field '61' is not valid: use values 0-59"),
        ("*/0 * * * *", r"the minute field '\*/0' is not valid"),
        ("x * * * *", r"the minute field 'x' is not valid: use values 0-59 as \*, n, a-b"),
        ("0 0 * * 8", "the day-of-week field '8' is not valid: use values 0-7"),
        ("0 0 31 2 *", "the day-of-month field '31' never occurs in the month field '2'"),
    ],
)
def test_bad_cron_is_named(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message) as raised:
        Cron.parse(expression)
    assert str(raised.value).startswith(f"cron expression {expression!r}")


def test_a_bad_schedule_setting_names_the_variable_and_the_field() -> None:
    environ = {
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "DATABASE_PASSWORD_FILE": "/nonexistent",
        "ADMIN_TOKEN_FILE": "/nonexistent",
        "BACKUP_DIR": "/nonexistent",
        "SCHEDULE": "0 25 * * *",
    }
    with pytest.raises(SettingsError, match=r"SCHEDULE='0 25 \* \* \*': .*the hour field '25'"):
        load_settings(Settings, environ)

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


def test_the_last_n_verified_backups_stay_within_one_hour() -> None:
    # every 2 minutes within hour 12: the hourly rule alone would keep only the newest
    backups = [backup(NOW - timedelta(minutes=2 * i)) for i in range(10)]
    pruned = to_prune(backups, Keep(hourly=24, daily=7, weekly=4, monthly=6, last=3))
    kept = [b for b in backups if b not in pruned]
    assert [b.id for b in kept] == [b.id for b in backups[:3]]


def test_last_counts_verified_backups_only() -> None:
    good = [backup(NOW - timedelta(minutes=m)) for m in (10, 8)]
    failed = backup(NOW - timedelta(minutes=6), ok=False)
    newest = backup(NOW - timedelta(minutes=4))
    pruned = to_prune([*good, failed, newest], Keep(hourly=0, daily=1, weekly=0, monthly=0, last=2))
    assert [b.id for b in pruned] == [good[0].id, failed.id]
