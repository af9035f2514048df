"""The grading report: one `Grade` object, written as JSON and Markdown and shown as a table."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from grader.scoring import CheckRun, ItemResult, ModuleResult, ScoringMode

JSON_NAME = "grading.json"
MARKDOWN_NAME = "grading.md"
JUNIT_NAME = "junit.xml"

_STATUS_STYLE = {"PASS": "bold green", "FAIL": "bold red", "NOT COVERED": "yellow"}
_OUTCOME_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}


class TargetInfo(BaseModel):
    name: str
    runtime: str
    control: str
    profile: str | None


class Grade(BaseModel):
    target: TargetInfo
    scoring: ScoringMode
    started: datetime
    finished: datetime
    points_possible: int
    points_earned: float
    modules: dict[str, ModuleResult]
    items: list[ItemResult]
    prerequisites: list[CheckRun]


def write_reports(grade: Grade, report_dir: Path) -> list[Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / JSON_NAME
    json_path.write_text(grade.model_dump_json(indent=2) + "\n", encoding="utf-8")
    md_path = report_dir / MARKDOWN_NAME
    md_path.write_text(render_markdown(grade), encoding="utf-8")
    return [json_path, md_path]


def _points(value: float) -> str:
    return f"{value:g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(grade: Grade) -> str:
    target = grade.target
    lines = [
        "# Grading report",
        "",
        f"- Target: **{target.name}** (runtime `{target.runtime}`, control `{target.control}`"
        + (f", profile `{target.profile}`)" if target.profile else ")"),
        f"- Scoring: `{grade.scoring}`",
        f"- Started: {grade.started.isoformat()}, finished: {grade.finished.isoformat()}",
        "",
        f"**Total: {_points(grade.points_earned)} / {grade.points_possible}**",
        "",
        "| Module | Items passed | Points |",
        "|---|---|---|",
    ]
    for module in grade.modules.values():
        lines.append(
            f"| {_cell(module.title)} | {module.items_passed} / {module.items_total} "
            f"| {_points(module.points_earned)} / {module.points_possible} |"
        )
    for name, module in grade.modules.items():
        lines += [
            "",
            f"## {module.title} ({_points(module.points_earned)} / {module.points_possible})",
            "",
            "| Item | Text | Status | Reason |",
            "|---|---|---|---|",
        ]
        for item in grade.items:
            if item.module == name:
                lines.append(
                    f"| `{item.id}` | {_cell(item.text)} | {item.status} | {_cell(item.reason)} |"
                )
    lines += ["", "## Prerequisites", ""]
    if grade.prerequisites:
        lines += ["| Test | Outcome | Reason |", "|---|---|---|"]
        lines += [
            f"| `{run.nodeid}` | {run.outcome} | {_cell(run.message)} |"
            for run in grade.prerequisites
        ]
    else:
        lines.append("None ran.")
    return "\n".join(lines) + "\n"


WIDE = 140  # below this many columns, item text goes under its id to leave room for reasons
_ITEM_WIDTH = 28  # the longest checklist id fits; item text wraps under it


def render_table(grade: Grade, *, width: int = WIDE) -> RenderableType:
    items = _items_table(grade) if width >= WIDE else _items_table_narrow(grade)
    points = Table(title="Points")
    points.add_column("Module")
    points.add_column("Items passed", justify="right")
    points.add_column("Points", justify="right")
    for module in grade.modules.values():
        points.add_row(
            module.title,
            f"{module.items_passed} / {module.items_total}",
            f"{_points(module.points_earned)} / {module.points_possible}",
        )
    points.add_section()
    points.add_row(
        Text("Total", style="bold"),
        "",
        Text(f"{_points(grade.points_earned)} / {grade.points_possible}", style="bold"),
    )
    caption = Text(
        f"target {grade.target.name!r} ({grade.target.runtime}), scoring {grade.scoring}"
    )
    parts: list[RenderableType] = [
        render_prerequisites(grade.prerequisites, width=width),
        items,
        points,
        caption,
    ]
    return Group(*parts)


def _items_table(grade: Grade) -> Table:
    table = Table(title="Testing Checklist", expand=True)
    table.add_column("Module", no_wrap=True)
    table.add_column("Item", no_wrap=True)
    table.add_column("Text", ratio=1)
    table.add_column("Status", no_wrap=True)
    table.add_column("Reason", ratio=2, overflow="fold")
    for index, (name, module) in enumerate(grade.modules.items()):
        if index:
            table.add_section()
        module_items = [item for item in grade.items if item.module == name]
        for position, item in enumerate(module_items):
            table.add_row(
                Text("" if position else module.title),
                Text(item.id),
                Text(item.text),
                Text(item.status, style=_STATUS_STYLE[item.status]),
                Text(item.reason),
            )
    return table


def _items_table_narrow(grade: Grade) -> Table:
    table = Table(title="Testing Checklist", expand=True)
    table.add_column("Item", max_width=_ITEM_WIDTH)
    table.add_column("Status", no_wrap=True)
    table.add_column("Reason", ratio=1, overflow="fold")
    for index, (name, module) in enumerate(grade.modules.items()):
        if index:
            table.add_section()
        table.add_row(Text(f"{module.title} ({name})", style="bold"), Text(""), Text(""))
        for item in grade.items:
            if item.module == name:
                table.add_row(
                    Text.assemble((item.id, ""), "\n", (item.text, "dim")),
                    Text(item.status, style=_STATUS_STYLE[item.status]),
                    Text(item.reason),
                )
    return table


def render_prerequisites(runs: list[CheckRun], *, width: int = WIDE) -> RenderableType:
    """Unmarked checks (e.g. every component answers its probe); wide: reason in a column."""
    wide = width >= WIDE
    table = Table(title="Prerequisites", expand=True)
    table.add_column("Test", ratio=1, overflow="fold")
    table.add_column("Outcome", no_wrap=True)
    if wide:
        table.add_column("Reason", ratio=1, overflow="fold")
    for run in runs:
        outcome = Text(run.outcome, style=_OUTCOME_STYLE[run.outcome])
        if wide:
            table.add_row(Text(run.nodeid), outcome, Text(run.message))
        elif run.message:
            table.add_row(Text.assemble(run.nodeid, "\n", (run.message, "dim")), outcome)
        else:
            table.add_row(Text(run.nodeid), outcome)
    if not runs:
        table.add_row(Text("none ran"), *([Text("")] * (2 if wide else 1)))
    return table


def render_text(grade: Grade, *, width: int, color: bool) -> str:
    """The table as terminal text, so pytest's own writer can print it in its summary."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color)
    console.print(render_table(grade, width=width))
    return buffer.getvalue()
