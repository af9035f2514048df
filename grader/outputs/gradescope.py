"""Gradescope's autograder results, `results.json`, as its specification describes it
(https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format).

One test per checklist item: `max_score` is the item's share of its module's points and
`score` that share when the item passes. The top-level `score` is the grade's total, which
Gradescope takes over the sum of the tests: under all-or-nothing scoring a module earns
nothing unless all its items pass, and a passing test must not tell a student that a hidden
one failed. Each test carries its item's `visibility`, which Gradescope enforces. A test's
`output` is what a student reads (status and advice), plus the instructor detail only on
hidden tests, which students never see. The rest of the instructor detail goes to stdout:
Gradescope shows `run_autograder`'s output to instructors only (`stdout_visibility:
hidden`), and pytest prints every failure there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.grade import Grade, points
from grader.outputs.audience import all_visible, instructor_lines, student_text

FILE_NAME = "results.json"


def _item_tests(grade: Grade) -> list[dict[str, Any]]:
    tests = []
    for module_index, (name, module) in enumerate(grade.modules.items(), start=1):
        module_visible = all_visible(grade, name)
        for item_index, item in enumerate(grade.items_of(name), start=1):
            output = student_text(item, module_visible=module_visible)
            if item.visibility == "hidden":
                detail = "\n".join(instructor_lines(item))
                output += "\n\nInstructor detail (hidden test: students never see it):\n" + detail
            tests.append(
                {
                    "name": f"{module.title}: {item.text}",
                    "number": f"{module_index}.{item_index}",
                    "score": item.points_possible if item.status == "PASS" else 0.0,
                    "max_score": item.points_possible,
                    "status": "passed" if item.status == "PASS" else "failed",
                    "output": output,
                    "output_format": "text",
                    "tags": [name, item.id],
                    "visibility": item.visibility,
                    "extra_data": {"item": item.id, "module": name, "status": item.status},
                }
            )
    return tests


def _prerequisite_tests(grade: Grade) -> list[dict[str, Any]]:
    """Informational tests (no score): whether the stack's components answered at all."""
    return [
        {
            "name": f"Prerequisite: {run.nodeid.rpartition('::')[2]}",
            "number": f"0.{index}",
            "status": "passed" if run.outcome == "passed" else "failed",
            "tags": ["prerequisite"],
            "visibility": grade.visibility,
            "extra_data": {"nodeid": run.nodeid, "outcome": run.outcome},
        }
        for index, run in enumerate(grade.prerequisites, start=1)
    ]


def _summary(grade: Grade) -> str:
    rule = (
        "a module earns its points only when every one of its items passes"
        if grade.scoring == "all-or-nothing"
        else "a module earns its points in proportion to the items that pass"
    )
    return (
        f"{len(grade.items)} checklist items over {len(grade.modules)} modules "
        f"({points(grade.points_possible)} points); scoring {grade.scoring}: {rule}. "
        "Items that were not checked earn no points."
    )


def gradescope_results(grade: Grade) -> dict[str, Any]:
    return {
        "score": grade.points_earned,
        "execution_time": round(grade.seconds),
        "output": _summary(grade),
        "output_format": "text",
        "visibility": grade.visibility,
        "stdout_visibility": "hidden",
        "extra_data": {
            "target": grade.target.name,
            "scoring": grade.scoring,
            "points_possible": grade.points_possible,
        },
        "tests": _prerequisite_tests(grade) + _item_tests(grade),
    }


def write_gradescope(grade: Grade, report_dir: Path) -> Path:
    path = report_dir / FILE_NAME
    path.write_text(json.dumps(gradescope_results(grade), indent=2) + "\n", encoding="utf-8")
    return path
