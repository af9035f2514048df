"""Who reads what. A student gets each item's status and its advice (what to fix); the failure
message, the evidence and the checks are instructor detail. An item's `visibility` says when a
student may see it at all (`grader.visibility`)."""

from __future__ import annotations

from grader.evidence import compact
from grader.grade import Grade
from grader.scoring import ItemResult, Status

STATUS_WORDS: dict[Status, str] = {"PASS": "passed", "FAIL": "failed", "NOT COVERED": "not covered"}

WHEN_SHOWN = {
    "hidden": "never shown to students",
    "after_due_date": "shown to students after the due date",
    "after_published": "shown to students once grades are published",
    "visible": "shown to students",
}


def visible_now(item: ItemResult) -> bool:
    """Whether a student may see the item's result as soon as it is graded."""
    return item.visibility == "visible"


def forfeited(item: ItemResult) -> bool:
    """A passing item that earns nothing: its module scores all-or-nothing and fell short."""
    return item.status == "PASS" and item.points_possible > 0 and item.points_earned == 0


def student_text(item: ItemResult, *, module_visible: bool = True) -> str:
    """What a student reads about one item: its status in words, then the advice.

    A passing item of a module that earned nothing says why it earns nothing, unless another
    item of its module is not visible yet (that would tell that one failed).
    """
    if item.status == "PASS":
        if forfeited(item) and module_visible:
            return (
                "Passed. Its module earns its points only when every one of its items passes."
            )
        return "Passed."
    if item.status == "FAIL":
        lead = "Not passed."
    else:
        lead = "Not checked, so it earns no points: the grader could not see it work."
    return f"{lead} {item.advice}".strip()


def instructor_lines(item: ItemResult) -> list[str]:
    """The reason, then each check with its outcome, message and evidence, one line each."""
    lines = [f"Reason: {item.reason}"] if item.reason else []
    for run in item.tests:
        said = f": {run.message}" if run.message else ""
        lines.append(f"{run.nodeid} {run.outcome} in {run.duration:g} s{said}")
        lines += [f"  {entry.label}: {compact(entry.value)}" for entry in run.evidence]
    return lines


def all_visible(grade: Grade, module: str | None = None) -> bool:
    """Whether every item (of `module`) is visible now, so its points give nothing away."""
    items = grade.items_of(module) if module else grade.items
    return all(visible_now(item) for item in items)
