"""Elasticsearch cron expressions (Quartz syntax), as SLM's `schedule` uses them.
Hand-written: the cron libraries on PyPI (cronsim, croniter) read Unix cron, not Quartz's
seconds, `?` and 1-based day names.

`<seconds> <minutes> <hours> <day_of_month> <month> <day_of_week> [year]`, UTC only:
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/api-conventions.html#api-cron-expressions

Supported: numbers, `*`, `?`, ranges `a-b`, lists `a,b`, steps `*/n`, `a/n`, `a-b/n`, month names
(JAN-DEC) and day names (SUN-SAT, 1 = Sunday, as in Quartz). `L`, `W` and `#` are refused with a
400 naming them. As in Quartz, exactly one of day-of-month and day-of-week must be `?`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import ESError

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
# (name, low, high, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("seconds", 0, 59, {}),
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day_of_month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day_of_week", 1, 7, _DAYS),
    ("year", 1970, 2099, {}),
)


def _bad(expression: str, why: str) -> ESError:
    return ESError(
        400,
        "illegal_argument_exception",
        f"invalid schedule [{expression}]: {why} (an Elasticsearch cron expression: "
        "<seconds> <minutes> <hours> <day_of_month> <month> <day_of_week> [year], "
        "e.g. '0 30 1 * * ?')",
    )


@dataclass(frozen=True)
class Cron:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: `?`
    months: frozenset[int]
    weekdays: frozenset[int] | None  # Quartz numbering, 1 = Sunday; None: `?`
    years: frozenset[int]

    def day_matches(self, when: datetime) -> bool:
        if self.days is not None:
            return when.day in self.days
        quartz_weekday = (when.weekday() + 1) % 7 + 1
        return self.weekdays is None or quartz_weekday in self.weekdays

    def next_after(self, now: datetime) -> datetime | None:
        """The first fire time strictly after `now` (UTC), or None if there is none left."""
        t = now.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        while t.year <= max(self.years):
            if t.year not in self.years:
                t = datetime(t.year + 1, 1, 1, tzinfo=UTC)
            elif t.month not in self.months:
                t = _next_month(t)
            elif not self.day_matches(t):
                t = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        return None


def _next_month(t: datetime) -> datetime:
    return datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=UTC)


def _value(text: str, names: dict[str, int], expression: str, field: str) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise _bad(expression, f"[{text}] is not a valid value for {field}")
    return int(text)


def _field(text: str, index: int, expression: str) -> frozenset[int] | None:
    name, low, high, names = _FIELDS[index]
    if text == "?":
        if name not in ("day_of_month", "day_of_week"):
            raise _bad(
                expression, f"'?' is only allowed in day_of_month or day_of_week, not {name}"
            )
        return None
    for special in ("L", "W", "#"):
        if special in text.upper() and not (special in "LW" and text.upper() in names):
            raise _bad(expression, f"'{special}' in {name} is not supported by logstore")
    values: set[int] = set()
    for part in text.split(","):
        spec, _, step_text = part.partition("/")
        step = _value(step_text, {}, expression, name) if step_text else 1
        if step < 1:
            raise _bad(expression, f"the step in [{part}] must be at least 1")
        if spec == "*":
            first, last = low, high
        elif "-" in spec:
            a, _, b = spec.partition("-")
            first, last = _value(a, names, expression, name), _value(b, names, expression, name)
        else:
            first = _value(spec, names, expression, name)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise _bad(expression, f"[{part}] is outside {low}-{high} for {name}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def parse(expression: str) -> Cron:
    parts = expression.split()
    if len(parts) not in (6, 7):
        raise _bad(expression, f"expected 6 or 7 fields, got {len(parts)}")
    if len(parts) == 6:
        parts.append("*")
    fields = [_field(text, i, expression) for i, text in enumerate(parts)]
    if (fields[3] is None) == (fields[5] is None):
        raise _bad(
            expression,
            "exactly one of day_of_month and day_of_week must be '?' (Quartz does not support "
            "both)",
        )
    seconds, minutes, hours, days, months, weekdays, years = fields
    if seconds is None or minutes is None or hours is None or months is None or years is None:
        raise _bad(expression, "'?' is only allowed in day_of_month or day_of_week")
    return Cron(expression, seconds, minutes, hours, days, months, weekdays, years)
