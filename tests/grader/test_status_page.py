"""The status page must agree with the state the grader caused, headline included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from grader.status_page import banner, down_problems, elsewhere, headline, recovered_problems

FAULT = datetime(2026, 11, 28, 20, 0, 0, tzinfo=UTC)
OPERATIONAL = "All Systems Operational"


def body(users: str, indicator: str, description: str, *incidents: dict[str, Any]) -> Any:
    return {
        "status": {"indicator": indicator, "description": description},
        "components": [
            {"id": "auth", "name": "auth", "status": "operational"},
            {"id": "users", "name": "users", "status": users},
        ],
        "incidents": list(incidents),
    }


def incident(created: str = "2026-11-28T20:00:07Z") -> dict[str, Any]:
    return {
        "id": "14",
        "name": "users: major outage",
        "created_at": created,
        "components": [{"id": "users"}],
    }


def page(headline_text: str, users: str = "Major outage", *extra: str) -> str:
    return (
        "<html><head><title>Status</title><style>.banner{color:red}</style></head><body>"
        f'<p class="banner major" role="status" id="banner">{headline_text}</p>'
        f'<article id="component-users"><span>users</span> <span>{users}</span></article>'
        + "".join(f"<h3>{e}</h3>" for e in extra)
        + "</body></html>"
    )


DOWN = body("major_outage", "major", "Partial System Outage", incident())


def test_the_banner_is_the_element_marked_as_the_pages_status() -> None:
    assert banner(page("&#10005; Partial System Outage")) == "✕ Partial System Outage"
    assert banner("<h1>Hello</h1><p>All good</p>") is None
    said, where = headline("<h1>Hello</h1><p>All good</p>")
    assert (said, where) == ("Hello All good", "page")


def test_a_page_that_shows_the_outage_and_its_incident_has_no_problems() -> None:
    markup = page("✕ Partial System Outage", "Major outage", "users: major outage")
    assert down_problems(DOWN, markup, victim="users", since=FAULT, operational=OPERATIONAL) == []


def test_a_headline_fixed_to_all_operational_is_caught() -> None:
    markup = page("✓ All Systems Operational", "Major outage", "users: major outage")
    found = down_problems(DOWN, markup, victim="users", since=FAULT, operational=OPERATIONAL)
    assert found == [
        "the page's banner still says it is all operational: '✓ All Systems Operational'"
    ]


def test_a_summary_that_claims_all_operational_while_a_service_is_down_is_caught() -> None:
    claims = body("major_outage", "none", OPERATIONAL, incident())
    markup = page("✕ Partial System Outage", "Major outage", "users: major outage")
    found = down_problems(claims, markup, victim="users", since=FAULT, operational=OPERATIONAL)
    assert "summary.json's status.indicator is 'none', expected an outage level" in found
    assert "summary.json's status.description still says 'All Systems Operational'" in found


def test_an_incident_from_before_the_fault_or_about_another_service_does_not_count() -> None:
    markup = page("✕ Partial System Outage", "Major outage", "users: major outage")
    stale = body("major_outage", "major", "Partial System Outage", incident("2026-11-27T10:00:00Z"))
    other = body(
        "major_outage",
        "major",
        "Partial System Outage",
        {**incident(), "name": "auth: major outage", "components": [{"id": "auth"}]},
    )
    for seen in (stale, other):
        found = down_problems(seen, markup, victim="users", since=FAULT, operational=OPERATIONAL)
        assert any(p.startswith("expected an open incident about users") for p in found), found


def test_the_page_must_name_the_incident_and_show_the_service_down() -> None:
    markup = page("✕ Partial System Outage", "Operational")
    found = down_problems(DOWN, markup, victim="users", since=FAULT, operational=OPERATIONAL)
    assert found == [
        "the page does not show users down (in words: outage, down)",
        "the page does not show the incident 'users: major outage'",
    ]


def test_recovery_needs_the_component_the_summary_and_the_headline_back() -> None:
    up = body("operational", "none", OPERATIONAL)
    back = page("✓ All Systems Operational")
    assert recovered_problems(up, back, victim="users", operational=OPERATIONAL) == []
    found = recovered_problems(
        DOWN, page("✕ Partial System Outage"), victim="users", operational=OPERATIONAL
    )
    assert found == [
        "summary.json shows users 'major_outage', expected 'operational'",
        "incident 'users: major outage' about users is still open",
        "summary.json's status is {'indicator': 'major', 'description': 'Partial System "
        "Outage'}, expected indicator 'none' and 'All Systems Operational'",
        "the page's banner says '✕ Partial System Outage', expected 'All Systems Operational'",
    ]


def test_recovery_with_another_incident_open_needs_the_headline_to_agree_with_the_summary() -> None:
    """A stack whose backups fail opens incidents of its own while users is down: once users is
    back, the headline rightly stays at an outage level, and must say what summary.json says."""
    backups_failing = {
        "id": "b1",
        "name": "A backup of auth failed its restore test",
        "status": "investigating",
        "created_at": "2026-11-28T10:00:30Z",
        "components": [{"id": "backup"}],
    }
    up = body("operational", "major", "Partial System Outage", backups_failing)
    agreeing = page("✕ Partial System Outage")
    assert recovered_problems(up, agreeing, victim="users", operational=OPERATIONAL) == []
    claims = page("✓ All Systems Operational")
    found = recovered_problems(up, claims, victim="users", operational=OPERATIONAL)
    assert found == [
        "the page's banner says '✓ All Systems Operational', expected 'Partial System Outage' "
        "(summary.json's, with A backup of auth failed its restore test open)"
    ]
    still_down = body("major_outage", "major", "Partial System Outage", incident(), backups_failing)
    found = recovered_problems(still_down, agreeing, victim="users", operational=OPERATIONAL)
    assert found[:2] == [
        "summary.json shows users 'major_outage', expected 'operational'",
        "incident 'users: major outage' about users is still open",
    ]


def test_with_something_else_wrong_before_the_fault_the_victim_alone_is_judged() -> None:
    """A stack whose backups fail had an incident open before users was killed: the headline
    was at an outage level already and need not change; users' outage and incident must show,
    and the page must still not claim all operational."""
    backups_failing = {
        "id": "b1",
        "name": "A backup of auth failed its restore test",
        "created_at": "2026-11-28T10:00:30Z",
        "components": [{"id": "backup"}],
    }
    before = body("operational", "major", "Partial System Outage", backups_failing)
    assert elsewhere(before, "users") == ["A backup of auth failed its restore test"]
    down = body("major_outage", "major", "Partial System Outage", incident(), backups_failing)
    markup = page("✕ Partial System Outage", "Major outage", "users: major outage")
    assert down_problems(down, markup, victim="users", since=FAULT, operational=None) == []
    unseen = body("operational", "major", "Partial System Outage", backups_failing)
    found = down_problems(unseen, markup, victim="users", since=FAULT, operational=None)
    assert "summary.json shows users 'operational', expected one of " in found[0]
    assert any(p.startswith("expected an open incident about users") for p in found)
    lying = page("✓ All Systems Operational", "Major outage", "users: major outage")
    found = down_problems(down, lying, victim="users", since=FAULT, operational=None)
    assert found == [
        "the page's banner still says it is all operational: '✓ All Systems Operational'"
    ]
