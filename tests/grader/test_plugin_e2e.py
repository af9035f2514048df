"""End to end: run pytest with the grader plugin on a tiny fake checks directory."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.scoring import DESELECTED, NO_CHECK
from grader.session import NO_CONTROL_REASON
from tests.output_schemas import html_problems, json_errors, junit_errors

REPO = Path(__file__).resolve().parents[2]

CHECKLIST = """
modules:
  alpha: {title: Alpha, points: 2}
  beta: {title: Beta, points: 1}
items:
  - {id: alpha-one, module: alpha, text: "First thing works"}
  - {id: alpha-two, module: alpha, text: "Second thing works"}
  - {id: beta-one, module: beta, text: "Third thing recovers"}
  - {id: beta-two, module: beta, text: "Fourth thing is checked by nobody"}
"""

FAKE_CHECKS = """
import pytest

from grader.polling import poll_until


@pytest.mark.checklist("alpha-one")
def test_passes(target, component, evidence, timeouts):
    evidence.add("role seen", component("socket").role)
    evidence.add("subjects", ["[FIRING:1] ServiceDown users"])
    tries = iter([None, "there"])
    poll_until(lambda: next(tries), "the second try", timeouts.default, interval=0.01)
    assert component("socket").role == "listener"


@pytest.mark.checklist("alpha-two")
def test_fails(timeouts, request):
    request.node.user_properties.append(("evidence", {"label": "waited", "value": {"s": 0.3}}))
    request.node.user_properties.append(("rto_s", 12.3))
    poll_until(lambda: None, "the impossible to happen", timeouts.default, interval=0.05)


@pytest.mark.checklist("beta-one")
def test_needs_control(control):
    control.kill("socket")
"""


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return int(server.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path, listening_port: int, closed_port: int) -> Path:
    checks = tmp_path / "checks"
    checks.mkdir()
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    shutil.copy(REPO / "checks" / "conftest.py", checks / "conftest.py")
    shutil.copy(REPO / "checks" / "test_components.py", checks / "test_components.py")
    (checks / "checklist.yaml").write_text(CHECKLIST, encoding="utf-8")
    (checks / "test_fake.py").write_text(FAKE_CHECKS, encoding="utf-8")
    target = f"""
        version: 1
        name: fake stack
        runtime: external
        control: {{driver: none}}
        timeouts: {{default: 0.3, healthy: 0.5, probe: 1}}
        components:
          socket:
            role: listener
            probe: {{kind: tcp, host: 127.0.0.1, port: {listening_port}}}
          ghost:
            role: absent service
            probe: {{kind: tcp, host: 127.0.0.1, port: {closed_port}}}
    """
    (tmp_path / "target.yaml").write_text(textwrap.dedent(target), encoding="utf-8")
    return tmp_path


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STACK_TARGET", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "160"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_grading(reports: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((reports / "grading.json").read_text(encoding="utf-8"))
    return loaded


def items_by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in report["items"]}


def test_grading_run_writes_reports_and_keeps_the_exit_code(project: Path) -> None:
    result = run_pytest(project, "--target", "target.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((project / "reports" / "grading.json").read_text(encoding="utf-8"))
    items = items_by_id(report)

    assert items["alpha-one"]["status"] == "PASS"
    assert items["alpha-one"]["tests"][0]["nodeid"] == "checks/test_fake.py::test_passes"
    assert items["alpha-one"]["tests"][0]["outcome"] == "passed"

    failed = items["alpha-two"]
    assert failed["status"] == "FAIL"
    assert failed["reason"].startswith("timed out after 0.3 s waiting for the impossible")
    assert failed["tests"][0]["outcome"] == "failed"
    assert failed["tests"][0]["duration"] > 0

    assert items["beta-one"]["status"] == "NOT COVERED"
    assert items["beta-one"]["reason"] == NO_CONTROL_REASON
    assert items["beta-one"]["tests"][0]["outcome"] == "skipped"
    assert (items["beta-two"]["status"], items["beta-two"]["reason"]) == ("NOT COVERED", NO_CHECK)

    assert report["modules"]["alpha"] == {
        "title": "Alpha",
        "points_possible": 2,
        "points_earned": 0.0,
        "items_passed": 1,
        "items_total": 2,
    }
    assert report["points_possible"] == 3
    assert report["points_earned"] == 0
    assert report["scoring"] == "all-or-nothing"
    assert report["target"]["name"] == "fake stack"
    assert report["target"]["runtime"] == "external"
    assert report["started"] <= report["finished"]

    up, down = report["prerequisites"]
    assert up["nodeid"] == "checks/test_components.py::test_component_is_healthy[socket]"
    assert up["outcome"] == "passed"
    assert down["nodeid"] == "checks/test_components.py::test_component_is_healthy[ghost]"
    assert down["outcome"] == "failed"
    assert down["message"].startswith(
        "timed out after 0.5 s waiting for component 'ghost' (absent service) to be healthy "
        "(expected: its tcp probe succeeds)"
    )
    assert "not healthy: ConnectionRefusedError" in down["message"]

    assert "| `alpha-two` | Second thing works | FAIL |" in (
        project / "reports" / "grading.md"
    ).read_text(encoding="utf-8")
    junit = ET.parse(project / "reports" / "junit.xml").getroot()
    assert len(junit.findall(".//testcase")) == 5
    assert "Testing Checklist" in result.stdout
    assert "0 / 3" in result.stdout


def test_evidence_in_both_spellings_reaches_every_output(project: Path) -> None:
    result = run_pytest(project, "--target", "target.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    reports = project / "reports"
    report = json.loads((reports / "grading.json").read_text(encoding="utf-8"))
    items = items_by_id(report)
    evidence = items["alpha-one"]["tests"][0]["evidence"]
    assert evidence[:2] == [
        {"label": "role seen", "value": "listener"},
        {"label": "subjects", "value": ["[FIRING:1] ServiceDown users"]},
    ]
    # A wait that needed more than one attempt is said in the check's report, with its count.
    assert evidence[2]["label"] == "needed more than one attempt"
    assert evidence[2]["value"][0].startswith("the second try: 2 attempts, ")
    assert "needed more than one attempt" in (reports / "grading.md").read_text(encoding="utf-8")
    assert items["alpha-two"]["tests"][0]["evidence"] == [
        {"label": "waited", "value": {"s": 0.3}},
        {"label": "rto_s", "value": 12.3},
    ]
    assert "  - Evidence, rto_s: `12.3`" in (reports / "grading.md").read_text(encoding="utf-8")
    page = (reports / "grading.html").read_text(encoding="utf-8")
    assert html_problems(page) == [] and "subjects" in page and "rto_s" in page
    for name in ("grading-junit.xml", "junit.xml"):
        assert junit_errors(reports / name) == [], name
    results = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert json_errors("gradescope-results.schema.json", results) == []
    classroom = json.loads((reports / "classroom.json").read_text(encoding="utf-8"))
    assert json_errors("classroom-results.schema.json", classroom) == []
    for line in ("grading.html", "student.html", "results.json", "classroom.json"):
        assert f"grading report: {reports / line}" in result.stdout


def test_visibility_comes_from_the_profile_and_the_flag(project: Path) -> None:
    profile = project / "target.yaml"
    grading = "grading: {visibility: {default: after_due_date, items: {alpha-two: hidden}}}\n"
    profile.write_text(profile.read_text(encoding="utf-8") + grading, encoding="utf-8")
    result = run_pytest(project, "--target", "target.yaml", "--visibility", "beta-one=visible")
    assert result.returncode == 1, result.stdout + result.stderr
    reports = project / "reports"
    levels = {i["id"]: i["visibility"] for i in items_by_id(read_grading(reports)).values()}
    assert levels == {
        "alpha-one": "after_due_date", "alpha-two": "hidden",
        "beta-one": "visible", "beta-two": "after_due_date",
    }  # fmt: skip
    results = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert results["visibility"] == "after_due_date"
    student = (reports / "student.md").read_text(encoding="utf-8")
    assert "Third thing recovers" in student and "Second thing works" not in student

    result = run_pytest(project, "--target", "target.yaml", "--visibility", "hidden")
    levels = {i["id"]: i["visibility"] for i in items_by_id(read_grading(reports)).values()}
    assert levels["alpha-one"] == "hidden" and levels["alpha-two"] == "hidden"


@pytest.mark.parametrize(
    ("args", "grading", "message"),
    [
        (["--visibility", "alpha-nine=hidden"], "",
         "--visibility alpha-nine=...: unknown checklist id 'alpha-nine'"),
        (["--visibility", "later"], "", "--visibility later: unknown level 'later'"),
        ([], "grading: {visibility: {items: {beta-nine: hidden}}}\n",
         "grading.visibility.items: unknown checklist id 'beta-nine'; valid ids: alpha-one, "),
    ],
)  # fmt: skip
def test_a_bad_visibility_stops_the_run_naming_it(
    project: Path, args: list[str], grading: str, message: str
) -> None:
    profile = project / "target.yaml"
    profile.write_text(profile.read_text(encoding="utf-8") + grading, encoding="utf-8")
    result = run_pytest(project, "--target", "target.yaml", *args)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert message in result.stderr


def test_proportional_scoring_selection_and_report_dir(project: Path) -> None:
    result = run_pytest(
        project,
        "--target",
        "target.yaml",
        "--scoring",
        "proportional",
        "--report-dir",
        "out",
        "-k",
        "passes or socket",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((project / "out" / "grading.json").read_text(encoding="utf-8"))
    items = items_by_id(report)
    assert items["alpha-one"]["status"] == "PASS"
    assert (items["alpha-two"]["status"], items["alpha-two"]["reason"]) == (
        "NOT COVERED",
        DESELECTED,
    )
    assert report["scoring"] == "proportional"
    assert report["modules"]["alpha"]["points_earned"] == 1.0
    assert report["points_earned"] == 1.0
    assert (project / "out" / "junit.xml").is_file()


def test_an_unknown_checklist_id_is_a_collection_error(project: Path) -> None:
    bad = '@pytest.mark.checklist("alpha-nine")\ndef test_typo():\n    pass\n'
    (project / "checks" / "test_bad.py").write_text("import pytest\n\n" + bad, encoding="utf-8")
    result = run_pytest(project, "--target", "target.yaml")
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout + result.stderr
    assert "ERROR collecting checks/test_bad.py" in result.stdout
    assert "unknown checklist id 'alpha-nine'" in result.stdout
    assert "valid ids: alpha-one, alpha-two, beta-one, beta-two" in result.stdout


def test_a_missing_target_says_how_to_create_one(project: Path) -> None:
    result = run_pytest(project)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "no target profile at" in result.stderr
    assert "python -m stack up" in result.stderr
    assert not (project / "reports" / "grading.json").exists()


def test_a_checklist_id_selects_its_checks_with_k(project: Path) -> None:
    result = run_pytest(project, "--target", "target.yaml", "-k", "alpha-one")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((project / "reports" / "grading.json").read_text(encoding="utf-8"))
    items = items_by_id(report)
    assert items["alpha-one"]["status"] == "PASS"
    assert items["alpha-two"]["status"] == "NOT COVERED"
