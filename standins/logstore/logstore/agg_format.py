"""`format` on aggregations: Java DecimalFormat patterns for numbers, date formats for dates.

ES formats a numeric key or value with java.text.DecimalFormat (`"Value is ##0.0"` gives
`Value is 50.0`) and a date with the field's or the request's date format. logstore reads the
common part of DecimalFormat: literal prefix and suffix (quotes for special characters), `0`
and `#` digits, `.` and a `,` grouping; rounding half-even, as DecimalFormat does. Exponents,
percent, currency and sub-patterns (`;`) are refused by name.
https://docs.oracle.com/javase/8/docs/api/java/text/DecimalFormat.html
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from . import agg_timezone, datefmt, datemath
from .errors import unsupported

_NUMBER = re.compile(r"[#0,.]*[0#][#0,.]*")
_REFUSED = set("E%\u2030\u00a4;")


def check_decimal(pattern: str) -> None:
    text = re.sub(r"'[^']*'", "", pattern)
    if any(c in _REFUSED for c in text) or not _NUMBER.search(text):
        raise unsupported(f"number format [{pattern}]")


def decimal(pattern: str, value: float) -> str:
    check_decimal(pattern)
    # Find the number part outside quotes: the prefix and suffix around it are literal.
    pos, prefix, number, suffix = 0, "", "", ""
    while pos < len(pattern):
        char = pattern[pos]
        if char == "'":
            end = pattern.index("'", pos + 1) if "'" in pattern[pos + 1 :] else len(pattern)
            literal = pattern[pos + 1 : end] or "'"
            if number:
                suffix += literal
            else:
                prefix += literal
            pos = end + 1
            continue
        if not suffix and char in "#0,." and (number or _NUMBER.match(pattern, pos)):
            number += char
        elif number:
            suffix += char
        else:
            prefix += char
        pos += 1
    whole, _, frac = number.partition(".")
    min_int = whole.count("0")
    min_frac, max_frac = frac.count("0"), len(frac.replace(",", ""))
    group = len(whole) - whole.rindex(",") - 1 if "," in whole else 0
    quant = Decimal(1).scaleb(-max_frac)
    rounded = Decimal(repr(abs(value))).quantize(quant, rounding=ROUND_HALF_EVEN)
    int_text, _, frac_text = f"{rounded:f}".partition(".")
    frac_text = frac_text.rstrip("0")
    frac_text += "0" * (min_frac - len(frac_text))
    int_text = int_text.lstrip("0").rjust(min_int, "0")
    if group:
        chunks: list[str] = []
        while len(int_text) > group:
            chunks.insert(0, int_text[-group:])
            int_text = int_text[:-group]
        int_text = ",".join([int_text, *chunks]) if int_text else ",".join(chunks)
    text = (int_text or ("" if frac_text else "0")) + ("." + frac_text if frac_text else "")
    sign = "-" if value < 0 else ""  # DecimalFormat keeps the sign of a value rounded to 0
    return f"{prefix}{sign}{text}{suffix}"


# Named formats as ES prints them (strftime); the ISO "optional time" family prints in full.
_NAMED_OUT = {
    "strict_date": "%Y-%m-%d",
    "date": "%Y-%m-%d",
    "basic_date": "%Y%m%d",
    "strict_date_hour_minute_second": "%Y-%m-%dT%H:%M:%S",
    "date_hour_minute_second": "%Y-%m-%dT%H:%M:%S",
}
_ISO_OUT = {
    "strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos",
    "iso8601", "strict_date_time", "date_time",
}  # fmt: skip
_TOKENS = re.compile(r"'[^']*'|yyyy|uuuu|yy|MM|dd|HH|mm|ss|S{1,9}|XXX|XX|X|ZZ|Z|[A-Za-z]|.")
_TOKEN_OUT = {
    "yyyy": "%Y", "uuuu": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M",
    "ss": "%S", "XXX": "Z", "XX": "Z", "X": "Z", "ZZ": "+00:00", "Z": "+0000",
}  # fmt: skip


def check_date(fmt: str | None) -> None:
    if fmt is not None:
        _strftime(fmt.split("||")[0].strip(), 0)


def _strftime(fmt: str, ms: int, tz: tzinfo | None = None) -> str:
    if fmt == "epoch_millis":
        return str(ms)
    if fmt == "epoch_second":
        return str(ms // 1000)
    if fmt in _ISO_OUT:
        return datemath.format_ms(ms) if tz is None else agg_timezone.iso_text(ms, tz)
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz or UTC)
    if fmt in _NAMED_OUT:
        return dt.strftime(_NAMED_OUT[fmt])
    if re.fullmatch(r"[a-z_]+", fmt):
        raise unsupported(f"date format [{fmt}] in an aggregation")
    out = []
    for token in _TOKENS.findall(fmt):
        if token.startswith("'"):
            out.append(token[1:-1] or "'")
        elif token.startswith("S"):
            out.append(f"{ms % 1000:03d}"[: len(token)].ljust(len(token), "0"))
        elif token in _TOKEN_OUT:
            out.append(dt.strftime(_TOKEN_OUT[token]))
        elif token.isalpha():
            raise unsupported(f"date format letter [{token}] in [{fmt}]")
        else:
            out.append(token)
    return "".join(out)


def date_text(ms: int, fmt: str | None, tz: tzinfo | None = None) -> str:
    """A date as ES prints it in `fmt` (the first of `a||b`), by default its ISO form; in the
    zone `tz` (date_histogram's time_zone) when given."""
    if fmt is None:
        return datemath.format_ms(ms) if tz is None else agg_timezone.iso_text(ms, tz)
    return _strftime(fmt.split("||")[0].strip(), ms, tz)


def field_format(agg: Any) -> str | None:
    """The aggregation's `format`, else the date field's own."""
    if agg.params.get("format") is not None:
        return str(agg.params["format"])
    fmt = getattr(agg.typed, "fmt", None)
    return str(fmt.text) if fmt is not None else None


def parse_date(agg: Any, value: Any) -> int:
    """A bound or key (range `from`/`to`, include values, extended_bounds) read with the
    date field's format, as ES reads them; date math as everywhere."""
    fmt = getattr(agg.typed, "fmt", None)
    if agg.params.get("format") is not None:
        fmt = datefmt.parse_format(agg.params["format"], field=agg.name)
    text = str(value)
    if fmt is None or text.startswith("now") or "||" in text:
        return datemath.resolve(value)
    return datefmt.nanos_to_ms(fmt.nanos(value, agg.params.get("field", agg.name)))
