"""The grader as a pytest plugin: checklist markers, outcome recording, the grading report.

Registered by `checks/conftest.py` (`pytest_plugins = ["grader.plugin"]`). It never changes
pytest's exit code: a failing check already fails the run, a not-covered item does not.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from grader import intact, intact_record, safety
from grader.checklist import Checklist, load_checklist
from grader.errors import GraderError
from grader.evidence import PROPERTY, evidence, from_user_properties
from grader.polling import drain_retried
from grader.report import JUNIT_NAME, render_text, write_reports
from grader.scoring import Outcome
from grader.session import (
    MARKER,
    SCORING_MODES,
    STATE,
    GradingState,
    build_grade,
    checklist_ids,
    failure_message,
    state_of,
)
from grader.target import find_target_file, load_target
from grader.visibility import LEVELS, check_ids, parse_overrides
from grader.wait_notices import install as install_wait_notices
from grader.wait_notices import uninstall as uninstall_wait_notices

# The evidence label under which a check's waits that needed more than one attempt are listed.
RETRIED_LABEL = "needed more than one attempt"

# The record taken before the first check (and the markers it wrote), for the one after the last.
INTACT_BEFORE = pytest.StashKey[tuple[intact.Snapshot, intact_record.Markers | None]]()

__all__ = ["evidence"]  # the `evidence` fixture, registered with this plugin


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "grading against the Testing Checklist")
    group.addoption(
        "--target",
        default=None,
        help="target profile YAML (default: $STACK_TARGET, else target.yaml in "
        "$STACK_DATA_DIR or .stack/)",
    )
    group.addoption(
        "--scoring",
        choices=SCORING_MODES,
        default=None,
        help="module scoring mode (default: the target profile's `scoring`)",
    )
    group.addoption(
        "--report-dir", default=None, help="where grading reports go (default: <rootdir>/reports)"
    )
    group.addoption(
        "--visibility",
        action="append",
        default=[],
        metavar="LEVEL|ITEM=LEVEL",
        help=f"who may see results ({', '.join(LEVELS)}): LEVEL for every item, ITEM=LEVEL "
        "for one checklist item; repeatable; overrides the target profile's grading.visibility",
    )
    group.addoption(
        "--checklist",
        default=None,
        help="checklist YAML (default: <rootdir>/checks/checklist.yaml)",
    )


@pytest.hookimpl(tryfirst=True)  # before junitxml reads --junitxml
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(id): the Testing Checklist item this check proves"
    )
    here = config.invocation_params.dir
    option_dir = config.getoption("--report-dir")
    report_dir = (here / option_dir) if option_dir else config.rootpath / "reports"
    option_checklist = config.getoption("--checklist")
    checklist_path = (
        here / option_checklist if option_checklist else config.rootpath / "checks/checklist.yaml"
    )
    if getattr(config.option, "xmlpath", "unset") is None and not config.option.collectonly:
        config.option.xmlpath = os.fspath(report_dir.resolve() / JUNIT_NAME)
    config.stash[STATE] = GradingState(
        checklist_path=checklist_path.resolve(),
        report_dir=report_dir.resolve(),
        scoring_option=config.getoption("--scoring"),
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    state = state_of(session.config)
    config = session.config
    install_wait_notices(config)  # the terminal reporter exists by now; tell it of long waits
    try:
        state.checklist = load_checklist(state.checklist_path)
        path = find_target_file(
            config.getoption("--target"),
            rootdir=config.rootpath,
            invocation_dir=config.invocation_params.dir,
        )
        state.target = load_target(path)
        state.visibility = parse_overrides(config.getoption("--visibility"))
        check_ids(
            state.target.grading.visibility,
            state.visibility,
            valid=state.checklist.ids,
            source=str(path),
        )
    except GraderError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not config.option.collectonly:
        config.stash[INTACT_BEFORE] = intact_record.before(state.target)


def _marker_problems(item: pytest.Item, checklist: Checklist) -> list[str]:
    problems = []
    for mark in item.iter_markers(MARKER):
        if not mark.args or mark.kwargs or not all(isinstance(a, str) for a in mark.args):
            problems.append(
                f"{item.nodeid}: @pytest.mark.{MARKER} takes checklist ids as strings, "
                f"got args={mark.args!r} kwargs={mark.kwargs!r}"
            )
            continue
        for item_id in mark.args:
            if item_id not in checklist.ids:
                problems.append(
                    f"{item.nodeid}: unknown checklist id {item_id!r}; "
                    f"valid ids: {', '.join(checklist.ids)}"
                )
    return problems


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Turn a bad checklist marker into a collection error of the module that holds it."""
    report = yield
    checklist = state_of(collector.config).checklist
    if report.outcome != "passed" or checklist is None:
        return report
    problems = [
        problem
        for node in report.result
        if isinstance(node, pytest.Item)
        for problem in _marker_problems(node, checklist)
    ]
    if problems:
        report.outcome = "failed"
        report.longrepr = "\n".join(problems)
        report.result = []
    return report


def pytest_itemcollected(item: pytest.Item) -> None:
    """`pytest checks -k <checklist-id>` selects that item's checks: the id is a keyword."""
    item.extra_keyword_matches.update(checklist_ids(item))


def pytest_collection_finish(session: pytest.Session) -> None:
    state = state_of(session.config)
    checks_dir = state.checklist_path.parent
    for item in session.items:
        ids = checklist_ids(item)
        if ids:
            state.checks[item.nodeid] = ids
        elif item.path.is_relative_to(checks_dir):
            state.prerequisites.append(item.nodeid)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        state = state_of(items[0].config)
        for item in items:
            state.deselected.update(checklist_ids(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    retried = drain_retried()  # the waits of this phase, before its report copies the properties
    if retried:
        item.user_properties.append((PROPERTY, {"label": RETRIED_LABEL, "value": retried}))
    report = yield
    outcome: Outcome
    message = ""
    if hasattr(report, "wasxfail") and report.skipped:
        outcome, message = "failed", f"expected failure (xfail): {report.wasxfail}".rstrip(": ")
    elif report.failed:
        outcome = "failed" if report.when == "call" else "error"
    elif report.skipped:
        outcome = "skipped"
    else:
        outcome = "passed"
    if not message and call.excinfo is not None:
        message = failure_message(call.excinfo.value)
    state = state_of(item.config)
    state.phases.setdefault(item.nodeid, []).append(
        (report.when, outcome, report.duration, message)
    )
    # Each phase's report holds every user property recorded so far: the last one has them all.
    state.evidence[item.nodeid] = from_user_properties(report.user_properties)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = state_of(session.config)
    if session.config.option.collectonly or state.checklist is None or state.target is None:
        return
    state.grade = build_grade(state)
    if INTACT_BEFORE in session.config.stash:
        before, markers = session.config.stash[INTACT_BEFORE]
        after = intact_record.take(state.target, markers)
        verdict = intact.compare(before, after, restore_commands=safety.restore_commands())
        state.grade = state.grade.model_copy(update={"intact": verdict})
    try:
        state.written = write_reports(state.grade, state.report_dir)
    except OSError as exc:
        state.write_error = f"could not write the grading report to {state.report_dir}: {exc}"


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall_wait_notices(config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    state = state_of(terminalreporter.config)
    if state.grade is None:
        return
    writer = terminalreporter.config.get_terminal_writer()
    terminalreporter.write_sep("=", "grading")
    terminalreporter.write(render_text(state.grade, width=writer.fullwidth, color=writer.hasmarkup))
    for path in state.written:
        terminalreporter.write_line(f"grading report: {path}")
    if state.write_error:
        terminalreporter.write_line(state.write_error, red=True)
