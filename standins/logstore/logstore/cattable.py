"""The `_cat` table as Elasticsearch renders it (its RestTable): columns with aliases and
descriptions, `help`, `v`, `h` (names, aliases, wildcards), `ts`, `s` (sort), `bytes`, `pri`,
`format=json` / an `Accept: application/json`.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cat.html
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from .errors import ESError, unsupported
from .http import Ctx


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...] = ()
    desc: str = "not available"
    default: bool = True  # shown without `h`
    right: bool = False  # ES's text-align:right
    sibling: str | None = None  # `pri=true` adds the `pri.<name>` column after it


class Bytes(int):
    """A byte size: printed as ES's ByteSizeValue (`4.8kb`), or a whole number per `bytes=`."""


# Plain numbers: sorted as numbers, printed as they are.
Cell = str | int | Bytes | None

_UNITS = (("pb", 1024**5), ("tb", 1024**4), ("gb", 1024**3), ("mb", 1024**2), ("kb", 1024))
_BYTES_PARAM = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3}
_BYTES_PARAM |= {"gb": 1024**3, "t": 1024**4, "tb": 1024**4, "p": 1024**5, "pb": 1024**5}
_TIMESTAMP_COLUMNS = ("epoch", "timestamp")  # left out by `ts=false`


def human_bytes(n: int) -> str:
    """ES's ByteSizeValue.toString: the largest unit, one decimal cut (not rounded), no `.0`."""
    for suffix, size in _UNITS:
        if n >= size:
            whole, frac = divmod(n * 10 // size, 10)
            return f"{whole}{suffix}" if frac == 0 else f"{whole}.{frac}{suffix}"
    return f"{n}b"


def _render(ctx: Ctx, value: Cell) -> str | None:
    if value is None:
        return None
    if isinstance(value, Bytes):
        unit = ctx.param("bytes")
        if unit is None:
            return human_bytes(value)
        if unit not in _BYTES_PARAM:
            raise ESError(400, "illegal_argument_exception", f"unknown bytes unit [{unit}]")
        return str(value // _BYTES_PARAM[unit])
    return str(value)


def _help(columns: list[Column]) -> str:
    rows = [(c.name, ",".join(c.aliases), c.desc) for c in columns]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "".join(
        f"{r[0].ljust(widths[0])} | {r[1].ljust(widths[1])} | {r[2].ljust(widths[2])}\n"
        for r in rows
    )


def _display(
    ctx: Ctx, columns: list[Column], unserved: tuple[str, ...]
) -> list[tuple[Column, str]]:
    """The (column, header text) pairs to print. ES ignores an unknown `h` name; logstore
    answers an error naming it rather than leaving the column out silently."""
    show_ts = ctx.param("ts") not in ("false", "0", "off", "no")
    by_name = {c.name: c for c in columns}
    by_alias = {a: c for c in columns for a in c.aliases}
    h = ctx.param("h")
    if h is None:
        return [
            (c, c.name)
            for c in columns
            if c.default and (show_ts or c.name not in _TIMESTAMP_COLUMNS)
        ]
    wanted: list[str] = []
    for part in (p.strip() for p in h.split(",")):
        if not part:
            continue
        if "*" in part:
            wanted += [
                c.name
                for c in columns
                if fnmatch.fnmatchcase(c.name, part)
                or any(fnmatch.fnmatchcase(a, part) for a in c.aliases)
            ]
        else:
            wanted.append(part)
    out: list[tuple[Column, str]] = []
    seen: set[str] = set()
    pri = ctx.param("pri") in ("", "true")
    for name in wanted:
        column = by_name.get(name) or by_alias.get(name)
        if column is None:
            if name.startswith(unserved) or name.removeprefix("pri.").startswith(unserved):
                raise unsupported(f"_cat column [{name}]")
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Unable to find column [{name}]; the columns are {[c.name for c in columns]}",
            )
        if name in seen or (not show_ts and column.name in _TIMESTAMP_COLUMNS):
            continue
        seen.add(name)
        out.append((column, name))
        if pri and column.sibling and f"{column.sibling}.{column.name}" in by_name:
            out.append((by_name[f"{column.sibling}.{column.name}"], f"{column.sibling}.{name}"))
    return out


def _sort(rows: list[dict[str, Cell]], columns: list[Column], spec: str) -> list[dict[str, Cell]]:
    lookup = {c.name: c.name for c in columns} | {a: c.name for c in columns for a in c.aliases}
    keys: list[tuple[str, bool]] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        reverse = part.endswith(":desc")
        name = part.removesuffix(":desc").removesuffix(":asc")
        if name not in lookup:
            # ES's own answer (an UnsupportedOperationException: a 500)
            raise ESError(
                500,
                "unsupported_operation_exception",
                f"Unable to sort by unknown sort key `{name}`",
            )
        keys.append((lookup[name], reverse))
    ordered = list(rows)
    for name, reverse in reversed(keys):  # stable sorts, last key first
        ordered.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=reverse)  # type: ignore[misc]
    return ordered


def _sort_key(value: Cell) -> tuple[int, Any]:
    """ES compares cells of one type by value (numbers as numbers) and puts nulls first."""
    if value is None:
        return (0, 0)
    if isinstance(value, int):
        return (1, value)
    return (2, value)


def _wants_json(ctx: Ctx) -> bool:
    fmt = ctx.param("format")
    if fmt is not None:
        if fmt in ("yaml", "cbor", "smile"):
            raise unsupported(f"_cat format [{fmt}]")
        return fmt == "json"
    accept = ctx.request.headers.get("accept", "").split(",")[0].split(";")[0].strip()
    return accept in ("application/json", "application/vnd.elasticsearch+json")


def answer(
    ctx: Ctx,
    columns: list[Column],
    rows: list[dict[str, Cell]],
    *,
    unserved: tuple[str, ...] = (),
) -> Any:
    """The table for the request: help text, plain text or a JSON list of objects.
    `unserved`: name prefixes of ES columns logstore does not have (refused by name)."""
    if ctx.param("help") in ("", "true"):
        return _help(columns)
    display = _display(ctx, columns, unserved)
    if ctx.param("s"):
        rows = _sort(rows, columns, str(ctx.param("s")))
    if _wants_json(ctx):
        return [{text: _render(ctx, r.get(c.name)) for c, text in display} for r in rows]
    table = [[_render(ctx, r.get(c.name)) or "" for c, _ in display] for r in rows]
    widths = [len(text) if ctx.param("v") in ("", "true") else 0 for _, text in display]
    for line in table:
        widths = [max(w, len(v)) for w, v in zip(widths, line, strict=True)]
    lines = [[text for _, text in display]] if ctx.param("v") in ("", "true") else []
    out = []
    for line in lines + table:
        cells = []
        for i, ((column, _), value) in enumerate(zip(display, line, strict=True)):
            last = i == len(display) - 1
            if column.right:
                cells.append(value.rjust(widths[i]))
            else:
                cells.append(value if last else value.ljust(widths[i]))
        out.append(" ".join(cells) + "\n")
    return "".join(out)
