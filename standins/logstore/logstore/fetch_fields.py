"""What each hit carries: `_source` (filtered), `fields` and `docvalue_fields`, `_version`,
`_seq_no`/`_primary_term`, `stored_fields` (`_none_`: no metadata), and its sort values.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-fields.html
Field values are read from `_source` and shown as the field's type reads them (a date in its
format, a number as a number), which is what ES's `fields` option does; `docvalue_fields`
answers the same here. Logstore stores no field apart from `_source`, so `stored_fields`
names only decide whether `_source` is returned.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from . import datemath
from . import source_filter as sf
from .errors import ESError, bad_request, parsing
from .query_compound import shard_illegal
from .schema import BOOLEAN, DATE, DOUBLE, KEYWORD, LONG, TEXT, Field, get_path
from .sort import shown

MAX_DOCVALUE_FIELDS = 100  # ES's index.max_docvalue_fields_search default


@dataclass
class FieldSpec:
    pattern: str
    format: str | None = None


@dataclass
class FetchSpec:
    source: sf.SourceSpec = ([], [])
    stored: list[str] | None = None  # None: not given
    none: bool = False  # stored_fields: _none_
    docvalue: list[FieldSpec] = field(default_factory=list)
    fields: list[FieldSpec] = field(default_factory=list)
    version: bool = False
    seq_no: bool = False


def parse(params: Any, body: dict[str, Any]) -> FetchSpec:
    spec = FetchSpec(source=sf.from_request(params, body))
    stored: Any = body.get("stored_fields")
    if params.get("stored_fields") is not None:
        stored = params["stored_fields"].split(",")
    if stored is not None:
        names = [stored] if isinstance(stored, str) else stored
        if not isinstance(names, list):
            raise parsing(f"[stored_fields] must be a string or an array, got {stored!r}")
        if names == ["_none_"]:
            if "_source" in body and body["_source"] not in (False, None):
                raise bad_request("[stored_fields] cannot be disabled if [_source] is requested")
            spec.none, spec.source = True, (None, [])
        else:
            spec.stored = [str(n) for n in names]
            explicit = "_source" in body or any(
                params.get(p) is not None for p in ("_source", "_source_includes")
            )
            if "_source" not in spec.stored and not explicit:
                spec.source = (None, [])
    docvalue: Any = body.get("docvalue_fields")
    if params.get("docvalue_fields") is not None:
        docvalue = params["docvalue_fields"].split(",")
    spec.docvalue = _field_specs("docvalue_fields", docvalue)
    spec.fields = _field_specs("fields", body.get("fields"))
    spec.version = _flag(body.get("version", params.get("version")))
    spec.seq_no = _flag(body.get("seq_no_primary_term", params.get("seq_no_primary_term")))
    return spec


def fold(params: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The body with the URL's fetch options in it: a scroll's later pages are fetched as its
    first was, whatever their own request's parameters."""
    out = dict(body)
    if any(params.get(p) is not None for p in ("_source", "_source_includes", "_source_excludes")):
        includes, excludes = sf.from_request(params, body)
        out["_source"] = False if includes is None else {"includes": includes, "excludes": excludes}
    for key in ("stored_fields", "docvalue_fields"):
        if params.get(key) is not None:
            out[key] = params[key].split(",")
    for key in ("version", "seq_no_primary_term"):
        if params.get(key) is not None:
            out[key] = _flag(params[key])
    return out


def _flag(value: Any) -> bool:
    return value is True or value in ("true", "")


def _field_specs(key: str, value: Any) -> list[FieldSpec]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise parsing(f"[{key}] must be an array, got {value!r}")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(FieldSpec(item))
        elif isinstance(item, dict) and isinstance(item.get("field"), str):
            for option in item:
                if option not in ("field", "format", "include_unmapped"):
                    raise parsing(f"[{key}] unknown field [{option}]")
            fmt = item.get("format")
            out.append(FieldSpec(item["field"], None if fmt == "use_field_mapping" else fmt))
        else:
            raise parsing(f"[{key}] entries must be field names or {{field, format}}, got {item!r}")
    return out


def check_index(spec: FetchSpec, index_name: str, settings: dict[str, Any], mappings: Any) -> None:
    """The per-index limits ES checks on each shard."""
    limit = int(settings.get("index.max_docvalue_fields_search", MAX_DOCVALUE_FIELDS))
    if len(spec.docvalue) > limit:
        raise shard_illegal(
            f"Trying to retrieve too many docvalue_fields. Must be less than or equal to: "
            f"[{limit}] but was [{len(spec.docvalue)}]. This limit can be set by changing the "
            "[index.max_docvalue_fields_search] index level setting.",
            index_name,
        )
    source = mappings.get("_source") if isinstance(mappings, dict) else None
    if spec.fields and isinstance(source, dict) and source.get("enabled") is False:
        raise bad_request(
            "Unable to retrieve the requested [fields] since _source is disabled in the "
            f"mappings for index [{index_name}]"
        )


def render_hit(hit: Any, spec: FetchSpec, sorted_: bool) -> dict[str, Any]:
    doc = hit.searcher.doc(hit.address)
    out: dict[str, Any] = {"_index": hit.index.meta.name}
    if not spec.none:
        out["_id"] = doc["_id"][0]
    if spec.version:
        out["_version"] = doc["_version"][0]
    if spec.seq_no:
        out["_seq_no"], out["_primary_term"] = doc["_seq"][0], 1
    out["_score"] = None if sorted_ else hit.score
    if "_ignored" in hit.index.fields:  # ES's `_ignored`: the fields ignore_malformed skipped
        ignored = doc.get_all("_ignored")
        if ignored:
            out["_ignored"] = ignored
    wanted = spec.source[0] is not None or spec.fields or spec.docvalue or spec.stored
    source = orjson.loads(doc["_source"][0]) if wanted else {}
    filtered = sf.apply(source, spec.source) if spec.source[0] is not None else None
    if filtered is not None:
        out["_source"] = filtered
    values: dict[str, list[Any]] = {}
    fields = hit.index.fields
    stored = [FieldSpec(p) for p in spec.stored or [] if _is_stored(hit.index.meta.mappings, p)]
    # `fields` once per field; docvalue_fields add each request's values (a date asked for in
    # three formats has three values, as in ES).
    for item in [*spec.fields, *stored]:
        for path in _matching(item.pattern, source, fields):
            found = field_values(source, path, fields, item.format)
            if found:
                values[path] = found
    asked: set[str] = set(values)
    for item in spec.docvalue:
        for path in _matching(item.pattern, source, fields):
            found = field_values(source, path, fields, item.format)
            if found and path not in asked:
                values.setdefault(path, []).extend(found)
    if values:
        out["fields"] = values
    if sorted_:
        out["sort"] = [shown(v) for v in hit.sort]
    return out


def _is_stored(mappings: Any, path: str) -> bool:
    """A field mapped with `store: true`: ES returns it among `stored_fields` (logstore reads
    its value from `_source`)."""
    node: Any = mappings
    for part in path.split("."):
        props = node.get("properties") if isinstance(node, dict) else None
        node = props.get(part) if isinstance(props, dict) else None
    return isinstance(node, dict) and node.get("store") is True


def _matching(pattern: str, source: dict[str, Any], fields: dict[str, Field]) -> list[str]:
    if "*" not in pattern:
        return [pattern]
    paths = set(_flat_paths(source, "")) | set(fields)
    return sorted(p for p in paths if fnmatch.fnmatchcase(p, pattern))


def _flat_paths(value: Any, prefix: str) -> list[str]:
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out += _flat_paths(item, f"{prefix}{key}.")
        return out
    return [prefix[:-1]] if prefix else []


def field_values(
    source: dict[str, Any], path: str, fields: dict[str, Field], fmt: str | None
) -> list[Any]:
    typed = fields.get(path)
    read = typed.copy_of if typed is not None and typed.copy_of else path
    raw = get_path(source, read)
    if raw is None and typed is None and path.endswith(".keyword"):
        raw = get_path(source, path.removesuffix(".keyword"))
    if raw is None or isinstance(raw, dict):
        return []
    items = raw if isinstance(raw, list) else [raw]
    kind = typed.kind if typed is not None else None
    if fmt is not None and kind in (KEYWORD, TEXT, BOOLEAN):
        raise bad_request(f"Field [{path}] of type [{kind}] doesn't support formats.")
    out = []
    for item in items:
        if item is None or isinstance(item, dict):
            continue
        try:
            out.append(_typed_value(item, kind, fmt, path))
        except (ValueError, TypeError, ESError):
            continue  # a malformed value (ignore_malformed) is left out, as ES does
    return out


def _typed_value(value: Any, kind: str | None, fmt: str | None, path: str) -> Any:
    if kind == DATE:
        ms = datemath.parse_date(value, field=path)
        return format_date(ms, fmt, _sub_millis(value))
    if kind == LONG:
        if isinstance(value, bool):
            raise ValueError(value)
        number: Any = int(float(value))
    elif kind == DOUBLE:
        number = float(value)
    elif kind == BOOLEAN:
        return value if isinstance(value, bool) else value == "true"
    elif kind in (KEYWORD, TEXT):
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    else:  # a dynamic field: its JSON value
        number = value
    if fmt is not None and isinstance(number, int | float) and not isinstance(number, bool):
        return format_number(number, fmt)
    return number


def format_number(number: float, fmt: str) -> str:
    """Java's DecimalFormat for the plain patterns (`#.0`, `0.00`, `#,##0.#`)."""
    if not re.fullmatch(r"[#0,]*(\.[#0]*)?", fmt):
        raise bad_request(f"number format [{fmt}] is not supported by logstore")
    whole, _, frac = fmt.partition(".")
    min_frac, max_frac = frac.count("0"), len(frac)
    text = f"{number:.{max_frac}f}"
    if max_frac > min_frac and "." in text:
        head, tail = text.split(".")
        tail = tail.rstrip("0").ljust(min_frac, "0")
        text = f"{head}.{tail}" if tail else head
    head, dot, tail = text.partition(".")
    sign = "-" if head.startswith("-") else ""
    digits = head.lstrip("-")
    digits = digits.zfill(whole.replace(",", "").count("0"))
    if digits == "0" and "0" not in whole and dot:
        digits = ""
    if "," in whole:
        digits = f"{int(digits or 0):,}"
    return f"{sign}{digits}{dot}{tail}"


# Java DateTimeFormatter letters, the common ones.
_DATE_TOKENS = re.compile(r"yyyy|uuuu|yy|MM|dd|HH|mm|ss|S+|'[^']*'|XXX|X|[A-Za-z]|.")
_DATE_PARTS = {
    "yyyy": "%Y",
    "uuuu": "%Y",
    "yy": "%y",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
}


_FRACTION = re.compile(r"\.(\d{4,9})(?=[Z+-]|$)")


def _sub_millis(value: Any) -> int:
    """The nanoseconds past the millisecond an ISO date string holds (a date_nanos value):
    logstore keeps dates in milliseconds, `_source` keeps the rest."""
    found = _FRACTION.search(value) if isinstance(value, str) else None
    return int(found.group(1).ljust(9, "0")[3:]) if found else 0


def format_date(ms: int, fmt: str | None, nanos: int = 0) -> Any:
    if fmt is None or fmt in ("strict_date_optional_time", "date_optional_time"):
        return datemath.format_ms(ms)
    if fmt == "epoch_millis":
        return f"{ms}.{nanos:06d}".rstrip("0") if nanos else str(ms)
    if fmt == "epoch_second":
        return str(ms // 1000)
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    out = []
    for token in _DATE_TOKENS.findall(fmt):
        if token in _DATE_PARTS:
            out.append(dt.strftime(_DATE_PARTS[token]))
        elif token.startswith("S"):  # fractions of a second, to the millisecond
            out.append(f"{ms % 1000:03d}{nanos:06d}"[: len(token)].ljust(len(token), "0"))
        elif token.startswith("X"):
            out.append("Z")  # UTC
        elif token.startswith("'"):
            out.append(token[1:-1])
        elif token.isalpha():
            raise bad_request(f"date format [{fmt}] is not supported by logstore")
        else:
            out.append(token)
    return "".join(out)
