"""The gradebook of a batch: one row per target, as `gradebook.csv` and `gradebook.json`.

A row is keyed by its profile's absolute path: grading a profile again replaces its row and
keeps the others, in their order. The CSV is read back on the next run, so it is the record;
the JSON is a typed copy of it (numbers as numbers, blanks as null).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from grader.errors import GraderError

CSV_NAME = "gradebook.csv"
JSON_NAME = "gradebook.json"

Status = Literal["graded", "unreachable", "timed out", "invalid profile", "error"]
STATUSES: tuple[Status, ...] = ("graded", "unreachable", "timed out", "invalid profile", "error")

LEADING = ("target", "profile", "status")
TRAILING = ("total", "possible", "duration_s", "graded_at", "report_dir", "note")


@dataclass(frozen=True)
class Row:
    target: str
    profile: str  # absolute path: what identifies the row
    status: Status
    points: Mapping[str, float | None] = field(default_factory=dict)  # module id -> points
    total: float | None = None
    possible: float | None = None
    duration_s: float | None = None
    graded_at: str = ""  # ISO 8601, UTC
    report_dir: str = ""  # the target's report folder, relative to the gradebook
    note: str = ""


def columns(modules: Sequence[str]) -> list[str]:
    """The gradebook's columns, always in this order; one points column per checklist module."""
    clashes = sorted(set(modules) & {*LEADING, *TRAILING})
    if clashes:
        raise GraderError(
            f"checklist module ids {clashes} clash with gradebook columns; rename the modules"
        )
    return [*LEADING, *modules, *TRAILING]


def merge(old: Iterable[Row], new: Iterable[Row]) -> list[Row]:
    """`old` with each row of a regraded profile replaced in place; new profiles at the end."""
    fresh = {row.profile: row for row in new}
    merged = [fresh.pop(row.profile, row) for row in old]
    return merged + list(fresh.values())


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _cells(row: Row, modules: Sequence[str]) -> dict[str, Any]:
    return {
        "target": row.target,
        "profile": row.profile,
        "status": row.status,
        **{module: row.points.get(module) for module in modules},
        "total": row.total,
        "possible": row.possible,
        "duration_s": row.duration_s,
        "graded_at": row.graded_at,
        "report_dir": row.report_dir,
        "note": row.note,
    }


def write(out: Path, rows: Sequence[Row], modules: Mapping[str, str]) -> list[Path]:
    """Both files, each replaced whole (a reader never sees half a gradebook). `modules`:
    module id -> title, in the checklist's order."""
    names = columns(list(modules))
    csv_path, json_path = out / CSV_NAME, out / JSON_NAME
    with _replacing(csv_path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for row in rows:
            cells = _cells(row, list(modules))
            writer.writerow({k: v if isinstance(v, str) else _number(v) for k, v in cells.items()})
    document = {
        "columns": names,
        "modules": dict(modules),
        "rows": [_cells(row, list(modules)) for row in rows],
    }
    with _replacing(json_path) as tmp:
        tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return [csv_path, json_path]


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` to write, renamed over `path` once written."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def read(out: Path) -> list[Row]:
    """The rows of `out/gradebook.csv` (none when it does not exist yet)."""
    path = out / CSV_NAME
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fixed = [*LEADING, *TRAILING]
        missing = [name for name in fixed if name not in (reader.fieldnames or [])]
        if missing:
            raise GraderError(
                f"{path} is not a gradebook (no column {', '.join(missing)}): move it away or "
                "choose another --out"
            )
        modules = [name for name in reader.fieldnames or [] if name not in fixed]
        return [_row(cells, modules, path, line) for line, cells in enumerate(reader, start=2)]


def _row(cells: Mapping[str, str], modules: Sequence[str], path: Path, line: int) -> Row:
    status = cells["status"]
    if status not in STATUSES:
        raise GraderError(
            f"{path} line {line}: status {status!r} is not one of {', '.join(STATUSES)}; "
            "fix the row or delete it"
        )

    def number(key: str) -> float | None:
        text = (cells.get(key) or "").strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise GraderError(
                f"{path} line {line}: {key} {text!r} is not a number; fix it or leave it empty"
            ) from None

    return Row(
        target=cells["target"],
        profile=cells["profile"],
        status=status,
        points={module: number(module) for module in modules},
        total=number("total"),
        possible=number("possible"),
        duration_s=number("duration_s"),
        graded_at=cells["graded_at"],
        report_dir=cells["report_dir"],
        note=cells["note"],
    )

