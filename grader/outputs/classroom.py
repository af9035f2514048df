"""GitHub Classroom's autograding result, `classroom.json`: the JSON a grader action of
classroom-resources (autograding-command-grader, autograding-io-grader) hands to
classroom-resources/autograding-grading-reporter, base64-encoded, in `<RUNNER>_RESULTS`.

Its shape, as those actions write and read it: `version` 1, `status` (`pass`, `fail` or
`error`), `max_score`, and `tests`, each with `name`, `status`, `score`, `message`,
`test_code`, `filename`, `line_no` and `duration` (milliseconds). The reporter records the
sum of the tests' `score` out of `max_score`, so the items' points add up to the grade.

Students read the workflow's log, so everything here is student-facing: status and advice.
GitHub Classroom has no visibility setting, so the items a student may not see yet (hidden,
after the due date, after publishing) are folded into one test that gives only their points.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.grade import Grade
from grader.outputs.audience import student_text, visible_now

FILE_NAME = "classroom.json"
FOLDED_NAME = "Checks whose results are not shown to students"


def _test(
    name: str, *, passed: bool, score: float, message: str, code: str, ms: int
) -> dict[str, Any]:
    return {
        "name": name,
        "status": "pass" if passed else "fail",
        "score": score,
        "message": message,
        "test_code": code,
        "filename": "",
        "line_no": 0,
        "duration": ms,
    }


def classroom_result(grade: Grade) -> dict[str, Any]:
    tests = []
    folded = []
    for name, module in grade.modules.items():
        for item in grade.items_of(name):
            if not visible_now(item):
                folded.append(item)
                continue
            milliseconds = round(sum(run.duration for run in item.tests) * 1000)
            tests.append(
                _test(
                    f"{module.title}: {item.text} ({item.id})",
                    passed=item.status == "PASS",
                    score=item.points_earned,
                    message=student_text(item),
                    code=f"pytest checks -k {item.id}",
                    ms=milliseconds,
                )
            )
    if folded:
        tests.append(
            _test(
                f"{FOLDED_NAME} ({len(folded)})",
                passed=all(item.status == "PASS" for item in folded),
                score=round(sum(item.points_earned for item in folded), 4),
                message="Your teacher shares these results later.",
                code="",
                ms=round(sum(run.duration for item in folded for run in item.tests) * 1000),
            )
        )
    return {
        "version": 1,
        "status": "pass" if all(item.status == "PASS" for item in grade.items) else "fail",
        "max_score": grade.points_possible,
        "tests": tests,
    }


def write_classroom(grade: Grade, report_dir: Path) -> Path:
    path = report_dir / FILE_NAME
    path.write_text(json.dumps(classroom_result(grade), indent=2) + "\n", encoding="utf-8")
    return path
