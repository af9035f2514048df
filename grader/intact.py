"""Did the grading run leave the stack as it found it? What the grader records before and after
a whole run (`grader.intact_record` takes the records), compared here, without any I/O.

A check may add data (it registers its own users and plays its own games), so a table may hold
more rows afterwards; it must never hold fewer, lose a table, lose a database or a marker the
grader wrote through the public API before the run. A component healthy (or running) before
the run must be so after it, and no fault may be left open in the ledger."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

HEAL = "python -m stack heal"
HEALTHY = "ok"


class Snapshot(BaseModel):
    """One record of the stack; a part that could not be read is named in `unrecorded`."""

    taken_at: datetime
    rows: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="database -> schema.table -> rows"
    )
    markers: dict[str, bool] = Field(
        default_factory=dict, description="what was written through the API -> found"
    )
    health: dict[str, str] = Field(
        default_factory=dict, description=f"component -> {HEALTHY!r} or why it is not healthy"
    )
    processes: dict[str, str] = Field(default_factory=dict, description="component -> state")
    faults: list[str] = Field(default_factory=list, description="open faults in the ledger")
    unrecorded: list[str] = Field(default_factory=list)


class Intactness(BaseModel):
    """The verdict: `intact` when nothing differs; each difference named, and what puts the
    stack back."""

    intact: bool
    differences: list[str]
    remedy: list[str]
    unrecorded: list[str]
    before: Snapshot
    after: Snapshot

    def summary(self) -> str:
        before = self.before
        counted = (
            f"{sum(len(t) for t in before.rows.values())} tables in {len(before.rows)} "
            f"databases, {len(before.markers)} markers, {len(before.health)} components"
        )
        if self.intact:
            return f"the stack was left as the grader found it ({counted} compared)"
        return f"{len(self.differences)} differences from the record taken before the run"


def row_differences(before: Snapshot, after: Snapshot) -> list[str]:
    found = []
    for database, tables in sorted(before.rows.items()):
        if database not in after.rows:
            found.append(f"database {database}: {len(tables)} tables before, gone after")
            continue
        now = after.rows[database]
        for table, rows in sorted(tables.items()):
            if table not in now:
                found.append(f"{database} {table}: {rows} rows before, table gone after")
            elif now[table] < rows:
                found.append(f"{database} {table}: {rows} rows before, {now[table]} after")
    return found


def lost_databases(before: Snapshot, after: Snapshot) -> set[str]:
    """The databases that lost a table or rows (or are gone)."""
    return {
        database
        for database, tables in before.rows.items()
        if database not in after.rows
        or any(after.rows[database].get(table, -1) < rows for table, rows in tables.items())
    }


def marker_differences(before: Snapshot, after: Snapshot) -> list[str]:
    return [
        f"marker lost: {marker}"
        for marker, found in sorted(before.markers.items())
        if found and not after.markers.get(marker, False)
    ]


def health_differences(before: Snapshot, after: Snapshot) -> list[str]:
    return [
        f"{name}: healthy before, after: {after.health.get(name, 'not seen')}"
        for name, state in sorted(before.health.items())
        if state == HEALTHY and after.health.get(name) != HEALTHY
    ]


def process_differences(before: Snapshot, after: Snapshot) -> list[str]:
    return [
        f"{name}: {state} before, {after.processes.get(name, 'not seen')} after"
        for name, state in sorted(before.processes.items())
        if state == "RUNNING" and after.processes.get(name) != "RUNNING"
    ]


def fault_differences(before: Snapshot, after: Snapshot) -> list[str]:
    return [f"fault left open: {fault}" for fault in after.faults if fault not in before.faults]


def down_components(before: Snapshot, after: Snapshot) -> list[str]:
    unhealthy = {n for n, s in before.health.items() if s == HEALTHY and after.health.get(n) != s}
    stopped = {
        n for n, s in before.processes.items() if s == "RUNNING" and after.processes.get(n) != s
    }
    return sorted(unhealthy | stopped)


def compare(
    before: Snapshot, after: Snapshot, *, restore_commands: dict[str, str] | None = None
) -> Intactness:
    """`restore_commands`: database -> the command that restores the grader's safety copy of
    it (the copies taken during the run), offered for a database that lost rows."""
    data = row_differences(before, after) + marker_differences(before, after)
    state = (
        health_differences(before, after)
        + process_differences(before, after)
        + fault_differences(before, after)
    )
    remedy = []
    if data:  # the data first: a service started on an empty database runs its migrations
        commands = restore_commands or {}
        remedy += [
            commands.get(database)
            or f"{database}: no safety copy of it was taken; restore it from a backup known to "
            "hold its data (`python -m stack restore SERVICE --backup ID`)"
            for database in sorted(lost_databases(before, after))
        ]
    if state:
        remedy.append(HEAL)
        remedy += [f"python -m stack start {name}" for name in down_components(before, after)]
    unrecorded = [f"before: {u}" for u in before.unrecorded] + [
        f"after: {u}" for u in after.unrecorded
    ]
    return Intactness(
        intact=not (data or state),
        differences=data + state,
        remedy=remedy,
        unrecorded=unrecorded,
        before=before,
        after=after,
    )
