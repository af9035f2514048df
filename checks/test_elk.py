"""ELK log management (the course's module 1). The checks send their own marked events through every
source (a request through the gateway, an injected error, the gateway's access log, syslog
over TCP and UDP), find them in the store by text, field and time, run the logs dashboard's
panel queries, age an index past the retention policy and watch it archived and deleted, and
try the store as anonymous, reader and shipper.

Run one: `pytest checks -k elk-retention-works`. Waits come from the target profile:
`timeouts.log_arrival` (5 s from send to searchable, the pipeline's promise) and
`timeouts.retention`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from grader import browser, faults, journeys, logs
from grader.errors import CheckFailed, GraderError
from grader.kibana_api import KibanaAPI, has_data, rows, vega_searches
from grader.polling import poll_until
from grader.target import Target, dashboards_ui

SYSLOG_APP = "graderprobe"


@dataclass
class Event:
    """A marked event sent through one source, and where and how it must show up."""

    source: str
    marker: str
    dataset: str
    sent_at: datetime
    field_query: dict[str, Any]  # a field of the event, as the checks search for it
    expect_error_tag: bool = False
    found: dict[str, Any] = field(default_factory=dict)
    seconds_to_searchable: float | None = None


@pytest.fixture(scope="module")
def admin(target: Target) -> Iterator[logs.LogStore]:
    with logs.store(target) as store:
        yield store


@pytest.fixture(scope="module")
def gateway(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def events(target: Target, gateway: httpx.Client) -> list[Event]:
    """One marked event per source, all sent now."""
    setup = target.logging
    datasets = setup.datasets
    sent: list[Event] = []

    # An app log line: the service logs every request it serves, with the request id.
    app = logs.new_marker("app")
    status = gateway.get(f"/api/{setup.app_service}/{app}", headers={"X-Request-ID": app})
    sent.append(
        Event(
            "app log (a request through the gateway)",
            app,
            datasets["app"],
            logs_now(),
            {"term": {"service.name": setup.app_service}},
        )
    )
    # The same request's line in the gateway's access log.
    sent.append(
        Event(
            "access log (the gateway's line for that request)",
            app,
            datasets["access"],
            logs_now(),
            {"term": {"http.response.status_code": status.status_code}},
        )
    )

    # An error: one request failed on purpose through the service's fault flags.
    error = logs.new_marker("error")
    faults.fail_one_request(target, gateway, headers={"X-Request-ID": error})
    sent.append(
        Event(
            f"error ({setup.error_service}, an injected fault)",
            error,
            datasets["app"],
            logs_now(),
            {"term": {"log.level": "error"}},
            expect_error_tag=True,
        )
    )

    # System logs: syslog lines, RFC 5424 over TCP and RFC 3164 over UDP (as `logger` sends).
    address = logs.syslog_address(target)
    tcp = logs.new_marker("syslogtcp")
    logs.send_syslog_tcp(address, logs.rfc5424(SYSLOG_APP, f"check {tcp}"), target.timeouts.probe)
    sent.append(
        Event(
            "system log (syslog RFC 5424 over TCP)",
            tcp,
            datasets["system"],
            logs_now(),
            {"term": {"service.name": SYSLOG_APP}},
        )
    )
    udp = logs.new_marker("syslogudp")
    logs.send_syslog_udp(address, logs.rfc3164(SYSLOG_APP, f"check {udp}", severity=3))
    sent.append(
        Event(
            "system log (syslog RFC 3164 over UDP, severity err)",
            udp,
            datasets["system"],
            logs_now(),
            {"term": {"log.level": "error"}},
            expect_error_tag=True,
        )
    )
    return sent


def logs_now() -> datetime:
    return datetime.now(UTC)


def full_text(marker: str) -> dict[str, Any]:
    return {"query_string": {"query": marker}}


@pytest.fixture(scope="module")
def arrived(target: Target, admin: logs.LogStore, events: list[Event]) -> list[Event]:
    """Each event found in its own dataset (by its marker), with the time it took."""
    wait = target.timeouts.get("log_arrival")
    for event in events:
        remaining = wait - (logs_now() - event.sent_at).total_seconds()
        docs = poll_until(
            lambda e=event: admin.documents(e.dataset, full_text(e.marker)),  # type: ignore[misc]
            f"the {event.source} marked {event.marker} in {event.dataset} "
            f"(within {wait:g} s of sending it)",
            timeout=max(remaining, 0.1),
            interval=0.2,
            show=lambda found: f"{len(found)} documents",
        )
        event.found = docs[0]
        event.seconds_to_searchable = (logs_now() - event.sent_at).total_seconds()
    return events


@pytest.mark.checklist("elk-logs-collected")
def test_every_source_arrives_in_its_dataset(
    arrived: list[Event], request: pytest.FixtureRequest
) -> None:
    """App, error, access and system (TCP and UDP syslog) events each reach their own dataset
    within `log_arrival` seconds."""
    for event in arrived:
        index = str(event.found["_index"])
        # The dataset's pattern (e.g. logs-app-*) names the index family it must land in.
        if not re.fullmatch(event.dataset.replace("*", ".*"), index):
            raise CheckFailed(f"the {event.source} landed in {index}, expected {event.dataset}")
    for event in arrived:
        # On the test's report (pytest's user_properties): how fresh the logs are.
        request.node.user_properties.append((event.marker, event.seconds_to_searchable))


@pytest.mark.checklist("elk-logs-searchable")
def test_events_are_found_by_text_field_and_time(
    admin: logs.LogStore, arrived: list[Event]
) -> None:
    """Each marker is found by full text across every log index, by a field of its event and
    by its time range (and not in a range before it was sent); errors carry the `error` tag."""
    problems = []
    for event in arrived:
        marker = full_text(event.marker)
        if admin.count("logs-*", marker) < 1:
            problems.append(f"{event.source}: full-text search for {event.marker} found nothing")
        by_field = {"bool": {"filter": [marker, event.field_query]}}
        if admin.count(event.dataset, by_field) < 1:
            problems.append(f"{event.source}: not found by {event.field_query}")
        around = _time_range(event.sent_at - timedelta(minutes=1), logs_now())
        if admin.count(event.dataset, {"bool": {"filter": [marker, around]}}) < 1:
            problems.append(f"{event.source}: not found in the minute around its sending")
        before = _time_range(event.sent_at - timedelta(hours=2), event.sent_at - timedelta(hours=1))
        if admin.count(event.dataset, {"bool": {"filter": [marker, before]}}) != 0:
            problems.append(f"{event.source}: found in a time range before it was sent")
        tags = event.found.get("tags") or []
        if event.expect_error_tag and "error" not in tags:
            problems.append(f"{event.source}: expected the `error` tag, its tags are {tags}")
    if problems:
        raise CheckFailed("; ".join(problems))


def _time_range(start: datetime, end: datetime) -> dict[str, Any]:
    iso = "%Y-%m-%dT%H:%M:%S.%fZ"
    return {"range": {"@timestamp": {"gte": start.strftime(iso), "lte": end.strftime(iso)}}}


@pytest.fixture(scope="module")
def kibana(target: Target) -> Iterator[KibanaAPI]:
    """The target's Kibana API (`logging.ui`), logged in as its viewer."""
    ui = dashboards_ui(target, "kibana")
    with KibanaAPI(ui, timeout=target.timeouts.default) as api:
        yield api


def _saved_dashboards(target: Target, kibana: KibanaAPI) -> list[dict[str, Any]]:
    """The dashboards the profile names in `ui_saved_objects`, else every saved dashboard."""
    for saved in target.logging.ui_saved_objects:
        try:
            kibana.get(f"/api/saved_objects/{saved}")
        except GraderError as exc:
            raise CheckFailed(f"cannot read saved object {saved}: {exc}") from None
    named = {
        ident
        for kind, _, ident in (s.partition("/") for s in target.logging.ui_saved_objects)
        if kind == "dashboard"
    }
    found = [d for d in kibana.dashboards() if not named or d.get("id") in named]
    if not found:
        raise CheckFailed(f"{kibana.ui.component} has no saved dashboard (its _find lists none)")
    return found


@pytest.mark.checklist("elk-dashboards-display-data")
def test_every_logs_panel_shows_data(
    target: Target, kibana: KibanaAPI, gateway: httpx.Client, arrived: list[Event]
) -> None:
    """Every Vega panel of every saved log dashboard of the target's Kibana, its search rebuilt
    as Kibana builds it for the last 15 minutes and run as the log store's read-only user,
    finds documents. (Panels of other visualization types are judged by the browser check.)"""
    journeys.register(gateway, "logs")  # a sign-up and a login: the user-activity panel
    panels = [p for d in _saved_dashboards(target, kibana) for p in kibana.panels(d)]
    vega = [p for p in panels if p.spec is not None]
    if not vega:
        kinds = sorted({p.vis_type for p in panels}) or ["no panels at all"]
        raise CheckFailed(f"the saved dashboards have no Vega panels to query ({kinds})")

    def empty() -> list[str]:
        until = int(logs_now().timestamp() * 1000)
        missing = []
        with logs.store(target, "viewer") as reader:
            for panel in vega:
                assert panel.spec is not None
                for search in vega_searches(panel.spec, since_ms=until - 900_000, until_ms=until):
                    try:
                        answer = reader.search(search.index, search.body)
                    except GraderError as exc:
                        missing.append(f"{panel.where()}: its search failed: {exc}")
                        continue
                    if not any(has_data(row) for row in rows(answer, search.rows_at)):
                        missing.append(f"{panel.where()}: no documents in {search.index}")
        return missing

    poll_until(
        empty,
        "every saved log panel to find documents in the last 15 minutes",
        timeout=target.timeouts.get("log_arrival") * 2,
        interval=0.5,
        until=lambda missing: not missing,
        show=lambda missing: "; ".join(missing),
    )


@pytest.mark.checklist("elk-dashboards-display-data")
def test_log_dashboards_draw_data_in_a_browser(
    target: Target, kibana: KibanaAPI, arrived: list[Event]
) -> None:
    """Headless chromium logs in to the target's Kibana as its viewer and opens every saved
    log dashboard: each panel has drawn data (not "No results found", not an error)."""
    found = browser.dashboard_problems(
        "kibana",
        kibana.ui,
        [str(d["id"]) for d in _saved_dashboards(target, kibana)],
        since="now-15m",
    )
    if found:
        raise CheckFailed("expected every panel drawn with data: " + "; ".join(found))


@pytest.mark.checklist("elk-retention-works")
def test_an_index_past_retention_is_archived_then_deleted(
    target: Target, admin: logs.LogStore
) -> None:
    """An index older than the policy's hot period is snapshotted into the archive (restorable,
    same document count), then deleted; a young index beside it is left alone."""
    prefix = target.logging.retention_index_prefix
    marker = logs.new_marker("retention")
    policy = logs.retention_policy(admin, f"{prefix}{marker}")
    old, young = f"{prefix}retention-old-{marker}", f"{prefix}retention-young-{marker}"
    aged = logs_now() - policy.hot - timedelta(days=1)
    try:
        logs.create_index(admin, old, documents=25, at=aged)
        logs.create_index(admin, young, documents=5, at=logs_now())
        wait = target.timeouts.get("retention")
        poll_until(
            lambda: logs.lifecycle_step(admin, old),
            f"ILM to move {old} (originated {aged:%Y-%m-%d}) to its delete phase and wait "
            f"for a snapshot of {policy.snapshot_policy}",
            timeout=wait,
            interval=1,
            until=lambda step: step.get("action") == "wait_for_snapshot"
            or step.get("phase") == "delete",
            show=lambda step: str(step),
        )
        snapshot = logs.run_snapshot_policy(admin, policy.snapshot_policy, old, timeout=wait)
        poll_until(
            lambda: admin.request("GET", f"/{old}").status_code,
            f"{old} to be deleted from the store after snapshot {snapshot.name}",
            timeout=wait,
            interval=1,
            until=lambda status: status == 404,
            show=lambda status: f"GET /{old} answered {status}",
        )
        restored = logs.restore_and_count(admin, snapshot, old)
        if restored != 25:
            raise CheckFailed(f"{old} restored from {snapshot.name} holds {restored} docs, not 25")
        step = logs.lifecycle_step(admin, young)
        if admin.count(young) != 5 or step.get("phase") != "hot":
            raise CheckFailed(f"the young index {young} was touched: {step}")
    finally:
        for index in (old, young, f"restored-{old}"):
            admin.request("DELETE", f"/{index}")


@pytest.mark.checklist("elk-access-secured")
def test_store_refuses_anonymous_and_limits_each_user(target: Target) -> None:
    """Anonymous and wrong logins get 401 on the store (and on Kibana or the console); the
    reader reads but cannot write (403); the shipper writes but cannot delete (403)."""
    problems = []
    index = f"{target.logging.retention_index_prefix}secured-{logs.new_marker('secured')}"
    with (
        logs.store(target, "anonymous") as anonymous,
        logs.store(target, "viewer") as reader,
        logs.store(target, "writer") as shipper,
        logs.store(target) as admin,
    ):
        expected = [
            (anonymous, "GET", "/", None, 401),
            (anonymous, "POST", "/logs-*/_search", {"size": 1}, 401),
            (reader, "POST", "/logs-*/_search", {"size": 1}, 200),
            (reader, "POST", f"/{index}/_doc", {"message": "reader"}, 403),
            (shipper, "PUT", f"/{index}/_create/one", {"message": "shipper"}, 201),
            (shipper, "DELETE", f"/{index}", None, 403),
            (reader, "DELETE", f"/{index}", None, 403),
        ]
        try:
            for who, method, path, body, status in expected:
                got = who.request(method, path, body).status_code
                if got != status:
                    problems.append(f"{method} {path} as {who.who}: expected {status}, got {got}")
        finally:
            admin.request("DELETE", f"/{index}")
    url = target.url(target.logging.store, "main")
    wrong = httpx.get(url, auth=("elastic", "not-the-password"), timeout=target.timeouts.probe)
    if wrong.status_code != 401:
        problems.append(f"GET / with a wrong password: expected 401, got {wrong.status_code}")
    if target.logging.ui is not None:
        ui_url = target.url(target.logging.ui, target.logging.ui_url)
        answer = httpx.get(f"{ui_url}/api/saved_objects/_find?type=dashboard", timeout=10)
        if answer.status_code != 401:
            ui = target.logging.ui
            problems.append(f"{ui} anonymous: expected 401, got {answer.status_code}")
    if problems:
        raise CheckFailed("; ".join(problems))
