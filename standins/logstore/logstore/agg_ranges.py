"""`range`, `date_range` and `ip_range`: their buckets, in ES's order and shape.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-bucket-range-aggregation.html
ES sorts the ranges by `from`, then `to` (an open end first), and keys a bucket
`from-to` (`*` for an open end) in the field's format: `50.0` for numbers, the date format's
text for dates. `range` and `date_range` are tantivy ranges. logstore keeps an IP address as a
string, so `ip_range` reads the index's distinct addresses and makes each range a `filters`
bucket holding the addresses inside it (filterpass.py computes those).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable
from typing import Any

import tantivy

from . import agg_format
from .aggfilter import FilterEntry
from .errors import ESError, bad_request, parsing, unsupported

_V4_MAPPED = 0xFFFF << 32
_ALL_ADDRESSES = 65_000

Bucket = Callable[[Any, Any, list[dict[str, Any]]], dict[str, Any]]


def _items(agg: Any) -> list[dict[str, Any]]:
    ranges = agg.params.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise parsing(f"[ranges] must be a non-empty array in [{agg.name}]")
    for item in ranges:
        if not isinstance(item, dict) or set(item) - {"from", "to", "key", "mask"}:
            raise parsing(f"[ranges] of [{agg.name}] take from, to, key (and mask for IPs)")
        if "mask" in item and agg.kind != "ip_range":
            raise parsing(f"[mask] is for ip_range only (aggregation [{agg.name}])")
    return ranges


def _bound(agg: Any, value: Any) -> float | None:
    if value is None:
        return None
    if agg.kind == "date_range":
        return float(agg_format.parse_date(agg, value))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise parsing(f"[{agg.name}] range bound [{value}] is not a number") from None


def _sorted(agg: Any) -> list[tuple[float | None, float | None, dict[str, Any]]]:
    bounds = [(_bound(agg, r.get("from")), _bound(agg, r.get("to")), r) for r in _items(agg)]
    return sorted(
        bounds,
        key=lambda b: (
            -float("inf") if b[0] is None else b[0],
            float("inf") if b[1] is None else b[1],
        ),
    )


def check(agg: Any) -> None:
    if "missing" in agg.params:
        _bound(agg, agg.params["missing"])
    agg_format.check_date(agg.params.get("format"))
    if agg.kind == "ip_range":
        for item in _items(agg):
            _ip_bounds(agg, item)
    else:
        _sorted(agg)


def overlapping(agg: Any) -> bool:
    """tantivy refuses overlapping ranges in one aggregation; ES takes them."""
    bounds = _sorted(agg)
    for (_, hi, _), (lo, _, _) in itertools.pairwise(bounds):
        if hi is None or (lo is None or lo < hi):
            return True
    return False


def _one(i: int, lo: float | None, hi: float | None) -> dict[str, Any]:
    rng: dict[str, Any] = {"key": f"r{i}"}
    if lo is not None:
        rng["from"] = lo
    if hi is not None:
        rng["to"] = hi
    return rng


def spec(agg: Any, fname: str) -> dict[str, Any]:
    if overlapping(agg):
        raise unsupported(f"overlapping {agg.kind} ranges above a filter ([{agg.name}])")
    ranges = [_one(i, lo, hi) for i, (lo, hi, _) in enumerate(_sorted(agg))]
    return {"range": {"field": fname, "ranges": ranges}}


def specs(agg: Any, fname: str) -> dict[str, dict[str, Any]]:
    """The tantivy aggregations: one, or when the ranges overlap one per range
    (`name[i]`, read back by `parts_of`)."""
    if not overlapping(agg):
        return {agg.name: spec(agg, fname)}
    return {
        f"{agg.name}[{i}]": {"range": {"field": fname, "ranges": [_one(i, lo, hi)]}}
        for i, (lo, hi, _) in enumerate(_sorted(agg))
    }


def parts_of(agg: Any, part: dict[str, Any]) -> dict[str, Any] | None:
    """One index's answer for the aggregation, the per-range ones put together."""
    if not overlapping(agg):
        found = part.get(agg.name)
        return found if isinstance(found, dict) else None
    buckets: list[dict[str, Any]] = []
    for i in range(len(_items(agg))):
        found = part.get(f"{agg.name}[{i}]") or {}
        found_rows = found.get("buckets", [])
        rows = found_rows.values() if isinstance(found_rows, dict) else found_rows
        # tantivy adds the uncovered stretches as buckets of their own: keep the range's
        buckets.extend(b for b in rows if b.get("key") == f"r{i}")
    return {"buckets": buckets}


def finish(
    agg: Any, parts: list[dict[str, Any]], bucket: Bucket, missing: list[dict[str, Any]]
) -> dict[str, Any]:
    """`missing`: the documents without the field, one result per index, counted in every
    range that holds the `missing` value."""
    fill = _bound(agg, agg.params["missing"]) if "missing" in agg.params else None
    groups: dict[Any, list[dict[str, Any]]] = {}
    for part in parts:
        found = part.get("buckets", [])
        for b in found.values() if isinstance(found, dict) else found:
            groups.setdefault((b.get("from"), b.get("to")), []).append(b)
    is_date = agg.kind == "date_range"
    fmt = agg_format.field_format(agg)
    buckets = []
    for lo, hi, item in _sorted(agg):
        members = groups.get((lo, hi), [])
        if fill is not None and (lo is None or fill >= lo) and (hi is None or fill < hi):
            members = members + missing
        made = bucket(agg, None, members)
        made.pop("key")
        out: dict[str, Any] = {}
        ends = []
        for side, value in (("from", lo), ("to", hi)):
            if value is None:
                ends.append("*")
                continue
            out[side] = value
            text = agg_format.date_text(int(value), fmt) if is_date else repr(value)
            if is_date:
                out[side + "_as_string"] = text
            ends.append(text)
        buckets.append({"key": item.get("key", "-".join(ends)), **out, **made})
    return _shaped(agg, buckets)


def _shaped(agg: Any, buckets: list[dict[str, Any]]) -> dict[str, Any]:
    if agg.params.get("keyed"):
        return {"buckets": {b.pop("key"): b for b in buckets}}
    return {"buckets": buckets}


# -- ip_range


def _ip(text: Any, agg: Any) -> int:
    try:
        addr = ipaddress.ip_address(str(text))
    except ValueError:
        raise bad_request(f"'{text}' is not an IP string literal. ([{agg.name}])") from None
    return _V4_MAPPED | int(addr) if addr.version == 4 else int(addr)


def _ip_text(value: int) -> str:
    if value >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return str(ipaddress.IPv6Address(value))


def _ip_bounds(agg: Any, item: dict[str, Any]) -> tuple[int | None, int | None]:
    if "mask" in item:
        try:
            net = ipaddress.ip_network(str(item["mask"]), strict=False)
        except ValueError:
            raise bad_request(f"invalid mask [{item['mask']}] in [{agg.name}]") from None
        start = _ip(net.network_address, agg)
        end = start + net.num_addresses
        return start, end if end < 1 << 128 else None
    lo, hi = item.get("from"), item.get("to")
    return (None if lo is None else _ip(lo, agg)), (None if hi is None else _ip(hi, agg))


def _ip_sorted(agg: Any) -> list[tuple[int | None, int | None, dict[str, Any]]]:
    bounds = [(*_ip_bounds(agg, r), r) for r in _items(agg)]
    return sorted(bounds, key=lambda b: (-1 if b[0] is None else b[0], b[1] or 1 << 129))


def ip_entries(agg: Any, tr: Any) -> list[FilterEntry]:
    """Each range as a filter bucket: a `terms` query on the index's addresses inside it."""
    fname = tr.field(agg.params["field"])[0]
    found = tr.tindex.searcher().aggregate(
        tantivy.Query.all_query(), {"a": {"terms": {"field": fname, "size": _ALL_ADDRESSES}}}
    )["a"]
    if int(found.get("sum_other_doc_count") or 0):
        raise unsupported(f"ip_range over more than {_ALL_ADDRESSES} distinct addresses")
    addresses = []
    for b in found.get("buckets", []):
        try:
            addresses.append((_ip(b["key"], agg), b["key"]))
        except ESError:  # a value that is no address is in no range
            continue
    entries = []
    for lo, hi, _ in _ip_sorted(agg):
        inside = [
            text for value, text in addresses
            if (lo is None or value >= lo) and (hi is None or value < hi)
        ]  # fmt: skip
        query = {"terms": {agg.params["field"]: inside}} if inside else {"match_none": {}}
        entries.append(FilterEntry("", query))
    return entries


def ip_finish(agg: Any, parts: list[dict[str, Any]], bucket: Bucket) -> dict[str, Any]:
    buckets = []
    for pos, (lo, hi, item) in enumerate(_ip_sorted(agg)):
        members = [p["buckets"][str(pos)] for p in parts if str(pos) in p.get("buckets", {})]
        made = bucket(agg, None, members)
        made.pop("key")
        ends = ["*" if v is None else _ip_text(v) for v in (lo, hi)]
        key = item.get("key", item.get("mask", "-".join(ends)))
        out: dict[str, Any] = {"key": key}
        for side, text in zip(("from", "to"), ends, strict=True):
            if text != "*":
                out[side] = text
        buckets.append({**out, **made})
    return _shaped(agg, buckets)
