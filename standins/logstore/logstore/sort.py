"""Sorting search hits: the `sort` option's forms, and each hit's sort values.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/sort-search-results.html

A typed keyword, numeric or date field is sorted by tantivy on its fast field (a log index's
`@timestamp` sort must stay cheap). A dynamic field (in `doc`, no typed fast field) is sorted
here, from each matching document's `_source`: fine for the small sets such sorts are used on,
refused past DYNAMIC_SORT_LIMIT matches. Missing values sort last unless `missing` says
otherwise; a field no document of an index has fails unless `unmapped_type` is given, as in ES.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from .datemath import parse_date
from .errors import ESError, bad_request, parsing, search_failed
from .query import Translator
from .query_compound import shard_illegal
from .schema import DATE, DOUBLE, KEYWORD, LONG, TEXT, Field, get_path

DYNAMIC_SORT_LIMIT = 100_000
SHARD_DOC_BITS = 40  # _shard_doc: the index's place in the request, then the document's _seq
_ORDERS = ("asc", "desc")
_SPEC_KEYS = {"order", "missing", "unmapped_type", "mode", "numeric_type", "format"}
_MAX_LONG, _MIN_LONG = 2**63 - 1, -(2**63)


@dataclass
class SortKey:
    field: str  # ES name, "_score", "_doc" or "_shard_doc"
    desc: bool
    missing: Any = "_last"
    unmapped_type: str | None = None
    numeric_type: str | None = None  # a date's sort values in `date` or `date_nanos` units
    format: str | None = None  # a date's sort values as text in this format
    mode: str | None = None  # min or max of a field's several values (default: by order)

    @property
    def special(self) -> bool:
        return self.field in ("_score", "_doc", "_shard_doc")


def parse_sort(spec: Any) -> list[SortKey]:
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    keys = []
    for item in items:
        if isinstance(item, str):
            name, _, direction = item.partition(":")
            keys.append(_key(name, {"order": direction} if direction else {}))
        elif isinstance(item, dict) and len(item) == 1:
            ((name, order),) = item.items()
            keys.append(_key(name, order if isinstance(order, dict) else {"order": order}))
        else:
            raise parsing(f"[sort] malformed: {item!r}")
    return keys


def _key(name: str, spec: dict[str, Any]) -> SortKey:
    for option in spec:
        if option not in _SPEC_KEYS:
            raise parsing(f"[field_sort] unknown field [{option}]")
    order = str(spec.get("order") or ("desc" if name == "_score" else "asc")).lower()
    if order not in _ORDERS:
        raise bad_request(f"Unknown SortOrder [{order}]")
    mode = spec.get("mode")
    if mode is not None and mode not in ("min", "max"):
        raise bad_request(f"[sort] mode [{mode}] is not supported by logstore: use min or max")
    numeric_type = spec.get("numeric_type")
    if numeric_type not in (None, "long", "double", "date", "date_nanos"):
        raise bad_request(f"invalid value for [numeric_type], got [{numeric_type}]")
    fmt = spec.get("format")
    if fmt is not None and not isinstance(fmt, str):
        raise parsing("[field_sort] format must be a string")
    return SortKey(
        name,
        order == "desc",
        spec.get("missing", "_last"),
        spec.get("unmapped_type"),
        numeric_type,
        fmt,
        mode,
    )


def display(value: Any, key: SortKey, typed: Field | None) -> Any:
    """A hit's sort value as the key's `numeric_type` and `format` ask (dates only: Kibana
    sorts `@timestamp` with a format)."""
    if (
        typed is None
        or typed.kind != DATE
        or not isinstance(value, int)
        or isinstance(value, bool)
        or value in (_MAX_LONG, _MIN_LONG)
    ):
        return shown(value)
    if key.format is not None:
        from .fetch_fields import format_date

        if typed.nanos:
            return format_date(value // 1_000_000, key.format, value % 1_000_000)
        return format_date(value, key.format)
    if key.numeric_type == "date_nanos" and not typed.nanos:
        return value * 1_000_000
    if key.numeric_type == "date" and typed.nanos:
        return value // 1_000_000
    return value


def after_value(value: Any, key: SortKey, typed: Field | None) -> Any:
    """A search_after number in the key's `numeric_type` units, as the field's own."""
    if typed is None or typed.kind != DATE or not isinstance(value, int) or isinstance(value, bool):
        return value
    if key.numeric_type == "date_nanos" and not typed.nanos:
        return value // 1_000_000
    if key.numeric_type == "date" and typed.nanos:
        return value * 1_000_000
    return value


def is_fast(tr: Translator, key: SortKey) -> bool:
    """Whether tantivy can order by this key itself (a typed field, _doc or _score)."""
    if key.special:
        return True
    typed = tr.field(key.field)[1]
    return typed is not None and typed.kind in (KEYWORD, LONG, DOUBLE, DATE)


_MULTI: dict[tuple[str, int, int, str], bool] = {}


def multi_valued(tr: Translator, searcher: tantivy.Searcher, key: SortKey) -> bool:
    """Whether some document of the index has several values of the key's typed field:
    tantivy orders those by their first value, ES by their min (asc) or max (desc), so such a
    field is sorted here. Cached per index refresh and field."""
    typed = tr.field(key.field)[1] if not key.special else None
    if typed is None:
        return False
    cache_key = (tr.index_name, tr.generation, int(searcher.num_docs), typed.name)
    found = _MULTI.get(cache_key)
    if found is None:
        has = tantivy.Query.exists_query(tr.exists_field(key.field), True)
        docs = int(getattr(searcher.search(has, 1), "count", 0) or 0)
        counted = searcher.aggregate(
            tantivy.Query.all_query(), {"c": {"value_count": {"field": typed.name}}}
        )
        found = float(counted["c"]["value"] or 0) > docs
        if len(_MULTI) > 4096:
            _MULTI.clear()
        _MULTI[cache_key] = found
    return found


def fast_name(tr: Translator, key: SortKey) -> str:
    if key.field in ("_doc", "_shard_doc"):
        return "_seq"
    typed = tr.field(key.field)[1]
    assert typed is not None
    return typed.ns_name if typed.nanos else typed.name  # date_nanos: nanosecond values


def check_mapped(tr: Translator, searcher: tantivy.Searcher, key: SortKey) -> bool:
    """False when no document of this index has the field (ES: not mapped): an error
    unless `unmapped_type` says what to sort it as (then every value is missing)."""
    if key.field == "_id":  # ES 8: indices.id_field_data.enabled is false by default
        raise shard_illegal(
            "Fielddata access on the _id field is disallowed, you can re-enable it by updating "
            "the dynamic cluster setting: indices.id_field_data.enabled",
            tr.index_name,
        )
    if key.special or tr.field(key.field)[1] is not None:
        typed = tr.field(key.field)[1] if not key.special else None
        if typed is not None and typed.kind == TEXT:
            raise _text(key.field)
        return True
    exists = tantivy.Query.exists_query(tr.exists_field(key.field), True)
    if getattr(searcher.search(exists, 1), "count", 0):
        return True
    if key.unmapped_type is None:
        raise search_failed(
            f"No mapping found for [{key.field}] in order to sort on", tr.index_name
        )
    return False


def _text(path: str) -> ESError:
    return bad_request(
        f"Text fields are not optimised for operations that require per-document field data "
        f"like aggregations and sorting, so these operations are disabled by default. Please "
        f"use a keyword field instead. Alternatively, set fielddata=true on [{path}] in order "
        "to load field data by uninverting the inverted index. Note that this can use "
        "significant memory."
    )


def values(
    searcher: tantivy.Searcher,
    tr: Translator,
    key: SortKey,
    addrs: list[tantivy.DocAddress],
    ordinal: int,
    mapped: bool,
) -> list[Any]:
    """This key's sort value for each address (None for a missing one)."""
    if not mapped:
        return [None] * len(addrs)
    if key.field in ("_doc", "_shard_doc"):
        seqs = searcher.fast_field_values("_seq", addrs)
        if key.field == "_doc":
            return list(seqs)
        return [(ordinal << SHARD_DOC_BITS) | int(s or 0) for s in seqs]
    typed = tr.field(key.field)[1]
    numeric = typed is not None and typed.kind in (LONG, DOUBLE, DATE)
    if numeric and not multi_valued(tr, searcher, key):
        return list(searcher.fast_field_values(fast_name(tr, key), addrs))
    out = []
    for addr in addrs:
        doc = searcher.doc(addr)
        source = orjson.loads(doc["_source"][0])
        out.append(_pick(source, key, typed))
    if typed is None:
        _check_dynamic(key, out)
    return out


def _pick(source: dict[str, Any], key: SortKey, typed: Field | None) -> Any:
    path = key.field
    value = get_path(source, typed.copy_of or path if typed is not None else path)
    if typed is not None and typed.kind in (LONG, DOUBLE, DATE) and value is not None:
        value = [_number(typed, v) for v in (value if isinstance(value, list) else [value])]
    if value is None and typed is None and path.endswith(".keyword"):
        value = get_path(source, path.removesuffix(".keyword"))
        if isinstance(value, list):
            value = [v for v in value if isinstance(v, str)]
        elif not isinstance(value, str):
            value = None
    if isinstance(value, list):
        found = [v for v in value if v is not None]
        if not found:
            return None
        try:
            highest = key.mode == "max" if key.mode else key.desc  # ES's default mode
            return max(found) if highest else min(found)
        except TypeError:
            raise _mixed(path) from None
    if isinstance(value, bool):
        return int(value)
    return value


def _number(typed: Field, value: Any) -> Any:
    """A typed numeric or date value from `_source`, as its fast field holds it."""
    try:
        if typed.kind == DATE:
            ms = parse_date(value, field=typed.path)
            return ms * 1_000_000 if typed.nanos else ms
        return int(value) if typed.kind == LONG else float(value)
    except (TypeError, ValueError, ESError):
        return None  # a malformed value (ignore_malformed) is not sorted on


def _check_dynamic(key: SortKey, found: list[Any]) -> None:
    kinds = {str if isinstance(v, str) else float for v in found if v is not None}
    if len(kinds) > 1:
        raise _mixed(key.field)
    if kinds == {str} and not key.field.endswith(".keyword"):
        raise _text(key.field)  # a dynamic string is text, its `.keyword` sorts


def _mixed(path: str) -> ESError:
    return bad_request(
        f"sort on [{path}] is not supported by logstore: its values are of several types in "
        "this index; map the field"
    )


def dynamic_limit(count: int, key: SortKey) -> None:
    if count > DYNAMIC_SORT_LIMIT:
        raise bad_request(
            f"sort on the dynamic field [{key.field}] over {count} matching documents is not "
            f"supported by logstore (at most {DYNAMIC_SORT_LIMIT}): map it as a keyword, "
            "numeric or date field"
        )


def with_missing(value: Any, key: SortKey, numeric: bool) -> Any:
    """The value a missing one sorts (and shows) as: ES's `missing` option, `_last` by
    default; a numeric field's hit shows the extreme long it sorted as."""
    if value is not None:
        return value
    if key.missing == "_last":
        return (_MIN_LONG if key.desc else _MAX_LONG) if numeric else None
    if key.missing == "_first":
        return (_MAX_LONG if key.desc else _MIN_LONG) if numeric else FIRST
    return key.missing


class _First:
    """A missing value sorted first (`missing: _first` on a non-numeric field): shown as null."""

    def __repr__(self) -> str:
        return "FIRST"


FIRST = _First()


def shown(value: Any) -> Any:
    return None if value is FIRST else value


class Ordered:
    """A sort value that orders None last and honours the direction."""

    __slots__ = ("desc", "value")

    def __init__(self, value: Any, desc: bool) -> None:
        self.value, self.desc = value, desc

    def __lt__(self, other: Ordered) -> bool:
        if self.value is FIRST or other.value is FIRST:
            return self.value is FIRST and other.value is not FIRST
        if self.value is None or other.value is None:
            return self.value is not None and other.value is None
        try:
            return bool(self.value > other.value) if self.desc else bool(self.value < other.value)
        except TypeError:  # e.g. a `missing` string against numbers
            raise bad_request(
                f"sort values [{self.value}] and [{other.value}] do not compare"
            ) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ordered) and self.value == other.value

    def __gt__(self, other: Ordered) -> bool:
        return other < self


def sort_tuple(values: tuple[Any, ...], keys: list[SortKey]) -> tuple[Ordered, ...]:
    return tuple(Ordered(v, k.desc) for v, k in zip(values, keys, strict=False))


__all__ = ["DOUBLE", "LONG", "ESError", "Ordered", "SortKey", "parse_sort"]
