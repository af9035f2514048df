"""Write every output again from a saved `grading.json`, and photograph an HTML report.

    python -m grader.outputs reports/grading.json [--out DIR] [--screenshot PNG [--student]]

For a gradebook that keeps each run's `grading.json`, and for the guide's picture of the
report (`docs/img/grading-report.png`), drawn by the same headless chromium as the dashboard
checks (`grader.browser`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from grader.errors import GraderError
from grader.grade import Grade
from grader.report import write_reports

WIDTH, MIN_HEIGHT = 1280, 800


def photograph(page: Path, out: Path) -> None:
    """The whole page, `WIDTH` pixels wide, as tall as it is long."""
    from grader import browser  # imported late: selenium only when a picture is asked for

    with browser.chromium() as driver:
        driver.set_window_size(WIDTH, MIN_HEIGHT)
        driver.get(page.resolve().as_uri())
        # The window's frame takes some of its height: grow it until the page fits, so that
        # no scrollbar shows in the picture.
        for _ in range(3):
            page_height, inner, outer = driver.execute_script(
                "return [document.documentElement.scrollHeight, innerHeight, outerHeight]"
            )
            if inner >= page_height:
                break
            driver.set_window_size(WIDTH, max(MIN_HEIGHT, page_height + outer - inner))
        browser.screenshot(driver, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.outputs", description=__doc__)
    parser.add_argument("grading_json", type=Path, help="a grading.json a run wrote")
    parser.add_argument("--out", type=Path, help="where to write (default: beside the file)")
    parser.add_argument("--screenshot", type=Path, help="also photograph the HTML report here")
    parser.add_argument(
        "--student", action="store_true", help="photograph student.html, not grading.html"
    )
    args = parser.parse_args(argv)
    out = args.out or args.grading_json.parent
    try:
        grade = Grade.model_validate_json(args.grading_json.read_text(encoding="utf-8"))
        written = write_reports(grade, out)
        if args.screenshot:
            photograph(out / ("student.html" if args.student else "grading.html"), args.screenshot)
            written.append(args.screenshot)
    except (OSError, ValidationError, GraderError) as exc:
        print(f"error: {args.grading_json}: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    for path in written:
        print(path)  # noqa: T201 (a command-line tool's output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
