"""A date field's `format` (and `date_nanos` precision): the strings ES would accept for it,
read to epoch nanoseconds.

Formats: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/mapping-date-format.html
Named formats of the ISO family and `epoch_millis`/`epoch_second` are read; a custom pattern
may use the numeric letters (`yyyy`/`uuuu`, `MM`, `dd`, `HH`, `mm`, `ss`, `S`..., `X`/`Z`)
and literals. Anything else (month names, week dates, ...) is refused by name when the mapping
is put, not silently read another way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from .errors import ESError, bad_request

_NS_PER_MS = 1_000_000
_MAX_NANOS = 2**63 - 1
_MAX_NANOS_TEXT = "2262-04-11T23:47:16.854775807"

# The ISO family, as ES's named formats read them: the date, then an optional time after `T`
# (the `optional_time` ones), fraction digits up to nanoseconds, an optional offset.
_ISO = re.compile(
    r"(?P<y>[+-]?\d{4,9})(?:-(?P<M>\d{1,2})(?:-(?P<d>\d{1,2})"
    r"(?:T(?P<H>\d{1,2})(?::(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)
_ISO_STRICT_FULL = re.compile(
    r"(?P<y>\d{4})-(?P<M>\d{2})-(?P<d>\d{2})T(?P<H>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<f>\d{1,9}))?(?P<z>Z|[+-]\d{2}:?\d{2})"
)
_DATE_ONLY = re.compile(r"(?P<y>\d{4})-(?P<M>\d{2})-(?P<d>\d{2})")
_ISO_NAMES = {
    "strict_date_optional_time",
    "date_optional_time",
    "strict_date_optional_time_nanos",
    "iso8601",
}
_NAMED = {
    **dict.fromkeys(_ISO_NAMES, _ISO),
    "strict_date_time": _ISO_STRICT_FULL,
    "date_time": _ISO_STRICT_FULL,
    "strict_date": _DATE_ONLY,
    "date": _DATE_ONLY,
    "strict_date_hour_minute_second": re.compile(
        r"(?P<y>\d{4})-(?P<M>\d{2})-(?P<d>\d{2})T(?P<H>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    ),
    "basic_date": re.compile(r"(?P<y>\d{4})(?P<M>\d{2})(?P<d>\d{2})"),
}
_PATTERN_TOKENS = re.compile(r"'[^']*'|yyyy|uuuu|yy|MM|dd|HH|mm|ss|S{1,9}|XXX|XX|X|ZZ|Z|[A-Za-z]|.")
_PATTERN_PARTS = {
    "yyyy": r"(?P<y>\d{4})",
    "uuuu": r"(?P<y>\d{4})",
    "MM": r"(?P<M>\d{2})",
    "dd": r"(?P<d>\d{2})",
    "HH": r"(?P<H>\d{2})",
    "mm": r"(?P<m>\d{2})",
    "ss": r"(?P<s>\d{2})",
    "XXX": r"(?P<z>Z|[+-]\d{2}:\d{2})",
    "XX": r"(?P<z>Z|[+-]\d{4})",
    "X": r"(?P<z>Z|[+-]\d{2}(?:\d{2})?)",
    "ZZ": r"(?P<z>[+-]\d{2}:\d{2})",
    "Z": r"(?P<z>[+-]\d{4})",
}


@dataclass(frozen=True)
class DateFormat:
    """One field's date format: `||`-separated alternatives, tried in order."""

    text: str
    parts: tuple[re.Pattern[str] | str, ...]  # a regex, or "epoch_millis" / "epoch_second"

    def nanos(self, value: object, field: str, es_type: str = "date") -> int:
        """The value as epoch nanoseconds, or a mapper_parsing_exception naming the field."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _bad(field, es_type, value, self.text)
        for part in self.parts:
            found = _try(part, value)
            if found is not None:
                return found
        raise _bad(field, es_type, value, self.text)


def parse_format(text: object, *, field: str) -> DateFormat:
    if not isinstance(text, str) or not text.strip():
        raise ESError(
            400, "mapper_parsing_exception", f"Invalid format: [{text}] for field [{field}]"
        )
    parts: list[re.Pattern[str] | str] = []
    for alt in text.split("||"):
        name = alt.strip()
        if name in ("epoch_millis", "epoch_second"):
            parts.append(name)
        elif name in _NAMED:
            parts.append(_NAMED[name])
        elif re.fullmatch(r"[a-z_]+", name):
            raise bad_request(
                f"[date format [{name}] (field [{field}])] is not supported by logstore "
                "(a single-node stand-in); see docs/logstore.md"
            )
        else:
            parts.append(_compile_pattern(name, field))
    return DateFormat(text, tuple(parts))


def _compile_pattern(pattern: str, field: str) -> re.Pattern[str]:
    out = []
    for token in _PATTERN_TOKENS.findall(pattern):
        if token.startswith("'"):
            out.append(re.escape(token[1:-1] or "'"))
        elif token in _PATTERN_PARTS:
            out.append(_PATTERN_PARTS[token])
        elif token.startswith("S"):
            out.append(rf"(?P<f>\d{{{len(token)}}})")
        elif token.isalpha():
            raise bad_request(
                f"[date format letter [{token}] in [{pattern}] (field [{field}])] is not "
                "supported by logstore (a single-node stand-in); see docs/logstore.md"
            )
        else:
            out.append(re.escape(token))
    return re.compile("".join(out))


def _try(part: re.Pattern[str] | str, value: int | float | str) -> int | None:
    if isinstance(part, str):  # epoch_millis / epoch_second
        scale = _NS_PER_MS if part == "epoch_millis" else 1000 * _NS_PER_MS
        if isinstance(value, str) and not _EPOCH_TEXT.fullmatch(value):
            return None
        try:
            return int(Decimal(str(value)) * scale)
        except (InvalidOperation, ValueError):
            return None
    if not isinstance(value, str):
        return None
    found = part.fullmatch(value)
    if found is None:
        return None
    return _to_nanos(found.groupdict())


def _to_nanos(g: dict[str, str | None]) -> int | None:
    try:
        dt = datetime(
            int(g.get("y") or 1970),
            int(g.get("M") or 1),
            int(g.get("d") or 1),
            int(g.get("H") or 0),
            int(g.get("m") or 0),
            int(g.get("s") or 0),
            tzinfo=UTC,
        )
    except (ValueError, OverflowError):
        return None
    seconds = int((dt - _EPOCH).total_seconds())
    frac = g.get("f") or ""
    nanos = seconds * 1_000_000_000 + int((frac + "000000000")[:9])
    zone = g.get("z")
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60
        nanos -= sign * offset * 1_000_000_000
    return nanos


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_TEXT = re.compile(r"-?\d+(?:\.\d+)?")
DEFAULT_NANOS = parse_format("strict_date_optional_time_nanos||epoch_millis", field="")


def check_nanos_range(nanos: int, value: object, field: str) -> int:
    """date_nanos holds 1970-01-01 to 2262-04-11 (a signed 64-bit count of nanoseconds)."""
    if 0 <= nanos <= _MAX_NANOS:
        return nanos
    if nanos < 0:
        why = f"date[{value}] is before the epoch in 1970"
    else:
        why = f"date[{value}] is after {_MAX_NANOS_TEXT}"
    why += " and cannot be stored in nanosecond resolution"
    raise ESError(
        400,
        "mapper_parsing_exception",
        f"failed to parse field [{field}] of type [date_nanos]",
        caused_by={"type": "illegal_argument_exception", "reason": why},
    )


def _bad(field: str, es_type: str, value: object, fmt: str) -> ESError:
    return ESError(
        400,
        "mapper_parsing_exception",
        f"failed to parse field [{field}] of type [{es_type}]: [{value}] does not match the "
        f"format [{fmt}]",
        caused_by={
            "type": "illegal_argument_exception",
            "reason": f"failed to parse date field [{value}] with format [{fmt}]",
        },
    )


def nanos_to_ms(nanos: int) -> int:
    return nanos // _NS_PER_MS
