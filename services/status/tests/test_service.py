"""The status app in-process against a real PostgreSQL, probing fake components: outages open
and resolve incidents, replica sets, hung probes, the webhook, manual incidents, maintenance
windows, the page, the feed, badges, metrics, and history across a restart."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.polling import poll_until

pytestmark = pytest.mark.integration  # needs the real PostgreSQL of the local runtime


# the public titles of HighErrorRate's incidents (status_service/public_text.py)
ALPHA_ERRORS, BETA_ERRORS = "Alpha is failing some requests", "Beta is failing some requests"


def component(summary: dict[str, Any], name: str) -> str | None:
    return next((c["status"] for c in summary["components"] if c["name"] == name), None)


def incident_named(incidents: list[dict[str, Any]], prefix: str) -> dict[str, Any] | None:
    return next((i for i in incidents if i["name"].startswith(prefix)), None)


def summary(client: Any) -> dict[str, Any]:
    response = client.get("/api/v2/summary.json")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_steady_state_and_a_hung_probe_blocks_nothing(client: Any) -> None:
    body = poll_until(
        lambda: summary(client),
        "alpha, beta and status operational, stuck (never answers) in major outage",
        timeout=10,
        until=lambda s: (
            [component(s, n) for n in ("alpha", "beta", "status", "stuck")]
            == ["operational", "operational", "operational", "major_outage"]
        ),
        show=lambda s: str({c["name"]: c["status"] for c in s["components"]}),
    )
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    # Polling goes on at its pace although `stuck` never answers (its probe times out).
    monitor = client.app.state.monitor
    first = monitor.updated_at
    poll_until(lambda: monitor.updated_at > first, "another polling cycle", timeout=3)
    detail = monitor.observations["stuck"].detail
    assert "timed out" in detail or "hung" in detail or "no answer" in detail, detail


def test_an_outage_opens_an_incident_and_recovery_resolves_it(client: Any, fakes: Any) -> None:
    fakes["alpha"].code = 503
    try:
        poll_until(
            lambda: summary(client),
            "alpha in major outage with an open incident",
            timeout=10,
            until=lambda s: (
                component(s, "alpha") == "major_outage"
                and incident_named(s["incidents"], "alpha: major outage") is not None
            ),
        )
    finally:
        fakes["alpha"].code = 200
    poll_until(
        lambda: summary(client),
        "alpha operational and no open incident for it",
        timeout=10,
        until=lambda s: (
            component(s, "alpha") == "operational"
            and incident_named(s["incidents"], "alpha") is None
        ),
    )
    history = client.get("/api/v2/incidents.json").json()["incidents"]
    resolved = incident_named(history, "alpha: major outage")
    assert resolved is not None and resolved["status"] == "resolved" and resolved["resolved_at"]
    assert [u["status"] for u in resolved["incident_updates"]] == ["resolved", "investigating"]


def test_replica_sets_go_partial_then_major(client: Any, fakes: Any) -> None:
    fakes["beta-1"].code = 500
    try:
        poll_until(
            lambda: component(summary(client), "beta"),
            "beta partial",
            timeout=10,
            until=lambda s: s == "partial_outage",
        )
        open_one = incident_named(summary(client)["incidents"], "beta")
        assert open_one is not None and open_one["impact"] == "minor"
        fakes["beta-2"].code = 500
        poll_until(
            lambda: component(summary(client), "beta"),
            "beta major",
            timeout=10,
            until=lambda s: s == "major_outage",
        )
        poll_until(
            lambda: incident_named(summary(client)["incidents"], "beta"),
            "the beta incident to become major",
            timeout=5,
            until=lambda i: i is not None and i["impact"] == "major",
        )
    finally:
        fakes["beta-1"].code = fakes["beta-2"].code = 200
    poll_until(
        lambda: component(summary(client), "beta"),
        "beta operational",
        timeout=10,
        until=lambda s: s == "operational",
    )


def alert(status: str, fingerprint: str, job: str = "alpha") -> dict[str, Any]:
    labels = {"alertname": "HighErrorRate", "job": job, "severity": "warning"}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "status-page",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": f"{job} answers errors"},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": f"{job} answers errors"},
                "startsAt": "2026-11-28T12:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://127.0.0.1:9090/graph",
                "fingerprint": fingerprint,
            }
        ],
    }


def test_webhook_auth_and_bad_input_store_nothing(client: Any, admin: dict[str, str]) -> None:
    before = client.get("/api/v1/alerts", headers=admin).json()
    assert client.post("/api/v1/alerts", json=alert("firing", "f1")).status_code == 401
    assert client.get("/api/v1/alerts").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert (
        client.post("/api/v1/alerts", json=alert("firing", "f1"), headers=wrong).status_code == 403
    )
    bad = client.post("/api/v1/alerts", content=b'{"version": "4"}', headers=admin)
    assert bad.status_code == 400 and "groupKey: Field required" in bad.json()["detail"]
    assert client.get("/api/v1/alerts", headers=admin).json() == before
    assert incident_named(summary(client)["incidents"], ALPHA_ERRORS) is None


def test_webhook_dedupes_by_fingerprint_and_resolves(client: Any, admin: dict[str, str]) -> None:
    for _ in range(2):
        response = client.post("/api/v1/alerts", json=alert("firing", "dedupe1"), headers=admin)
        assert response.status_code == 200, response.text
    opened = [i for i in summary(client)["incidents"] if i["name"] == ALPHA_ERRORS]
    assert len(opened) == 1, f"expected one incident for one fingerprint, got {opened}"
    assert opened[0]["impact"] == "minor" and opened[0]["components"][0]["id"] == "alpha"
    client.post("/api/v1/alerts", json=alert("resolved", "dedupe1"), headers=admin)
    assert incident_named(summary(client)["incidents"], ALPHA_ERRORS) is None
    received = client.get("/api/v1/alerts", headers=admin).json()
    assert [r["status"] for r in received[:3]] == ["resolved", "firing", "firing"]
    assert {"received_at", "status", "receiver", "groupKey", "alerts"} <= set(received[0])
    assert received[0]["alerts"][0]["fingerprint"] == "dedupe1"


def test_manual_incident_keeps_a_timeline(client: Any, admin: dict[str, str]) -> None:
    new = {"name": "Slow logins", "impact": "minor", "body": "Looking into it."}
    assert client.post("/api/v1/incidents", json=new).status_code == 401
    created = client.post("/api/v1/incidents", json=new, headers=admin)
    assert created.status_code == 201, created.text
    url = f"/api/v1/incidents/{created.json()['id']}/updates"
    for status in ("identified", "monitoring", "resolved"):
        update = {"status": status, "body": f"now {status}"}
        assert client.post(url, json=update, headers=admin).status_code == 201
    bad = client.post(url, json={"status": "done", "body": "x"}, headers=admin)
    assert bad.status_code == 422
    assert (
        client.post("/api/v1/incidents/999999/updates", json=update, headers=admin).status_code
        == 404
    )
    found = incident_named(client.get("/api/v2/incidents.json").json()["incidents"], "Slow logins")
    assert found is not None and found["monitoring_at"] and found["resolved_at"]
    assert [u["status"] for u in found["incident_updates"]] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]


def test_maintenance_suppresses_automatic_incidents(
    client: Any, fakes: Any, admin: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    window = {
        "name": "alpha upgrade",
        "components": ["alpha"],
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(seconds=4)).isoformat(),
    }
    bad = dict(window, components=["nope"])
    assert (
        "unknown components ['nope']"
        in client.post("/api/v1/maintenances", json=bad, headers=admin).json()["detail"]
    )
    assert client.post("/api/v1/maintenances", json=window, headers=admin).status_code == 201
    fakes["alpha"].code = 503
    try:
        poll_until(
            lambda: component(summary(client), "alpha"),
            "alpha under maintenance",
            timeout=5,
            until=lambda s: s == "under_maintenance",
        )
        client.post("/api/v1/alerts", json=alert("firing", "during-maint"), headers=admin)
        time.sleep(1.0)  # several cycles with alpha failing, inside the window
        names = [i["name"] for i in summary(client)["incidents"]]
        assert not [n for n in names if n.startswith("alpha")], names
    finally:
        fakes["alpha"].code = 200
    poll_until(
        lambda: component(summary(client), "alpha"),
        "alpha operational after it",
        timeout=10,
        until=lambda s: s == "operational",
    )


def test_page_feed_badge_metrics(client: Any, admin: dict[str, str]) -> None:
    page = client.get("/status")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for text in (
        "Partial System Outage",
        "alpha",
        "Operational",
        "Major outage",
        "Incident history",
        "Slow logins",
        'aria-label="Daily uptime of alpha',
    ):
        assert text in html, f"{text!r} not on the page"
    assert html.count('<li class="') >= 90 * 4
    # The same page at the root. Probe latencies move between two requests (the probes keep
    # running), so they are left out of the comparison.
    latency = re.compile(r"response \d+ ms")
    assert latency.sub("", client.get("/").text) == latency.sub("", html)
    feed = ET.fromstring(client.get("/history.atom").content)
    titles = [
        e.findtext("{http://www.w3.org/2005/Atom}title")
        for e in feed.iter("{http://www.w3.org/2005/Atom}entry")
    ]
    assert any(t and t.startswith("Slow logins") for t in titles), titles
    badge = client.get("/badge/alpha.svg")
    assert badge.headers["content-type"] == "image/svg+xml" and "alpha: operational" in badge.text
    assert client.get("/badge/nope.svg").status_code == 404
    for path in ("status.json", "components.json", "incidents/unresolved.json"):
        assert client.get(f"/api/v2/{path}").status_code == 200, path
    metrics = client.get("/metrics", headers=admin).text
    for series in (
        'status_component_status{component="stuck"} 4.0',
        "status_open_incidents",
        'status_probe_duration_seconds_count{component="alpha"}',
    ):
        assert series in metrics, series


def test_history_and_states_survive_a_restart(make_client: Callable[..., Any]) -> None:
    # The first instance keeps running: a second one on the same database starts from it.
    with make_client() as second:
        history = second.get("/api/v2/incidents.json").json()["incidents"]
        assert incident_named(history, "Slow logins") is not None
        restored = second.app.state.monitor.trackers
        assert restored["stuck"].state == "down" and restored["alpha"].state == "up"
        assert json.loads(second.get("/health").text)["status"] == "pass"


def test_alert_incidents_follow_what_alertmanager_holds(
    make_client: Callable[..., Any],
    environ: dict[str, str],
    admin: dict[str, str],
    fake_alertmanager: Any,
    tmp_path: Path,
) -> None:
    """An incident whose resolved notification never came is resolved once Alertmanager no
    longer holds its alert; while Alertmanager does not answer nothing is resolved and the page
    says its alert data is stale; the alert back reopens the same incident."""
    profile = yaml.safe_load(Path(environ["TARGETS_FILE"]).read_text())
    profile["components"]["alertmanager"] = {
        "role": "alert routing",
        "urls": {"main": fake_alertmanager.url},
        "probe": {"kind": "http", "url": f"{fake_alertmanager.url}/-/ready"},
    }
    targets = tmp_path / "target.yaml"
    targets.write_text(yaml.safe_dump(profile))
    held = [{"fingerprint": "recon1", "endsAt": "2999-01-01T00:00:00Z"}]
    fake_alertmanager.body = held
    with make_client(TARGETS_FILE=str(targets)) as client:
        monitor = client.app.state.monitor
        poll_until(lambda: monitor.alert_source, "the profile read", timeout=5)
        client.post("/api/v1/alerts", json=alert("firing", "recon1", job="beta"), headers=admin)
        opened = incident_named(summary(client)["incidents"], BETA_ERRORS)
        assert opened is not None
        first = monitor.version
        poll_until(lambda: monitor.version, "three polling cycles", timeout=5,
                   until=lambda v: v >= first + 3)  # fmt: skip
        still = incident_named(summary(client)["incidents"], BETA_ERRORS)
        assert still is not None and still["id"] == opened["id"], "resolved while still held"

        fake_alertmanager.code, fake_alertmanager.body = 503, []  # down, and the alert gone
        poll_until(lambda: client.get("/status").text, "the page to say alert data is stale",
                   timeout=5, until=lambda page: "Alert data is stale" in page)  # fmt: skip
        assert incident_named(summary(client)["incidents"], BETA_ERRORS) is not None

        fake_alertmanager.code = 200  # back, without the alert
        poll_until(
            lambda: incident_named(summary(client)["incidents"], BETA_ERRORS),
            "the incident resolved once Alertmanager answers without its alert",
            timeout=5,
            until=lambda found: found is None,
        )
        history = client.get("/api/v2/incidents.json").json()["incidents"]
        closed = next(i for i in history if i["id"] == opened["id"])
        assert "no longer active" in closed["incident_updates"][0]["body"]
        assert "Alert data is stale" not in client.get("/status").text

        fake_alertmanager.body = held  # Prometheus sent it again (Alertmanager had restarted)
        back = poll_until(
            lambda: incident_named(summary(client)["incidents"], BETA_ERRORS),
            "the same incident reopened",
            timeout=5,
            until=lambda found: found is not None,
        )
        assert back["id"] == opened["id"], "the alert's return must reopen its incident"
        assert "active again" in back["incident_updates"][0]["body"]
