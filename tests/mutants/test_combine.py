"""Combining the reports of a suite run in parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mutants.__main__ import main
from mutants.catalog import load_catalog
from mutants.combine import combine
from mutants.errors import MutantsError


def _part(path: Path, verdicts: dict[str, str], baseline: dict[str, str], hour: int) -> Path:
    catalog = {m.id: m for m in load_catalog().mutants}
    data = {
        "started": f"2026-12-06T{hour:02d}:00:00+00:00",
        "finished": f"2026-12-06T{hour:02d}:30:00+00:00",
        "baseline": {
            "items": {i: {"status": s, "reason": "", "seconds": 1} for i, s in baseline.items()}
        },
        "mutants": [
            {
                "id": mid,
                "item": catalog[mid].item,
                "verdict": verdict,
                "detail": f"{verdict} at {hour}",
                "seconds": 10,
                "runs": [{"status": "FAIL" if verdict == "caught" else "PASS", "seconds": 5}] * 2,
            }
            for mid, verdict in verdicts.items()
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_later_part_wins_and_mutants_no_part_ran_are_not_caught(tmp_path: Path) -> None:
    first = _part(
        tmp_path / "a.json",
        {"shipper-no-udp-syslog": "caught", "servicedown-only-for-users": "missed"},
        {"elk-logs-collected": "PASS", "mon-alerts-trigger": "PASS"},
        hour=10,
    )
    second = _part(
        tmp_path / "b.json",
        {"servicedown-only-for-users": "caught"},
        {"mon-alerts-trigger": "FAIL"},
        12,
    )
    catalog = load_catalog()
    results, baseline, missing, (started, finished) = combine(catalog, [first, second])
    verdicts = {r.mutant.id: r.judgement.verdict for r in results}
    assert verdicts["servicedown-only-for-users"] == "caught"
    assert verdicts["shipper-no-udp-syslog"] == "caught"
    assert len(results) == len(catalog.mutants) and len(missing) == len(catalog.mutants) - 2
    assert all(verdicts[m] == "error" for m in missing)
    assert (
        baseline.status("mon-alerts-trigger") == "FAIL"
        and baseline.status("elk-logs-collected") == "PASS"
    )
    assert (started.hour, finished.hour) == (10, 12)
    assert [r.mutant.id for r in results] == [m.id for m in catalog.mutants]


def test_combine_writes_the_table_and_says_what_no_part_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    part = _part(tmp_path / "a.json", {"shipper-no-udp-syslog": "caught"}, {}, hour=9)
    assert main(["combine", str(part), "--report-dir", str(tmp_path / "out")]) == 0
    table = (tmp_path / "out" / "mutants.md").read_text(encoding="utf-8")
    assert "| `shipper-no-udp-syslog` | elk-logs-collected |" in table
    captured = capsys.readouterr()
    assert captured.out.startswith("mutation score: 1/")
    assert "not run in any part: shipper-access-log-not-tailed" in captured.err


def test_a_file_that_is_not_a_report_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    with pytest.raises(MutantsError, match=r"bad\.json: not a mutants\.json"):
        combine(load_catalog(), [bad])
