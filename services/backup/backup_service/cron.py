"""Five-field cron expressions (minute hour day-of-month month day-of-week), the subset the
retention policy uses: `*`, `*/n`, `a`, `a-b`, `a-b/n` and comma lists. Day-of-month and
day-of-week combine as in Vixie cron: when both are restricted, either may match
(https://man7.org/linux/man-pages/man5/crontab.5.html)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_MAX_STEPS = 366 * 24 * 60


class CronError(ValueError):
    pass


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name} {part!r}: the step must be a positive number")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            if not (a.isdigit() and b.isdigit()):
                raise CronError(f"{name} {part!r}: a range is <number>-<number>")
            start, end = int(a), int(b)
        elif body.isdigit():
            start = end = int(body)
            if step_text:
                end = high
        else:
            raise CronError(f"{name} {part!r} is not *, a number, a range or a list")
        if not (low <= start <= end <= high):
            raise CronError(f"{name} {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday (7 is folded into 0)
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        parts = expression.split()
        if len(parts) != len(_FIELDS):
            raise CronError(
                f"cron expression {expression!r} has {len(parts)} fields, expected 5 "
                "(minute hour day-of-month month day-of-week), e.g. '*/2 * * * *'"
            )
        sets = [_field(p, n, lo, hi) for p, (n, lo, hi) in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(
            expression,
            sets[0],
            sets[1],
            sets[2],
            sets[3],
            weekdays,
            parts[2] == "*",
            parts[4] == "*",
        )

    def _day_matches(self, t: datetime) -> bool:
        dom = t.day in self.days
        dow = (t.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def matches(self, t: datetime) -> bool:
        return (
            t.minute in self.minutes
            and t.hour in self.hours
            and t.month in self.months
            and self._day_matches(t)
        )

    def next_after(self, t: datetime) -> datetime:
        """The first matching minute strictly after `t` (same timezone as `t`)."""
        candidate = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(_MAX_STEPS):
            if self.matches(candidate):
                return candidate
            candidate += timedelta(minutes=1)
        raise CronError(f"cron expression {self.expression!r} never matches within a year")

    def period_s(self, t: datetime) -> float:
        """The gap between the next two runs after `t`: the expected age of the newest backup."""
        first = self.next_after(t)
        return (self.next_after(first) - first).total_seconds()
