"""Grandfather-father-son rotation (the counts come from the policy file, rendered from the
stack's retention.yaml). Hand-written: rotation tools (rotate-backups and the like) judge files
by name and age, not by whether a backup was verified, which decides here what may go.

A verified backup is kept when it is one of the `last` newest verified backups (restic's and
borg's keep-last), or the newest of one of the last `hourly` hours, `daily` days, `weekly` ISO
weeks or `monthly` months that have a verified backup. `last` matters within the hour: the
newest backup may already hold a mistake (a table dropped by hand a minute before it ran),
and the one before it is the way back. Nothing is pruned
unless a newer verified backup exists, so the newest verified backup is never deleted, nor
any backup taken after it (still to be verified, or a failure worth a look)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from backup_service.store import Backup


@dataclass(frozen=True)
class Keep:
    hourly: int
    daily: int
    weekly: int
    monthly: int
    last: int = 1


_PERIODS: list[tuple[str, Callable[[datetime], tuple[int, ...]]]] = [
    ("hourly", lambda t: (t.year, t.month, t.day, t.hour)),
    ("daily", lambda t: (t.year, t.month, t.day)),
    ("weekly", lambda t: tuple(t.isocalendar())[:2]),
    ("monthly", lambda t: (t.year, t.month)),
]


def to_prune(backups: list[Backup], keep: Keep) -> list[Backup]:
    """The backups to delete (of one database)."""
    ordered = sorted(backups, key=lambda b: b.created)
    verified = [b for b in ordered if b.verified]
    if not verified:
        return []
    newest_verified = verified[-1]
    kept: set[str] = {newest_verified.id} | {b.id for b in verified[-keep.last :]}
    for period, key in _PERIODS:
        count = getattr(keep, period)
        seen: list[tuple[int, ...]] = []
        for b in reversed(verified):  # newest first: the newest backup of each period stays
            bucket = key(b.created)
            if bucket in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(bucket)
            kept.add(b.id)
    return [b for b in ordered if b.id not in kept and b.created < newest_verified.created]
