"""Maintenances through Statuspage's states, planned work that ends when healthy, the
headline that counts open incidents, and the page's component groups. A status app of this
module's own over the real PostgreSQL, probing the fake components (conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.polling import poll_until


@pytest.fixture(scope="module")
def grouped_targets(targets_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite's profile with page groups: alpha in Games, the beta replicas in Accounts,
    `stuck` an internal part of Data."""
    raw = yaml.safe_load(targets_file.read_text())
    pages = {
        "alpha": {"group": "Games", "internal": False},
        "beta-1": {"group": "Accounts", "internal": False},
        "beta-2": {"group": "Accounts", "internal": False},
        "stuck": {"group": "Data", "internal": True},
        "status": {"group": "Monitoring", "internal": False},
    }
    for name, page in pages.items():
        raw["components"][name]["page"] = page
    path = tmp_path_factory.mktemp("grouped") / "target.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def app(make_client: Callable[..., Any], grouped_targets: Path) -> Iterator[Any]:
    with make_client(TARGETS_FILE=str(grouped_targets)) as client:
        yield client


def summary(client: Any) -> dict[str, Any]:
    reply = client.get("/api/v2/summary.json")
    assert reply.status_code == 200
    body: dict[str, Any] = reply.json()
    return body


def windows(client: Any, which: str = "") -> list[dict[str, Any]]:
    path = "/api/v2/scheduled-maintenances" + (f"/{which}" if which else "") + ".json"
    found: list[dict[str, Any]] = client.get(path).json()["scheduled_maintenances"]
    return found


def named(found: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((m for m in found if m["name"] == name), None)


def schedule(client: Any, admin: dict[str, str], **fields: Any) -> Any:
    now = datetime.now(UTC)
    body = {
        "name": "alpha upgrade",
        "components": ["alpha"],
        "starts_at": (now + timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        **fields,
    }
    return client.post("/api/v1/maintenances", json=body, headers=admin)


def test_a_scheduled_window_moves_through_statuspages_states(
    app: Any, admin: dict[str, str]
) -> None:
    created = schedule(app, admin, name="database upgrade", body="PostgreSQL 16 to 17.")
    assert created.status_code == 201 and created.json()["status"] == "scheduled"
    ident = created.json()["id"]
    upcoming = named(windows(app, "upcoming"), "database upgrade")
    assert upcoming is not None and upcoming["impact"] == "maintenance"
    assert upcoming["scheduled_for"] and upcoming["incident_updates"][0]["body"] == (
        "PostgreSQL 16 to 17."
    )
    assert named(summary(app)["scheduled_maintenances"], "database upgrade") is not None
    assert "database upgrade" in app.get("/status").text

    for state, listed in (("in_progress", "active"), ("verifying", "active")):
        moved = app.post(
            f"/api/v1/maintenances/{ident}/status", json={"status": state}, headers=admin
        )
        assert moved.status_code == 200, moved.text
        assert named(windows(app, listed), "database upgrade") is not None, state
    done = app.post(
        f"/api/v1/maintenances/{ident}/status", json={"status": "completed"}, headers=admin
    )
    assert done.status_code == 200
    final = named(windows(app), "database upgrade")
    assert final is not None and final["status"] == "completed" and final["resolved_at"]
    assert [u["status"] for u in final["incident_updates"]] == [
        "completed",
        "in_progress",
        "scheduled",
    ]
    assert named(summary(app)["scheduled_maintenances"], "database upgrade") is None
    again = app.post(
        f"/api/v1/maintenances/{ident}/status", json={"status": "in_progress"}, headers=admin
    )
    assert again.status_code == 409 and "completed" in again.json()["detail"]
    feed = app.get("/history.atom").text
    assert "Maintenance: database upgrade [completed]" in feed


def test_bad_windows_are_refused_by_name(app: Any, admin: dict[str, str]) -> None:
    now = datetime.now(UTC)
    backwards = schedule(app, admin, ends_at=(now - timedelta(hours=1)).isoformat())
    assert backwards.status_code == 400 and "ends_at" in backwards.json()["detail"]
    unknown = schedule(app, admin, components=["nope"])
    assert unknown.status_code == 400 and "unknown components ['nope']" in unknown.json()["detail"]
    naive = schedule(app, admin, starts_at="2026-01-01T10:00:00")
    assert naive.status_code == 422 and "starts_at" in naive.text
    missing = app.post(
        "/api/v1/maintenances/999999/status", json={"status": "completed"}, headers=admin
    )
    assert missing.status_code == 404
    assert app.post("/api/v1/maintenances", json={}).status_code == 401


def test_planned_work_ends_when_its_components_answer_again(
    app: Any, fakes: Any, admin: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    created = schedule(
        app,
        admin,
        name="alpha restart",
        starts_at=now.isoformat(),
        ends_at=(now + timedelta(hours=1)).isoformat(),
        until_healthy=True,
    )
    assert created.json()["status"] == "in_progress"
    fakes["alpha"].code = 503  # the work: alpha stops answering
    try:
        poll_until(
            lambda: {c["name"]: c["status"] for c in summary(app)["components"]}["alpha"],
            "alpha under maintenance",
            timeout=5,
            until=lambda s: s == "under_maintenance",
        )
        poll_until(
            lambda: named(windows(app, "active"), "alpha restart"),
            "the window to stay in progress while alpha fails",
            timeout=2,
            until=lambda m: m is not None,
        )
    finally:
        fakes["alpha"].code = 200
    done = poll_until(
        lambda: named(windows(app), "alpha restart"),
        "the planned work completed once alpha answers, long before its estimated end",
        timeout=10,
        until=lambda m: m is not None and m["status"] == "completed",
    )
    assert done["resolved_at"] < done["scheduled_until"]
    names = [i["name"] for i in summary(app)["incidents"]]
    assert not [n for n in names if n.startswith("alpha")], names


def test_the_headline_counts_open_incidents(app: Any, admin: dict[str, str]) -> None:
    def headline() -> str:
        indicator: str = summary(app)["status"]["indicator"]
        return indicator

    made = app.post(
        "/api/v1/incidents",
        json={"name": "Logins fail", "impact": "critical", "body": "Investigating."},
        headers=admin,
    )
    ident = made.json()["id"]
    assert headline() == "critical"
    assert "Major System Outage" in app.get("/status").text
    app.post(
        f"/api/v1/incidents/{ident}/updates",
        json={"status": "resolved", "body": "Fixed."},
        headers=admin,
    )
    assert headline() != "critical"


def test_components_are_grouped_and_internals_show_only_when_degraded(app: Any) -> None:
    body = poll_until(
        lambda: summary(app),
        "the grouped profile probed (stuck never answers)",
        timeout=10,
        until=lambda b: any(
            c["name"] == "stuck" and c["status"] != "operational" for c in b["components"]
        ),
    )
    by_name = {c["name"]: c for c in body["components"]}
    accounts = by_name["Accounts"]
    assert accounts["group"] is True and accounts["components"] == ["beta"]
    assert by_name["beta"]["group_id"] == accounts["id"]
    assert by_name["stuck"]["only_show_if_degraded"] is True
    assert by_name["Data"]["status"] == by_name["stuck"]["status"]  # the worst of its members
    page = app.get("/status").text
    assert 'id="group-accounts"' in page and 'id="component-stuck"' in page  # failing: a row
    assert 'id="component-alpha"' in page


def test_an_operational_internal_part_has_no_row_but_is_named(
    make_client: Callable[..., Any], grouped_targets: Path, tmp_path: Path
) -> None:
    raw = yaml.safe_load(grouped_targets.read_text())
    raw["components"]["alpha"]["page"] = {"group": "Games", "internal": True}
    del raw["components"]["stuck"]
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(raw))
    with make_client(TARGETS_FILE=str(path)) as client:
        poll_until(
            lambda: summary(client)["components"],
            "alpha probed operational",
            timeout=10,
            until=lambda cs: any(c["name"] == "alpha" and c["status"] == "operational" for c in cs),
        )
        page = client.get("/status").text
    assert 'id="component-alpha"' not in page
    assert "Also watched, shown only when not operational: alpha." in page


def test_a_bad_page_entry_names_the_key(
    make_client: Callable[..., Any], targets_file: Path, tmp_path: Path
) -> None:
    from status_service.units import TargetsError, load_units

    raw = yaml.safe_load(targets_file.read_text())
    raw["components"]["alpha"]["page"] = {"group": "", "internal": "no"}
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(TargetsError, match=r"components\.alpha\.page must be"):
        load_units(path, self_name="status")
