"""A value as its mapped field type indexes it (schema.Field), or the error ES gives for it.

Types: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/mapping-types.html
`binary` (base64, kept in a fast bytes field: `exists` works, it is not searchable),
`geo_point` (kept as `lat,lon` for `exists`; geo queries and aggregations are refused by
name), `ip` (validated), `date`/`date_nanos` with their `format`, `scaled_float` (rounded to
its scaling factor, as ES stores it), numbers with `coerce: false`.
"""

from __future__ import annotations

import binascii
import ipaddress
import math
import re
from base64 import b64decode
from typing import TYPE_CHECKING, Any

from .datefmt import DEFAULT_NANOS, check_nanos_range, nanos_to_ms
from .datemath import parse_date, resolve
from .errors import ESError, search_failed

if TYPE_CHECKING:
    from .schema import Field

_I64 = 2**63
_GEOHASH = re.compile(r"[0-9b-hjkmnp-z]{1,12}")
_WKT = re.compile(r"\s*POINT\s*\(\s*(\S+)\s+(\S+)(?:\s+\S+)?\s*\)\s*", re.IGNORECASE)
_INT_RANGES = {
    "integer": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-128, 127),
    "unsigned_long": (0, 2**63 - 1),  # tantivy's signed 64 bits: larger ones are refused
}


# Kept for `exists` only: a query on their values is refused (ES: binary fields are not
# searchable; logstore serves no geo query).
NOT_SEARCHABLE = {"binary", "geo_point", "none"}


def not_searchable(field: Field, index: str) -> ESError:
    if field.kind == "geo_point":
        reason = (
            f"[queries on geo_point field [{field.path}]] are not supported by logstore "
            "(a single-node stand-in); see docs/logstore.md"
        )
    elif field.kind == "binary":
        reason = f"Binary fields do not support searching: field [{field.path}]"
    else:
        reason = f"Cannot search on field [{field.path}] since it is not indexed."
    return search_failed(reason, index)


def convert(field: Field, value: Any) -> Any:
    """The value to index for `field` (a list for an array); ESError when it does not fit."""
    kind = field.kind
    if kind == "geo_point":
        return _geo_points(field, value)
    if isinstance(value, list):
        out = [convert(field, item) for item in value if item is not None]
        return [v for v in out if v is not None]
    try:
        return _one(field, value)
    except (ValueError, OverflowError, TypeError) as exc:
        raise failed(field, value, str(exc)) from None


def failed(field: Field, value: Any, why: str) -> ESError:
    return ESError(
        400,
        "document_parsing_exception",
        f"failed to parse field [{field.path}] of type [{field.es_type or field.kind}]: "
        f"[{value}] ({why})",
    )


def _one(field: Field, value: Any) -> Any:
    kind = field.kind
    if isinstance(value, dict) and kind != "none":
        raise ValueError("an object where a value was expected")
    if kind in ("keyword", "text"):
        text = value if isinstance(value, str) else _text(value)
        if field.es_type == "ip":
            ipaddress.ip_address(text)
        if field.ignore_above is not None and len(text) > field.ignore_above:
            return None  # kept in _source, not indexed (the caller notes it in _ignored)
        return text
    if kind == "date":
        if field.nanos or field.fmt is not None:
            fmt = field.fmt or DEFAULT_NANOS
            nanos = fmt.nanos(value, field.path, field.es_type or "date")
            if field.nanos:
                return check_nanos_range(nanos, value, field.path)
            return nanos_to_ms(nanos)
        return _long(parse_date(value, field=field.path))
    if kind == "long":
        return _long(int(_number(field, value, integral=True)))
    if kind == "double":
        number = float(_number(field, value, integral=False))
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        if field.scaling is not None:  # ES keeps round(value * factor) as a long
            return round(number * field.scaling) / field.scaling
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        if value == "":
            return False
        raise ValueError("only [true] or [false] are allowed")
    if kind == "binary":
        if not isinstance(value, str):
            raise ValueError("binary values must be base64 strings")
        b64decode(value, validate=True)
        return value
    raise ValueError(f"values of type [{kind}] cannot be indexed")


def query_ms(field: Field, value: Any, *, round_up: bool) -> int:
    """A date in a query on `field`: date math or ISO 8601 (datemath.resolve), else a value
    in the field's own `format`, as ES reads it."""
    try:
        return resolve(value, round_up=round_up)
    except ESError:
        if field.fmt is None or not isinstance(value, str):
            raise
        return nanos_to_ms(field.fmt.nanos(value, field.path))


def sort_value(field: Field, text: str) -> int:
    """A date as a sort value (search_after): read with the field's format; date_nanos in
    nanoseconds, as its hits' sort values are."""
    if field.nanos:
        return (field.fmt or DEFAULT_NANOS).nanos(text, field.path, "date_nanos")
    if field.fmt is not None:
        return nanos_to_ms(field.fmt.nanos(text, field.path))
    return parse_date(text, field=field.path)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"{type(value).__name__} is not a string")


def _number(field: Field, value: Any, *, integral: bool) -> int | float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, str):
        if not field.coerce:
            raise ValueError("[coerce] is false: strings are not numbers")
        value = float(value) if not integral or not value.lstrip("-").isdigit() else int(value)
    if not isinstance(value, int | float):
        raise ValueError(f"{type(value).__name__} is not a number")
    if integral and isinstance(value, float):
        if not field.coerce and not value.is_integer():
            raise ValueError("[coerce] is false: a fraction is not an integer")
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        value = int(value)
    if integral:
        low, high = _INT_RANGES.get(field.es_type, (-_I64, _I64 - 1))
        if not low <= value <= high:
            raise ValueError(f"Value out of range for a [{field.es_type or 'long'}]")
    number: int | float = value
    return number


def _long(number: int) -> int:
    if not -_I64 <= number < _I64:
        raise ValueError("out of range for a long")
    return number


def _geo_points(field: Field, value: Any) -> Any:
    """A point or an array of points (ES's forms: `[lon, lat]`, `"lat,lon"`, `{lat, lon}`,
    a geohash, WKT `POINT (lon lat)`), each kept as `lat,lon`."""
    try:
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            return _point(value)
        if isinstance(value, list):
            return [_point(v) for v in value if v is not None]
        return _point(value)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise failed(field, value, str(exc)) from None


def _point(value: Any) -> str:
    if isinstance(value, dict):
        if value.get("type") == "Point" and isinstance(value.get("coordinates"), list):
            return _point(value["coordinates"])
        lat, lon = float(value["lat"]), float(value["lon"])
    elif isinstance(value, list):
        if len(value) not in (2, 3) or any(isinstance(v, bool) for v in value):
            raise ValueError("a point is [lon, lat]")
        lon, lat = float(value[0]), float(value[1])
    elif isinstance(value, str):
        wkt = _WKT.fullmatch(value)
        if wkt:
            lon, lat = float(wkt.group(1)), float(wkt.group(2))
        elif "," in value:
            lat_text, _, lon_text = value.partition(",")
            lat, lon = float(lat_text), float(lon_text.split(",")[0])
        elif _GEOHASH.fullmatch(value):
            return value  # a geohash names a cell: kept as written
        else:
            raise ValueError("not a geo_point")
    else:
        raise ValueError("not a geo_point")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"illegal latitude or longitude [{lat}, {lon}]")
    return f"{lat},{lon}"
