"""The before/after comparison of a grading run (grader.intact) and how the reports say it."""

from __future__ import annotations

from datetime import UTC, datetime

from grader.grade import Grade
from grader.intact import HEAL, HEALTHY, Intactness, Snapshot, compare
from grader.outputs.html import render_html
from grader.outputs.markdown import render_markdown
from grader.report import render_text
from tests.grader.sample_grade import sample_grade

RESTORE = "PGPASSWORD=$(cat pw) pg_restore --clean --if-exists --create -d postgres auth.dump"


def snapshot(**changes: object) -> Snapshot:
    base = Snapshot(
        taken_at=datetime(2026, 1, 1, tzinfo=UTC),
        rows={"auth": {"public.users": 5, "public.alembic_version": 1}, "games": {"public.g": 2}},
        markers={"auth: w logs in": True, "games: game 1 is finished": True},
        health={"auth": HEALTHY, "games": HEALTHY, "backup": "HTTP 503"},
        processes={"auth": "RUNNING", "games": "RUNNING", "backup": "STOPPED"},
        faults=[],
    )
    return base.model_copy(update=changes)


def test_the_same_stack_with_more_rows_is_intact() -> None:
    after = snapshot(rows={"auth": {"public.users": 9, "public.alembic_version": 1},
                           "games": {"public.g": 3}})  # fmt: skip
    verdict = compare(snapshot(), after)
    assert verdict.intact and verdict.differences == [] and verdict.remedy == []
    assert "left as the grader found it" in verdict.summary()


def test_lost_rows_a_lost_table_and_a_lost_database_are_each_named() -> None:
    after = snapshot(rows={"auth": {"public.users": 0}})
    verdict = compare(snapshot(), after, restore_commands={"auth": RESTORE})
    assert not verdict.intact
    assert verdict.differences == [
        "auth public.alembic_version: 1 rows before, table gone after",
        "auth public.users: 5 rows before, 0 after",
        "database games: 1 tables before, gone after",
    ]
    # The safety copy of auth is offered; games had none, and the remedy says so.
    assert verdict.remedy[0] == RESTORE
    assert verdict.remedy[1].startswith("games: no safety copy of it was taken")
    assert len(verdict.remedy) == 2


def test_a_lost_marker_is_named() -> None:
    after = snapshot(markers={"auth: w logs in": False, "games: game 1 is finished": True})
    verdict = compare(snapshot(), after)
    assert verdict.differences == ["marker lost: auth: w logs in"]


def test_a_component_left_down_or_a_fault_left_open_asks_for_heal_and_start() -> None:
    after = snapshot(
        health={"auth": "connection refused", "games": HEALTHY, "backup": "HTTP 503"},
        processes={"auth": "STOPPED", "games": "RUNNING", "backup": "STOPPED"},
        faults=["database-lost auth (abc123)"],
    )
    verdict = compare(snapshot(), after)
    assert verdict.differences == [
        "auth: healthy before, after: connection refused",
        "auth: RUNNING before, STOPPED after",
        "fault left open: database-lost auth (abc123)",
    ]
    assert verdict.remedy == [HEAL, "python -m stack start auth"]


def test_what_was_already_broken_before_the_run_is_no_difference() -> None:
    """backup was unhealthy and stopped before: the run did not break it."""
    verdict = compare(snapshot(), snapshot())
    assert verdict.intact


def test_what_could_not_be_recorded_is_listed_by_record() -> None:
    verdict = compare(snapshot(unrecorded=["markers (no gateway)"]), snapshot())
    assert verdict.intact and verdict.unrecorded == ["before: markers (no gateway)"]


def graded(verdict: Intactness) -> Grade:
    return sample_grade().model_copy(update={"intact": verdict})


def broken() -> Intactness:
    return compare(snapshot(), snapshot(rows={"auth": {}}), restore_commands={"auth": RESTORE})


def test_the_reports_say_not_intact_with_the_difference_and_the_command() -> None:
    grade = graded(broken())
    text = render_text(grade, width=160, color=False)
    assert "Stack NOT intact" in text and "public.users: 5 rows before" in text
    assert "pg_restore --clean" in text
    colored = render_text(grade, width=160, color=True)
    assert "\x1b[1;31mStack NOT intact" in colored  # bold red
    markdown = render_markdown(grade)
    assert "## The stack after grading" in markdown and "**NOT intact**" in markdown
    assert "auth public.users: 5 rows before, table gone after" in markdown
    html = render_html(grade)
    assert 'class="reason fail"><b>Not intact</b>' in html and "pg_restore --clean" in html
    assert Grade.model_validate_json(grade.model_dump_json()).intact == grade.intact


def test_the_reports_say_intact_in_one_line() -> None:
    grade = graded(compare(snapshot(), snapshot()))
    assert "Stack intact: the stack was left as the grader found it" in render_text(
        grade, width=100, color=False
    )
    assert "Intact: the stack was left" in render_markdown(grade)
    assert "Not intact" not in render_html(grade)
    # Students see no stack internals.
    assert "The stack after grading" not in render_html(grade, view="student")
