"""The grade as one self-contained HTML page (inline CSS, no script, no external asset), in two
views from one template (`templates/report.html.j2`):

- `grading.html`, the instructor's: modules with points, every item with its status, reason,
  advice, evidence and checks, its visibility, and the prerequisites;
- `student.html`, the student's: the items they may see now, each with its status and advice;
  no reason, evidence or check. Items not visible yet are only counted, and points are shown
  only where they give nothing away (like Gradescope, which hides the total while any test is
  hidden).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import jinja2
from markupsafe import Markup, escape
from pydantic import JsonValue

from grader.evidence import compact
from grader.grade import Grade, points
from grader.outputs import audience
from grader.scoring import ItemResult

INSTRUCTOR_NAME = "grading.html"
STUDENT_NAME = "student.html"

View = Literal["instructor", "student"]

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _code_spans(text: str) -> Markup:
    """`send_resolved` in the checklist's advice shown as code; everything else escaped."""
    escaped = str(escape(text))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


_TEMPLATES.filters["code_spans"] = _code_spans


def _pretty(value: JsonValue) -> str:
    """A value in full, for the expanded view: text as it is, anything else as indented JSON."""
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def evidence_rows(item: ItemResult, *, limit: int = 120) -> list[tuple[str, str, str | None]]:
    """(label, one line, the whole value when the line had to be cut) for each piece."""
    rows = []
    for run in item.tests:
        for entry in run.evidence:
            whole = compact(entry.value, limit=1_000_000)
            short = compact(entry.value, limit=limit)
            rows.append((entry.label, short, None if short == whole else _pretty(entry.value)))
    return rows


def render_html(grade: Grade, *, view: View = "instructor") -> str:
    template = _TEMPLATES.get_template("report.html.j2")
    return template.render(
        grade=grade,
        student=view == "student",
        points=points,
        evidence_rows=evidence_rows,
        student_text=audience.student_text,
        visible_now=audience.visible_now,
        all_visible=lambda module=None: audience.all_visible(grade, module),
        when_shown=audience.WHEN_SHOWN,
        status_words=audience.STATUS_WORDS,
    )


def write_html(grade: Grade, report_dir: Path) -> Path:
    path = report_dir / INSTRUCTOR_NAME
    path.write_text(render_html(grade, view="instructor"), encoding="utf-8")
    return path


def write_student_html(grade: Grade, report_dir: Path) -> Path:
    path = report_dir / STUDENT_NAME
    path.write_text(render_html(grade, view="student"), encoding="utf-8")
    return path
