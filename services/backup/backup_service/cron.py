"""Five-field cron expressions (minute hour day-of-month month day-of-week), read by cronsim
(https://github.com/cuu508/cronsim). It follows Debian's cron, so day-of-month and day-of-week
combine as crontab(5) says (https://man7.org/linux/man-pages/man5/crontab.5.html): when both
are restricted, either may match; a field that starts with `*` (`*`, `*/2`) restricts nothing,
as in Vixie cron's DOM_STAR/DOW_STAR. Names (MON, JAN) work, as do cronsim's L, LW and #.

This module only adds what cronsim leaves to its caller: exactly five fields (cronsim also
takes a seconds field), and an error that names the expression, the field and its value
(cronsim says only "Bad minute")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cronsim import CronSim, CronSimError

_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT (0 and 7 are Sunday)"),
)
_ANY_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # cronsim checks an expression when it starts


class CronError(ValueError):
    pass


def _explain(expression: str, fields: list[str]) -> str:
    """Which field cronsim refused: each one alone, the others `*`."""
    for index, (name, allowed) in enumerate(_FIELDS):
        alone = ["*"] * len(_FIELDS)
        alone[index] = fields[index]
        try:
            CronSim(" ".join(alone), _ANY_TIME)
        except CronSimError:
            return (
                f"cron expression {expression!r}: the {name} field {fields[index]!r} is not "
                f"valid: use values {allowed} as *, n, a-b, */n, a-b/n or a comma list"
            )
    # Every field is fine alone: the day-of-month is past the end of every month allowed.
    return (
        f"cron expression {expression!r}: the day-of-month field {fields[2]!r} never occurs "
        f"in the month field {fields[3]!r}"
    )


@dataclass(frozen=True)
class Cron:
    expression: str

    @classmethod
    def parse(cls, expression: str) -> Cron:
        fields = expression.split()
        if len(fields) != len(_FIELDS):
            raise CronError(
                f"cron expression {expression!r} has {len(fields)} fields, expected 5 "
                "(minute hour day-of-month month day-of-week), e.g. '*/2 * * * *'"
            )
        try:
            CronSim(expression, _ANY_TIME)
        except CronSimError:
            raise CronError(_explain(expression, fields)) from None
        return cls(expression)

    def next_after(self, t: datetime) -> datetime:
        """The first matching minute strictly after `t` (same timezone as `t`)."""
        try:
            return next(CronSim(self.expression, t))
        except StopIteration:  # cronsim gives up after 50 years without a match
            raise CronError(f"cron expression {self.expression!r} never matches") from None
