"""The grade as Markdown: `grading.md` for the instructor (paste it into a pull request or a
grade sheet) and `student.md` for the student (status and advice of the items visible now)."""

from __future__ import annotations

import re
from pathlib import Path

from grader.evidence import compact
from grader.grade import Grade, points
from grader.intact import Intactness
from grader.outputs.audience import WHEN_SHOWN, all_visible, student_text, visible_now
from grader.scoring import ItemResult

INSTRUCTOR_NAME = "grading.md"
STUDENT_NAME = "student.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code that survives backticks in the text (CommonMark: a longer fence)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _details(item: ItemResult) -> list[str]:
    """Advice, visibility and evidence of one item, as a nested list (empty when none)."""
    lines = []
    if item.advice and item.status != "PASS":
        lines.append(f"  - Advice: {item.advice}")
    if item.visibility != "visible":
        lines.append(f"  - Visibility: `{item.visibility}` ({WHEN_SHOWN[item.visibility]})")
    for run in item.tests:
        lines += [
            f"  - Evidence, {entry.label}: {_code(compact(entry.value))}" for entry in run.evidence
        ]
    return [f"- `{item.id}`", *lines] if lines else []


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
        f"**Total: {points(grade.points_earned)} / {grade.points_possible}**",
        "",
        "| Module | Items passed | Points |",
        "|---|---|---|",
    ]
    for module in grade.modules.values():
        lines.append(
            f"| {_cell(module.title)} | {module.items_passed} / {module.items_total} "
            f"| {points(module.points_earned)} / {module.points_possible} |"
        )
    for name, module in grade.modules.items():
        lines += [
            "",
            f"## {module.title} ({points(module.points_earned)} / {module.points_possible})",
            "",
            "| Item | Text | Status | Reason |",
            "|---|---|---|---|",
        ]
        details: list[str] = []
        for item in grade.items_of(name):
            lines.append(
                f"| `{item.id}` | {_cell(item.text)} | {item.status} | {_cell(item.reason)} |"
            )
            details += _details(item)
        if details:
            lines += ["", *details]
    lines += ["", "## Prerequisites", ""]
    if grade.prerequisites:
        lines += ["| Test | Outcome | Reason |", "|---|---|---|"]
        lines += [
            f"| `{run.nodeid}` | {run.outcome} | {_cell(run.message)} |"
            for run in grade.prerequisites
        ]
    else:
        lines.append("None ran.")
    if grade.intact is not None:
        lines += ["", *intact_lines(grade.intact)]
    return "\n".join(lines) + "\n"


def intact_lines(intact: Intactness) -> list[str]:
    """Whether the run left the stack as it found it; if not, what differs and what puts it
    back."""
    verdict = "Intact" if intact.intact else "**NOT intact**"
    lines = ["## The stack after grading", "", f"{verdict}: {intact.summary()}."]
    if intact.differences:
        lines += ["", *(f"- {line}" for line in intact.differences)]
    if intact.remedy:
        lines += ["", "What puts it back:", "", *(f"- {_code(line)}" for line in intact.remedy)]
    if intact.unrecorded:
        lines += ["", "Not recorded:", "", *(f"- {line}" for line in intact.unrecorded)]
    return lines


_STUDENT_STATUS = {"PASS": "pass", "FAIL": "**fail**", "NOT COVERED": "**not covered**"}


def render_student_markdown(grade: Grade) -> str:
    """Status and advice of the items a student may see now; no reason, evidence or check."""
    lines = [f"# Your results: {grade.target.name}", ""]
    if all_visible(grade):
        lines.append(f"**Total: {points(grade.points_earned)} / {grade.points_possible}**")
    else:
        lines.append("Your total appears once every result is shown.")
    for name, module in grade.modules.items():
        shown = all_visible(grade, name)
        heading = f"## {module.title}"
        if shown:
            heading += f" ({points(module.points_earned)} / {module.points_possible})"
        lines += ["", heading, "", "| Item | Status | What to do |", "|---|---|---|"]
        later = 0
        for item in grade.items_of(name):
            if not visible_now(item):
                later += 1
                continue
            say = "" if item.status == "PASS" else student_text(item)
            lines.append(f"| {_cell(item.text)} | {_STUDENT_STATUS[item.status]} | {_cell(say)} |")
        if shown and module.points_earned == 0 and module.items_passed:
            lines += [
                "",
                f"{module.items_passed} of {module.items_total} items pass, and this module "
                f"earns its {module.points_possible} points only when all of them do.",
            ]
        if later:
            lines += ["", f"Not shown yet: {later} more item{'s' if later > 1 else ''}."]
    lines += [
        "",
        f"Scoring: {grade.scoring}"
        + (
            " (a module earns its points only when every one of its items passes)."
            if grade.scoring == "all-or-nothing"
            else "."
        ),
    ]
    return "\n".join(lines) + "\n"


def write_markdown(grade: Grade, report_dir: Path) -> Path:
    path = report_dir / INSTRUCTOR_NAME
    path.write_text(render_markdown(grade), encoding="utf-8")
    return path


def write_student_markdown(grade: Grade, report_dir: Path) -> Path:
    path = report_dir / STUDENT_NAME
    path.write_text(render_student_markdown(grade), encoding="utf-8")
    return path
