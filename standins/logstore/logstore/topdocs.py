"""One index's best hits for a search: by score, by a fast field tantivy orders itself, or
(a dynamic field, a `missing` value other than `_last`) by values read and sorted here."""

from __future__ import annotations

from typing import Any

import tantivy

from . import sort as sorting
from .query import Translator
from .schema import DATE, DOUBLE, KEYWORD, LONG
from .sort import SortKey

Row = tuple[tuple[Any, ...], tantivy.DocAddress, float | None]
Found = tuple[int, list[Row]]


def top(
    searcher: tantivy.Searcher,
    tr: Translator,
    query: tantivy.Query,
    sort: list[SortKey],
    want: int,
    ordinal: int,
) -> Found:
    """(matches, [(sort values, address, score)]) of the `want` best hits; the caller merges
    the indices' hits by the full sort values."""
    mapped = [sorting.check_mapped(tr, searcher, key) for key in sort]
    if want <= 0:  # tantivy panics on a zero limit
        found = searcher.search(query, 1)
        return int(getattr(found, "count", 0) or 0), []
    first = sort[0] if sort else SortKey("_score", True)
    if first.field == "_score":
        res = searcher.search(query, want)
        count = int(getattr(res, "count", 0) or 0)
        scored: list[Row] = [((score,), addr, score) for score, addr in res.hits]
        return count, _rest(searcher, tr, sort, mapped, scored, ordinal, 1)
    fast = sorting.is_fast(tr, first) and mapped[0] and first.missing == "_last"
    if fast and not sorting.multi_valued(tr, searcher, first):
        order = tantivy.Order.Desc if first.desc else tantivy.Order.Asc
        res = searcher.search(query, want, order_by_field=sorting.fast_name(tr, first), order=order)
        count = int(getattr(res, "count", 0) or 0)
        firsts: list[Row] = [((value,), addr, None) for value, addr in res.hits]
        if len(sort) > 1 and count > len(firsts) > 0:
            firsts += _tied(searcher, tr, query, first, firsts)
        if first.field == "_shard_doc":
            firsts = [
                (((ordinal << sorting.SHARD_DOC_BITS) | int(v[0]),), a, s) for v, a, s in firsts
            ]
        firsts = [((_shown(v[0], first, tr),), a, s) for v, a, s in firsts]
        return count, _rest(searcher, tr, sort, mapped, firsts, ordinal, 1)
    return _sorted_here(searcher, tr, query, sort, mapped, ordinal)


def _tied(
    searcher: tantivy.Searcher, tr: Translator, query: tantivy.Query, key: SortKey, rows: list[Row]
) -> list[Row]:
    """The documents tantivy left out that tie with the last one it kept on the first key:
    the later keys decide among them, so they are all candidates."""
    value = rows[-1][0][0]
    if value is None or key.field in ("_doc", "_shard_doc"):
        return []  # missing values sort last and are all kept by _merge's cut; seqs are unique
    typed = tr.field(key.field)[1]
    if typed is None:
        return []
    if typed.kind == KEYWORD:
        same = tantivy.Query.term_query(tr.schema, typed.name, value)
    else:
        ftype = tantivy.FieldType.Float if typed.kind == DOUBLE else tantivy.FieldType.Integer
        name = sorting.fast_name(tr, key)
        same = tantivy.Query.range_query(tr.schema, name, ftype, value, value, True, True)
    both = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, same)])
    found = searcher.search(both, 1)
    total = int(getattr(found, "count", 0) or 0)
    if total <= 1:
        return []
    kept = {(a.segment_ord, a.doc) for _, a, _ in rows}
    tied = searcher.search(both, total).hits
    return [((value,), a, None) for _, a in tied if (a.segment_ord, a.doc) not in kept]


def _sorted_here(
    searcher: tantivy.Searcher,
    tr: Translator,
    query: tantivy.Query,
    sort: list[SortKey],
    mapped: list[bool],
    ordinal: int,
) -> Found:
    count = int(getattr(searcher.search(query, 1), "count", 0) or 0)
    if count == 0:
        return 0, []
    sorting.dynamic_limit(count, sort[0])
    res = searcher.search(query, count, order_by_field="_seq", order=tantivy.Order.Asc)
    rows: list[Row] = [((), addr, None) for _, addr in res.hits]
    return count, _rest(searcher, tr, sort, mapped, rows, ordinal, 0)


def _rest(
    searcher: tantivy.Searcher,
    tr: Translator,
    sort: list[SortKey],
    mapped: list[bool],
    rows: list[Row],
    ordinal: int,
    done: int,
) -> list[Row]:
    """The rows with the sort values of the keys after the first `done` ones."""
    if len(sort) <= done or not rows:
        return rows
    addrs = [addr for _, addr, _ in rows]
    columns = []
    for key, is_mapped in zip(sort[done:], mapped[done:], strict=True):
        if key.field == "_score":
            columns.append([score for _, _, score in rows])
            continue
        found = sorting.values(searcher, tr, key, addrs, ordinal, is_mapped)
        columns.append([_shown(v, key, tr) for v in found])
    return [
        ((*values, *extra), addr, score)
        for (values, addr, score), extra in zip(rows, zip(*columns, strict=True), strict=True)
    ]


def _shown(value: Any, key: SortKey, tr: Translator) -> Any:
    """A missing value as its key's `missing` says it sorts (and shows)."""
    if value is not None:
        return value
    typed = tr.field(key.field)[1] if not key.special else None
    numeric = (typed is not None and typed.kind in (LONG, DOUBLE, DATE)) or key.unmapped_type in (
        "long",
        "integer",
        "short",
        "byte",
        "double",
        "float",
        "date",
    )
    return sorting.with_missing(value, key, numeric)
