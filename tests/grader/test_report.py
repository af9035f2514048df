from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from grader.report import Grade, TargetInfo, render_markdown, render_text, write_reports
from grader.scoring import CheckRun, ItemResult, ModuleResult


def _grade() -> Grade:
    failing = CheckRun(
        nodeid="checks/test_a.py::test_two",
        outcome="failed",
        duration=1.5,
        message="expected HTTP 401 | observed 200",
    )
    return Grade(
        target=TargetInfo(name="demo", runtime="local", control="none", profile="/x/target.yaml"),
        scoring="all-or-nothing",
        started=datetime(2025, 1, 1, 12, 0, tzinfo=UTC),
        finished=datetime(2025, 1, 1, 12, 5, tzinfo=UTC),
        points_possible=3,
        points_earned=1.0,
        modules={
            "a": ModuleResult(
                title="Alpha", points_possible=2, points_earned=0, items_passed=1, items_total=2
            ),
            "b": ModuleResult(
                title="Beta", points_possible=1, points_earned=1, items_passed=1, items_total=1
            ),
        },
        items=[
            ItemResult(
                id="a-one",
                module="a",
                text="First",
                status="PASS",
                reason="",
                tests=[
                    CheckRun(nodeid="checks/test_a.py::test_one", outcome="passed", duration=0.2)
                ],
            ),
            ItemResult(
                id="a-two",
                module="a",
                text="Second",
                status="FAIL",
                reason=failing.message,
                tests=[failing],
            ),
            ItemResult(
                id="b-one",
                module="b",
                text="Third",
                status="NOT COVERED",
                reason="no check",
                tests=[],
            ),
        ],
        prerequisites=[
            CheckRun(
                nodeid="checks/test_components.py::test_up[db]", outcome="passed", duration=0.1
            )
        ],
    )


def test_write_reports_writes_json_markdown_and_every_other_output(tmp_path: Path) -> None:
    written = write_reports(_grade(), tmp_path / "reports")
    assert [p.name for p in written][:2] == ["grading.json", "grading.md"]
    assert all(p.is_file() for p in written)
    data = json.loads((tmp_path / "reports" / "grading.json").read_text(encoding="utf-8"))
    assert data["target"] == {
        "name": "demo", "runtime": "local", "control": "none", "profile": "/x/target.yaml",
    }  # fmt: skip
    assert data["scoring"] == "all-or-nothing"
    assert data["started"].startswith("2025-01-01T12:00:00")
    assert data["modules"]["a"]["points_possible"] == 2
    assert data["modules"]["a"]["points_earned"] == 0
    assert data["items"][1]["tests"] == [
        {
            "nodeid": "checks/test_a.py::test_two",
            "outcome": "failed",
            "duration": 1.5,
            "message": "expected HTTP 401 | observed 200",
            "evidence": [],
        }
    ]
    assert Grade.model_validate(data) == _grade()


def test_markdown_has_totals_modules_and_escaped_cells() -> None:
    text = render_markdown(_grade())
    assert "**Total: 1 / 3**" in text
    assert "| Alpha | 1 / 2 | 0 / 2 |" in text
    assert "## Beta (1 / 1)" in text
    assert "| `a-two` | Second | FAIL | expected HTTP 401 \\| observed 200 |" in text
    assert "| `checks/test_components.py::test_up[db]` | passed |  |" in text


def test_terminal_table_shows_every_item_in_both_layouts() -> None:
    for width in (80, 200):
        text = render_text(_grade(), width=width, color=False)
        for expected in ("a-one", "First", "NOT COVERED", "Total", "1 / 3", "test_up"):
            assert expected in text, f"{expected!r} missing at width {width}"
        assert "\x1b[" not in text
        assert max(len(line) for line in text.splitlines()) <= width
