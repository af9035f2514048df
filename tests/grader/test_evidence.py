from __future__ import annotations

from datetime import datetime

import pytest

from grader.evidence import Evidence, EvidenceError, EvidenceLog, compact, from_user_properties


def test_add_keeps_values_as_given_on_the_tests_user_properties() -> None:
    properties: list[tuple[str, object]] = []
    log = EvidenceLog(properties)
    log.add("PromQL signups_total before/after", {"before": 3, "after": 5})
    log.add("email subjects", ["[FIRING:1] ServiceDown users (10:01:02)"])
    log.timing("restore took", 12.34567)
    assert [value for name, value in properties if name == "evidence"] == [
        {"label": "PromQL signups_total before/after", "value": {"before": 3, "after": 5}},
        {"label": "email subjects", "value": ["[FIRING:1] ServiceDown users (10:01:02)"]},
        {"label": "restore took (s)", "value": 12.346},
    ]
    assert len(properties) == 3


def test_a_value_that_is_not_json_is_refused_naming_its_label() -> None:
    with pytest.raises(EvidenceError, match=r"evidence 'when': the value must be JSON.*datetime"):
        EvidenceLog([]).add("when", datetime(2025, 1, 1))
    with pytest.raises(EvidenceError, match="evidence 'ratio'"):
        EvidenceLog([]).add("ratio", float("nan"))


def test_every_user_property_is_evidence_in_both_spellings() -> None:
    properties = [
        ("evidence", {"label": "subjects", "value": ["a", "b"]}),
        ("rto_s", 12.3),
        ("grader-mark-1", 0.8),
        ("when", datetime(2025, 1, 1, 12, 0)),  # not JSON: kept as its text
        ("evidence", "no label"),  # not the documented shape: kept under its name
    ]
    assert from_user_properties(properties) == [
        Evidence(label="subjects", value=["a", "b"]),
        Evidence(label="rto_s", value=12.3),
        Evidence(label="grader-mark-1", value=0.8),
        Evidence(label="when", value="2025-01-01 12:00:00"),
        Evidence(label="evidence", value="no label"),
    ]


def test_compact_is_one_line_and_cut_at_the_limit() -> None:
    assert compact("two\n  lines") == "two lines"
    assert compact({"before": 3, "after": 5}) == '{"before": 3, "after": 5}'
    assert compact(list(range(100)), limit=20) == "[0, 1, 2, 3, 4, 5, …"
    assert len(compact("x" * 500)) == 160
