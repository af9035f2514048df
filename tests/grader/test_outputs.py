"""Every output of a made-up grade, validated against its format's schema (tests/schemas/), and
what each audience may read in it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.grade import Grade
from grader.outputs.classroom import FOLDED_NAME, classroom_result
from grader.outputs.gradescope import gradescope_results
from grader.outputs.html import render_html
from grader.outputs.markdown import render_markdown, render_student_markdown
from grader.report import write_reports
from tests.grader.sample_grade import FAILURE, HIDDEN_EVIDENCE, VISIBLE_EVIDENCE, sample_grade
from tests.output_schemas import html_problems, json_errors, junit_errors

OUTPUTS = [
    "grading.json",
    "grading.md",
    "grading.html",
    "student.md",
    "student.html",
    "results.json",
    "classroom.json",
    "grading-junit.xml",
]

# Instructor detail: never in what a student reads.
INSTRUCTOR_ONLY = [FAILURE, "expected HTTP 401", HIDDEN_EVIDENCE, VISIBLE_EVIDENCE, "test_two"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    paths = write_reports(sample_grade(), out)
    return {path.name: path for path in paths}


def test_one_run_writes_every_output(written: dict[str, Path]) -> None:
    assert list(written) == OUTPUTS
    data = json.loads(written["grading.json"].read_text(encoding="utf-8"))
    assert Grade.model_validate(data) == sample_grade()


def test_grading_json_carries_evidence_visibility_advice_and_item_points(
    written: dict[str, Path],
) -> None:
    items = {i["id"]: i for i in json.loads(written["grading.json"].read_text())["items"]}
    assert items["alpha-one"]["tests"][0]["evidence"] == [
        {"label": VISIBLE_EVIDENCE, "value": ["[FIRING:1] ServiceDown users"]},
        {"label": "rto_s", "value": 12.3},
    ]
    assert items["alpha-two"]["visibility"] == "hidden"
    assert items["alpha-two"]["advice"] == "Make the second thing answer 401 to strangers."
    # all-or-nothing: alpha earned nothing, so its passing item earns nothing either
    assert (items["alpha-one"]["points_possible"], items["alpha-one"]["points_earned"]) == (1, 0)
    assert (items["gamma-one"]["points_possible"], items["gamma-one"]["points_earned"]) == (1, 1)


def test_gradescope_results_follow_the_specification(written: dict[str, Path]) -> None:
    results = json.loads(written["results.json"].read_text(encoding="utf-8"))
    assert json_errors("gradescope-results.schema.json", results) == []
    assert results["score"] == 1.0  # the grade's total, not the sum of the passing tests
    assert results["execution_time"] == 330
    assert results["stdout_visibility"] == "hidden"
    tests = {t["extra_data"].get("item"): t for t in results["tests"]}
    numbers = [t["number"] for t in results["tests"]]
    assert numbers == ["0.1", "0.2", "1.1", "1.2", "2.1", "2.2", "3.1"]
    assert tests["alpha-one"] | {"output": ""} == {
        "name": "Alpha: First works",
        "number": "1.1",
        "score": 1.0,
        "max_score": 1.0,
        "status": "passed",
        "output": "",
        "output_format": "text",
        "tags": ["alpha", "alpha-one"],
        "visibility": "visible",
        "extra_data": {"item": "alpha-one", "module": "alpha", "status": "PASS"},
    }
    assert (tests["alpha-two"]["status"], tests["alpha-two"]["score"]) == ("failed", 0)
    assert tests["beta-two"]["visibility"] == "after_due_date"
    prerequisite = results["tests"][1]
    assert prerequisite["status"] == "failed" and "score" not in prerequisite


def test_gradescope_puts_instructor_detail_only_on_hidden_tests() -> None:
    tests = {t["extra_data"].get("item"): t for t in gradescope_results(sample_grade())["tests"]}
    hidden = tests["alpha-two"]["output"]
    assert hidden.startswith("Not passed. Make the second thing answer 401 to strangers.")
    assert FAILURE in hidden and HIDDEN_EVIDENCE in hidden
    # a student sees these (now or after the due date): status and advice only
    for item in ("alpha-one", "beta-one", "beta-two", "gamma-one"):
        for detail in [*INSTRUCTOR_ONLY, "no control driver"]:
            assert detail not in tests[item]["output"], (item, detail)
    # alpha-one passed in a module that earned nothing because of a hidden item: not said
    assert tests["alpha-one"]["output"] == "Passed."
    assert tests["beta-two"]["output"].startswith("Not checked")
    assert tests["beta-two"]["output"].endswith("Rehearse the recovery of the fourth thing.")


def test_gradescope_explains_a_forfeited_pass_when_its_module_is_visible() -> None:
    grade = sample_grade(levels={})
    tests = {t["extra_data"].get("item"): t for t in gradescope_results(grade)["tests"]}
    assert "only when every one of its items passes" in tests["alpha-one"]["output"]
    assert json_errors("gradescope-results.schema.json", gradescope_results(grade)) == []


def test_classroom_result_is_what_the_reporter_reads(written: dict[str, Path]) -> None:
    result = json.loads(written["classroom.json"].read_text(encoding="utf-8"))
    assert json_errors("classroom-results.schema.json", result) == []
    assert (result["version"], result["status"], result["max_score"]) == (1, "fail", 4)
    # the reporter sends GitHub Classroom the sum of the scores: it must be the grade's total
    assert sum(test["score"] for test in result["tests"]) == pytest.approx(1.0)
    names = [test["name"] for test in result["tests"]]
    assert names == [
        "Alpha: First works (alpha-one)",
        "Beta: Third works (beta-one)",
        "Gamma: Fifth works (gamma-one)",
        f"{FOLDED_NAME} (2)",
    ]
    text = json.dumps(result)
    for detail in [*INSTRUCTOR_ONLY, "Second works", "alpha-two", "Fourth recovers"]:
        assert detail not in text, detail
    first = result["tests"][0]
    assert (first["status"], first["test_code"], first["duration"]) == (
        "pass",
        "pytest checks -k alpha-one",
        1250,
    )


def test_classroom_passes_when_every_item_passes() -> None:
    grade = sample_grade()
    passing = [i.model_copy(update={"status": "PASS"}) for i in grade.items]
    result = classroom_result(grade.model_copy(update={"items": passing}))
    assert result["status"] == "pass"
    assert json_errors("classroom-results.schema.json", result) == []


def test_grading_junit_has_one_case_per_item_with_its_points(written: dict[str, Path]) -> None:
    path = written["grading-junit.xml"]
    assert junit_errors(path) == []
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "1", "1")
    assert [s.get("name") for s in root.findall("testsuite")] == ["Alpha", "Beta", "Gamma"]
    cases = {
        c.find("properties/property[@name='item']").get("value"): c  # type: ignore[union-attr]
        for c in root.iter("testcase")
    }
    props = {p.get("name"): p.get("value") for p in cases["gamma-one"].iter("property")}
    assert props == {
        "item": "gamma-one",
        "module": "gamma",
        "points": "1",
        "max_points": "1",
        "visibility": "visible",
    }
    failure = cases["alpha-two"].find("failure")
    assert failure is not None and failure.get("message") == FAILURE
    assert HIDDEN_EVIDENCE in (failure.text or "")
    skipped = cases["beta-two"].find("skipped")
    assert skipped is not None and skipped.get("message") == "target has no control driver"
    evidence = [p.get("value") for p in cases["alpha-one"].iter("property")
                if p.get("name") == "evidence"]  # fmt: skip
    assert evidence == [f'{VISIBLE_EVIDENCE}: ["[FIRING:1] ServiceDown users"]', "rto_s: 12.3"]


def test_junit_keeps_control_characters_out_of_the_xml(tmp_path: Path) -> None:
    grade = sample_grade()
    bell = {"reason": "bell \x07 and \x1b[31mcolour"}
    items = [i.model_copy(update=bell) if i.id == "alpha-two" else i for i in grade.items]
    paths = write_reports(grade.model_copy(update={"items": items}), tmp_path)
    assert junit_errors(next(p for p in paths if p.name == "grading-junit.xml")) == []


def test_instructor_html_is_self_contained_and_shows_everything(written: dict[str, Path]) -> None:
    text = written["grading.html"].read_text(encoding="utf-8")
    assert html_problems(text) == []
    for expected in (
        "expected HTTP 401 | observed 200 &lt;secret-ish &amp; detail&gt;",
        HIDDEN_EVIDENCE,
        VISIBLE_EVIDENCE,
        "Make the second thing answer 401 to strangers.",
        "never shown to students",
        "checks/test_a.py::test_two",
        "demo &lt;stack&gt;",
        "timed out waiting for ghost",
    ):
        assert expected in text, expected
    assert "<secret-ish" not in text


def test_student_reports_show_status_and_advice_of_visible_items_only(
    written: dict[str, Path],
) -> None:
    for name in ("student.html", "student.md"):
        text = written[name].read_text(encoding="utf-8")
        for detail in [*INSTRUCTOR_ONLY, "Second works", "alpha-two", "Fourth recovers",
                       "Rehearse the recovery", "timed out waiting for ghost"]:  # fmt: skip
            assert detail not in text, (name, detail)
        assert "Third works" in text and "Fifth works" in text
        # with items not shown yet, no total (Gradescope hides it too) and no module points
        # that would tell a hidden item failed
        assert "Total" not in text and "1 / 4" not in text
    assert html_problems(written["student.html"].read_text(encoding="utf-8")) == []


def test_student_reports_give_points_and_advice_when_everything_is_visible() -> None:
    grade = sample_grade(levels={})
    markdown = render_student_markdown(grade)
    assert "**Total: 1 / 4**" in markdown
    assert "| Second works | **fail** | Not passed. Make the second thing answer 401" in markdown
    assert "| First works | pass |  |" in markdown
    assert "1 of 2 items pass, and this module earns its 2 points only when all" in markdown
    page = render_html(grade, view="student")
    assert "Make the second thing answer 401 to strangers." in page
    assert FAILURE not in page and "expected HTTP 401" not in page


def test_instructor_markdown_lists_advice_visibility_and_evidence() -> None:
    text = render_markdown(sample_grade())
    assert "| `alpha-two` | Second works | FAIL | expected HTTP 401 \\| observed 200" in text
    assert "  - Advice: Make the second thing answer 401 to strangers." in text
    assert "  - Visibility: `hidden` (never shown to students)" in text
    assert f'  - Evidence, {HIDDEN_EVIDENCE}: `{{"anonymous": 200, "wrong": 200}}`' in text
    assert "  - Evidence, rto_s: `12.3`" in text


def test_a_saved_run_is_written_again_by_the_command_line(
    written: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.outputs.__main__ import main

    assert main([str(written["grading.json"]), "--out", str(tmp_path / "again")]) == 0
    for name in OUTPUTS:
        again = (tmp_path / "again" / name).read_text(encoding="utf-8")
        assert again == written[name].read_text(encoding="utf-8"), name
    broken = tmp_path / "broken.json"
    broken.write_text('{"target": {}}', encoding="utf-8")
    assert main([str(broken)]) == 1
    assert "broken.json" in capsys.readouterr().err
