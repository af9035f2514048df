"""The grading report: one `Grade` object, written as JSON and in every format of
`grader.outputs` (Markdown, HTML, Gradescope, GitHub Classroom, JUnit), and shown as a table."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from grader.grade import Grade, TargetInfo, points
from grader.intact import Intactness
from grader.outputs import classroom, gradescope, html, junit, markdown
from grader.outputs.markdown import render_markdown
from grader.scoring import CheckRun

JSON_NAME = "grading.json"
MARKDOWN_NAME = markdown.INSTRUCTOR_NAME
JUNIT_NAME = "junit.xml"  # pytest's own, per test; grader.outputs.junit writes the per-item one

_STATUS_STYLE = {"PASS": "bold green", "FAIL": "bold red", "NOT COVERED": "yellow"}
_OUTCOME_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}

__all__ = ["Grade", "TargetInfo", "render_markdown", "render_text", "write_reports"]


# Each writer is one function from the grade to its file, in the order the run lists them.
WRITERS: tuple[Callable[[Grade, Path], Path], ...] = (
    markdown.write_markdown,
    html.write_html,
    markdown.write_student_markdown,
    html.write_student_html,
    gradescope.write_gradescope,
    classroom.write_classroom,
    junit.write_junit,
)


def write_reports(grade: Grade, report_dir: Path) -> list[Path]:
    """`grading.json` and every other format (`grader.outputs`) into `report_dir`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / JSON_NAME
    json_path.write_text(grade.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return [json_path, *(write(grade, report_dir) for write in WRITERS)]


WIDE = 140  # below this many columns, item text goes under its id to leave room for reasons
_ITEM_WIDTH = 28  # the longest checklist id fits; item text wraps under it


def render_table(grade: Grade, *, width: int = WIDE) -> RenderableType:
    items = _items_table(grade) if width >= WIDE else _items_table_narrow(grade)
    totals = Table(title="Points")
    totals.add_column("Module")
    totals.add_column("Items passed", justify="right")
    totals.add_column("Points", justify="right")
    for module in grade.modules.values():
        totals.add_row(
            module.title,
            f"{module.items_passed} / {module.items_total}",
            f"{points(module.points_earned)} / {module.points_possible}",
        )
    totals.add_section()
    totals.add_row(
        Text("Total", style="bold"),
        "",
        Text(f"{points(grade.points_earned)} / {grade.points_possible}", style="bold"),
    )
    caption = Text(
        f"target {grade.target.name!r} ({grade.target.runtime}), scoring {grade.scoring}"
    )
    parts: list[RenderableType] = [
        render_prerequisites(grade.prerequisites, width=width),
        items,
        totals,
        caption,
    ]
    if grade.intact is not None:
        parts.append(render_intact(grade.intact))
    return Group(*parts)


def render_intact(intact: Intactness) -> RenderableType:
    """One green line when the run left the stack as it found it; else, in red, what differs
    and the commands that put it back."""
    if intact.intact:
        lines = [Text(f"Stack intact: {intact.summary()}", style="green")]
    else:
        lines = [Text(f"Stack NOT intact: {intact.summary()}", style="bold red")]
        lines += [Text(f"  {line}", style="red") for line in intact.differences]
        if intact.remedy:
            lines.append(Text("What puts it back:", style="red"))
            lines += [Text(f"  {line}", style="red") for line in intact.remedy]
    lines += [Text(f"not recorded: {line}", style="yellow") for line in intact.unrecorded]
    return Group(*lines)


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
