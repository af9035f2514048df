from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.checklist import load_checklist, parse_checklist
from grader.errors import ChecklistError, GraderError

REPO = Path(__file__).resolve().parents[2]
SEED_IDS = [
    "elk-logs-collected", "elk-logs-searchable", "elk-dashboards-display-data",
    "elk-retention-works", "elk-access-secured",
    "mon-metrics-collected", "mon-dashboards-realtime", "mon-alerts-trigger",
    "mon-notifications-sent", "mon-access-secured",
    "ms-independent", "ms-communication", "ms-deploy-separately", "ms-failures-isolated",
    "ms-health-checks",
    "hc-health-endpoint", "hc-status-page", "hc-backups-automatic", "hc-backups-restorable",
    "hc-recovery-tested",
]  # fmt: skip
SOURCE = Path("checklist.yaml")


def _raw(*items: dict[str, object]) -> dict[str, Any]:
    return {
        "modules": {"elk": {"title": "ELK Stack", "points": 2}},
        "items": list(items) or [{"id": "elk-one", "module": "elk", "text": "One"}],
    }


def test_the_real_checklist_has_the_seed_items_in_order() -> None:
    checklist = load_checklist(REPO / "checks" / "checklist.yaml")
    assert checklist.ids == SEED_IDS
    assert {name: m.points for name, m in checklist.modules.items()} == {
        "elk": 2, "monitoring": 2, "microservices": 2, "health": 1,
    }  # fmt: skip
    assert checklist.points_possible == 7
    assert checklist.item("elk-logs-searchable").text == "Logs are searchable in Elasticsearch"
    assert [len(checklist.items_of(m)) for m in checklist.modules] == [5, 5, 5, 5]


def test_every_real_item_has_its_own_short_advice_for_students() -> None:
    checklist = load_checklist(REPO / "checks" / "checklist.yaml")
    advice = [item.advice for item in checklist.items]
    assert all(advice), [item.id for item in checklist.items if not item.advice]
    assert len(set(advice)) == len(advice)
    for item in checklist.items:
        sentences = [s for s in item.advice.replace(";", ".").split(". ") if s.strip()]
        assert len(item.advice) <= 240 and len(sentences) <= 3, (item.id, item.advice)


def test_advice_is_optional_and_kept() -> None:
    raw = _raw({"id": "elk-one", "module": "elk", "text": "One", "advice": "Fix one."})
    assert parse_checklist(raw, source=SOURCE).items[0].advice == "Fix one."
    assert parse_checklist(_raw(), source=SOURCE).items[0].advice == ""


def test_unknown_module_names_the_item_and_field() -> None:
    raw = _raw({"id": "elk-one", "module": "elkk", "text": "One"})
    with pytest.raises(ChecklistError) as err:
        parse_checklist(raw, source=SOURCE)
    assert "items[0] (elk-one).module: unknown module 'elkk' (known: elk)" in str(err.value)


def test_duplicate_id_names_both_positions() -> None:
    raw = _raw(
        {"id": "elk-one", "module": "elk", "text": "One"},
        {"id": "elk-one", "module": "elk", "text": "Again"},
    )
    with pytest.raises(
        ChecklistError, match=r"items\[1\] \(elk-one\)\.id: duplicate of items\[0\]"
    ):
        parse_checklist(raw, source=SOURCE)


def test_missing_field_names_the_item_by_id() -> None:
    raw = _raw({"id": "elk-one", "module": "elk"})
    with pytest.raises(ChecklistError) as err:
        parse_checklist(raw, source=SOURCE)
    assert "items[0] (elk-one).text: Field required" in str(err.value)
    assert str(SOURCE) in str(err.value)


def test_missing_id_names_the_item_by_position() -> None:
    raw = _raw({"module": "elk", "text": "One"})
    with pytest.raises(ChecklistError, match=r"items\[0\]\.id: Field required"):
        parse_checklist(raw, source=SOURCE)


def test_unknown_key_and_bad_id_are_reported_together() -> None:
    raw = _raw({"id": "Bad Id", "module": "elk", "text": "One", "points": 3})
    with pytest.raises(ChecklistError) as err:
        parse_checklist(raw, source=SOURCE)
    message = str(err.value)
    assert "2 problem(s)" in message
    assert "items[0] (Bad Id).id: String should match pattern" in message
    assert "items[0] (Bad Id).points: Extra inputs are not permitted (got 3)" in message


def test_a_module_without_items_is_an_error() -> None:
    raw = _raw()
    raw["modules"] = {**raw["modules"], "spare": {"title": "Spare", "points": 1}}
    with pytest.raises(ChecklistError, match=r"modules\.spare: has no items"):
        parse_checklist(raw, source=SOURCE)


def test_file_problems_are_grader_errors(tmp_path: Path) -> None:
    with pytest.raises(GraderError, match="checklist file not found"):
        load_checklist(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("items: [\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match="not valid YAML"):
        load_checklist(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match="expected a mapping"):
        load_checklist(bad)


def test_unknown_id_lookup_lists_valid_ids() -> None:
    checklist = parse_checklist(_raw(), source=SOURCE)
    with pytest.raises(ChecklistError, match="unknown checklist id 'nope'; valid ids: elk-one"):
        checklist.item("nope")
