"""Prometheus/Grafana (the course's module 2): metrics collected, dashboards live, alerts that fire
and resolve for real faults, notifications that arrive, access that is secured.

The drills are real: the `error-spike` load shape turns on the error fault flag of one
service while Locust sends traffic through the gateway, and another service is stopped. The
grader then watches Prometheus' alerts, the mail catcher's inbox and the webhook receiver.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest

from grader import browser, faults, journeys
from grader.dashboard_queries import problems, run_dashboards
from grader.errors import CheckFailed
from grader.evidence import EvidenceLog
from grader.grafana_api import GrafanaAPI, GrafanaPrometheus, log_panel_problems
from grader.loadgen import run_shape
from grader.metric_movement import (
    Expectation,
    Movement,
    read_all,
    red_selector,
    wait_for_movement,
)
from grader.monitoring import Prometheus, alert_names, matches, now_to_the_second
from grader.notifications import Notifications
from grader.polling import poll_until
from grader.session import target_of
from grader.target import Target, Timeouts, basic_auth_header, dashboards_ui


@pytest.fixture(scope="module")
def prometheus(target: Target) -> Iterator[Prometheus]:
    prom = Prometheus.of(target)
    yield prom
    prom.close()


# What the grader's traffic is called in the report, by business action.
_DONE = {
    "sign-up": "sign-ups",
    "login": "logins",
    "game-created": "games created",
    "game-finished": "games finished",
    "first-game-finished": "first games finished by new players",
    "profile-view": "profile views",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One check per business metric and one per monitored service (`monitoring.services`,
    which may differ from the target's `services` that `service` runs over), so that
    `pytest checks -k games` selects the games lines."""
    target = target_of(metafunc.config)
    if "business_metric" in metafunc.fixturenames:
        names = list(target.monitoring.business_metrics)
        metafunc.parametrize("business_metric", names, ids=names)
    if "monitored_service" in metafunc.fixturenames:
        services = target.monitored_services()
        metafunc.parametrize("monitored_service", services, ids=services)


@dataclass(frozen=True)
class Traffic:
    """The grader's use of the product and how far each watched metric moved with it."""

    used: journeys.ProductUse
    movements: dict[str, Movement]
    interval: float
    used_at: float


def _red_queries(target: Target, service: str) -> list[tuple[str, str]]:
    """(name, query) of a service's request counter and duration histogram (summed over their
    series by the reading)."""
    mon = target.monitoring
    return [
        (f"{metric} of {service}", red_selector(metric, service))
        for metric in (mon.requests_metric, mon.duration_metric)
    ]


@pytest.fixture(scope="module")
def traffic(target: Target, prometheus: Prometheus, timeouts: Timeouts) -> Traffic:
    """Read every business metric and every service's RED metrics, use the product through the
    gateway (sign-ups, logins, games, a profile view, the status page), then read them again
    until each has moved by what the grader did (or ten scrape intervals have passed)."""
    mon, services = target.monitoring, target.monitored_services()
    interval = prometheus.scrape_interval()
    queries = list(mon.business_metrics)
    queries += [query for service in services for _, query in _red_queries(target, service)]
    before = read_all(prometheus.series, queries)
    declared = target.microservices.requests
    used = journeys.use_the_product(
        target.url("gateway", "main"),
        reach={s: declared[s] for s in services if s in declared},
        timeout=timeouts.get("event"),
    )
    used_at = time.time()
    expectations = []
    for selector, metric in mon.business_metrics.items():
        done = used.actions[metric.moved_by]
        because = f"the grader's {_DONE[metric.moved_by]} through the gateway ({done})"
        expectations.append(Expectation(selector, selector, metric.kind, float(done), because))
    for service in services:
        sent = used.requests[service]
        because = f"the grader's requests to {service} through the gateway ({sent})"
        for name, query in _red_queries(target, service):
            expectations.append(Expectation(name, query, "counter", float(sent), because))
    movements = wait_for_movement(
        prometheus.series, expectations, before, timeout=10 * interval, interval=min(1.0, interval)
    )
    return Traffic(used, {m.expectation.name: m for m in movements}, interval, used_at)


@pytest.fixture(scope="module")
def fresh_scrapes(prometheus: Prometheus, traffic: Traffic) -> float:
    """The scrape interval, once every target has been scraped twice since the grader's
    traffic (a rate needs two samples)."""

    def oldest_scrape() -> float:
        series, _ = prometheus.instant("min(timestamp(up))")
        return float(series[0]["value"][1]) if series else 0.0

    poll_until(
        oldest_scrape,
        "every target to be scraped twice after the traffic",
        timeout=10 * traffic.interval,
        until=lambda at: at > traffic.used_at + traffic.interval,
    )
    return traffic.interval


def _moved(traffic: Traffic, name: str) -> Movement:
    movement = traffic.movements.get(name)
    if movement is None:
        raise CheckFailed(f"{name}: Prometheus never answered its query after the traffic")
    return movement


@pytest.mark.checklist("mon-metrics-collected")
def test_every_prometheus_target_is_up(
    prometheus: Prometheus, timeouts: Timeouts, evidence: EvidenceLog
) -> None:
    def down() -> list[str]:
        return [
            f"{t['labels'].get('job')} {t['scrapeUrl']}: {t['lastError'] or t['health']}"
            for t in prometheus.targets()
            if t["health"] != "up"
        ]

    poll_until(down, "every Prometheus target to be up", timeouts.healthy, until=lambda d: not d)
    jobs = sorted({str(t["labels"].get("job")) for t in prometheus.targets()})
    evidence.add("Prometheus jobs, every target up", jobs)


@pytest.mark.checklist("mon-metrics-collected")
def test_business_metric_moves_by_what_the_grader_did(
    business_metric: str, traffic: Traffic, evidence: EvidenceLog
) -> None:
    movement = _moved(traffic, business_metric)
    evidence.add(f"{business_metric} before and after", movement.evidence())
    problem = movement.problem()
    assert problem is None, problem


@pytest.mark.checklist("mon-metrics-collected")
def test_red_metrics_move_with_the_requests_a_service_was_sent(
    monitored_service: str, target: Target, traffic: Traffic, evidence: EvidenceLog
) -> None:
    if not traffic.used.requests[monitored_service]:
        raise CheckFailed(
            f"the grader sent {monitored_service} no request through the gateway: its journey "
            f"reaches no /api/{monitored_service}/ path, and the target profile gives no "
            f"request for {monitored_service} under microservices.requests"
        )
    problems_found = []
    for name, _ in _red_queries(target, monitored_service):
        movement = _moved(traffic, name)
        evidence.add(f"{name} before and after", movement.evidence())
        if (problem := movement.problem()) is not None:
            problems_found.append(problem)
    assert not problems_found, "\n".join(problems_found)


@pytest.fixture(scope="module")
def grafana(target: Target) -> Iterator[GrafanaAPI]:
    """The target's Grafana API (`monitoring.dashboards`), logged in as its viewer, once a
    request has failed on purpose: the log panels (errors, top error messages) then have an
    error of the last minutes to show, whatever ran before."""
    ui = dashboards_ui(target, "grafana")
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=10) as gateway:
        faults.fail_one_request(target, gateway)
    with GrafanaAPI(ui, timeout=target.timeouts.default) as api:
        yield api


@pytest.mark.checklist("mon-dashboards-realtime")
def test_every_dashboard_panel_returns_fresh_samples(
    target: Target, grafana: GrafanaAPI, fresh_scrapes: float
) -> None:
    """Every panel query of every dashboard the target's Grafana serves, for every value of its
    variables, through Grafana's `/api/ds/query` as its frontend sends it: each returns data
    whose newest input sample is at most two scrape intervals old; the log panels (on the
    Elasticsearch datasource) return log counts for the last 15 minutes."""
    dashboards = grafana.dashboards()
    assert dashboards, f"expected dashboards in {grafana.ui.component}, its /api/search lists none"
    through = GrafanaPrometheus(
        grafana,
        datasource_uid=grafana.datasource_uid("prometheus"),
        interval_ms=int(fresh_scrapes * 1000),
    )
    results = run_dashboards(through, dashboards, scrape_interval_s=fresh_scrapes)
    found = problems(results, max_age_s=2 * fresh_scrapes)
    assert results, "expected Prometheus panel queries in the dashboards, found none"
    assert not found, (
        f"expected every panel query of {len(dashboards)} dashboards in "
        f"{grafana.ui.component} to return data (Prometheus samples newer than two scrape "
        f"intervals, {2 * fresh_scrapes:g} s); {len(found)} did not:\n" + "\n".join(found)
    )
    poll_until(  # the failed request's log lines arrive within log_arrival
        lambda: log_panel_problems(grafana, dashboards),
        "every log panel query to find documents in the last 15 minutes",
        timeout=target.timeouts.get("log_arrival") * 2,
        interval=0.5,
        until=lambda missing: not missing,
        show=lambda missing: "\n".join(missing),
    )


@pytest.mark.checklist("mon-dashboards-realtime")
def test_dashboards_draw_data_in_a_browser(target: Target, grafana: GrafanaAPI) -> None:
    """Headless chromium logs in to the target's Grafana as its viewer and opens every
    dashboard: each panel on the page has drawn data (not "No data", not an error)."""
    # Patience: a log panel may wait for the fixture's failed request to arrive.
    found = browser.dashboard_problems(
        "grafana",
        grafana.ui,
        [d.uid for d in grafana.dashboards()],
        since="now-15m",
        patience_s=target.timeouts.get("log_arrival") * 2,
    )
    assert not found, "expected every panel drawn with data:\n" + "\n".join(found)


@dataclass
class DrillRecord:
    """What the drills saw: failures per step, so each check reports its own part, and what
    each step that passed observed (the notifications it found), as evidence."""

    channels: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    seen: dict[str, object] = field(default_factory=dict)

    def step(self, name: str, fn: Callable[[], object]) -> None:
        try:
            self.seen[name] = fn()
        except (CheckFailed, AssertionError) as exc:
            self.failures[name] = str(exc)
        except Exception as exc:  # a drill that crashes fails its step, with the reason
            self.failures[name] = f"{type(exc).__name__}: {exc}"

    def require(self, *steps: str) -> None:
        failed = [f"{s}: {self.failures[s]}" for s in steps if s in self.failures]
        assert not failed, "\n".join(failed)


@pytest.fixture(scope="module")
def drills(
    target: Target, prometheus: Prometheus, control: Any, timeouts: Timeouts
) -> Iterator[DrillRecord]:
    """At steady state only the watchdog fires. Then, at once: an error spike on one service
    (Locust, `error-spike`) and another service killed and held down until its alert has been
    notified. Both alerts must fire, be notified, and resolve once the fault is gone. Last,
    the other services (`monitoring.also_down`) are killed at once: each must raise the down
    alert too."""
    mon = target.monitoring
    alert_timeout = timeouts.get("alert")
    # Made before the fault: it remembers what the webhook receiver had received already.
    notifications = Notifications(target, timeouts.get("notification"))
    record = DrillRecord(channels=list(notifications.channels))

    def steady() -> None:
        # The drill's own alerts must be silent (else their firing proves nothing) and the
        # watchdog must fire (the pipeline works). Other alerts may fire on a busy machine
        # (HostHighCpu): they are kept as evidence, not held against the stack.
        drilled = ((mon.down_alert, mon.down_service), (mon.error_alert, mon.error_service))

        def quiet(alerts: list[dict[str, str]]) -> bool:
            watchdog = any(matches(a, mon.watchdog_alert) for a in alerts)
            return watchdog and not any(matches(a, n, s) for a in alerts for n, s in drilled)

        alerts = poll_until(
            prometheus.firing,
            f"{mon.watchdog_alert} to fire and {mon.down_alert} ({mon.down_service}) and "
            f"{mon.error_alert} ({mon.error_service}) to be silent at steady state",
            alert_timeout,
            interval=2,
            until=quiet,
            show=alert_names,
        )
        record.seen["alerts firing at steady state"] = alert_names(alerts)

    def fires(alertname: str, service: str) -> None:
        prometheus.wait_firing(alertname, service, alert_timeout)

    def resolves(alertname: str, service: str) -> None:
        prometheus.wait_firing(alertname, service, alert_timeout, firing=False)

    record.step("steady", steady)
    load_error: list[str] = []

    def load() -> None:
        try:
            run_shape(target, "error-spike", duration=mon.error_spike_seconds)
        except Exception as exc:
            load_error.append(f"{type(exc).__name__}: {exc}")

    spike = threading.Thread(target=load, name="error-spike", daemon=True)
    spike.start()
    down = [n for n, c in target.components.items() if mon.down_service in (n, c.replica_of)]
    try:
        killed_at = now_to_the_second()
        for unit in down:
            control.kill(unit, hold=True)  # SIGKILL, and no automatic restart
        record.step("down fires", lambda: fires(mon.down_alert, mon.down_service))
        # Held down until notified on every channel: an alert that resolves within group_wait
        # is never sent. An alert that never fired cannot be notified: not waited for.
        for channel in notifications.channels:
            firing = partial(notifications.wait, channel, killed_at, "firing")
            record.step(f"firing {channel}", _unless_unfired(record, mon.down_alert, firing))
    finally:
        restarted_at = now_to_the_second()
        for unit in down:
            control.start(unit)
    record.seen["fault"] = {"killed": killed_at.isoformat(), "restarted": restarted_at.isoformat()}
    record.step("down resolves", lambda: resolves(mon.down_alert, mon.down_service))
    for channel in notifications.channels:
        resolved = partial(notifications.wait, channel, restarted_at, "resolved")
        record.step(f"resolved {channel}", _unless_unfired(record, mon.down_alert, resolved))
    record.step("errors fire", lambda: fires(mon.error_alert, mon.error_service))
    spike.join(mon.error_spike_seconds + 120)
    if load_error:
        record.failures["load"] = f"the error-spike load failed: {load_error[0]}"
    record.step("errors resolve", lambda: resolves(mon.error_alert, mon.error_service))
    others = target.also_down()
    if others:
        _others_down(others, target, control, record, prometheus, alert_timeout)
    yield record
    notifications.close()


def _unless_unfired(
    record: DrillRecord, alertname: str, wait: Callable[[], object]
) -> Callable[[], object]:
    """`wait`, or, when the down alert never fired, a failure at once (a notification of an
    alert that never fired cannot come: waiting for it only makes a failing run longer)."""

    def step() -> object:
        if "down fires" in record.failures:
            raise CheckFailed(f"not waited for: {alertname} never fired")
        return wait()

    return step


def _others_down(
    others: list[str],
    target: Target,
    control: Any,
    record: DrillRecord,
    prometheus: Prometheus,
    timeout: float,
) -> None:
    """The other services killed at once, after the drills (no load runs then, so nothing
    else is disturbed): the down alert must fire for each, then resolve, within one wait."""
    alert = target.monitoring.down_alert
    units = [u for service in others for u in target.units(service)]
    try:
        for unit in units:
            control.kill(unit, hold=True)
        record.step("others down fire", partial(prometheus.wait_firing, alert, others, timeout))
    finally:
        for unit in units:
            control.start(unit)
    resolved = partial(prometheus.wait_firing, alert, others, timeout, firing=False)
    record.step("others down resolve", resolved)
    record.seen["also killed"] = others


@pytest.mark.checklist("mon-alerts-trigger")
def test_alerts_fire_for_real_faults_and_resolve(
    drills: DrillRecord, evidence: EvidenceLog, target: Target
) -> None:
    if "alerts firing at steady state" in drills.seen:
        evidence.add("alerts firing at steady state", drills.seen["alerts firing at steady state"])
    others = ("others down fire", "others down resolve") if target.also_down() else ()
    drills.require(
        "steady", "load", "down fires", "down resolves", "errors fire", "errors resolve", *others
    )


@pytest.mark.checklist("mon-notifications-sent")
def test_every_declared_channel_carries_the_firing_and_the_resolution(
    target: Target, drills: DrillRecord, evidence: EvidenceLog
) -> None:
    """Each channel the profile declares (`monitoring.mail_catcher`, email;
    `monitoring.webhook_receiver`, webhook) received the firing and the resolved notification
    of the drill's down alert, new since the fault."""
    mon = target.monitoring
    assert drills.channels, (
        "expected at least one notification channel, the target profile declares none "
        "(monitoring.mail_catcher and monitoring.webhook_receiver are both null)"
    )
    evidence.add(f"{mon.down_alert} ({mon.down_service}) drill", drills.seen["fault"])
    steps = [f"{when} {channel}" for channel in drills.channels for when in ("firing", "resolved")]
    for step in steps:
        if step in drills.seen:
            evidence.add(f"{step} notification", drills.seen[step])
    drills.require(*steps)


def _access_endpoints(target: Target) -> dict[str, tuple[str, dict[str, str]]]:
    """Name -> (URL, the headers a legitimate client sends) of every monitoring endpoint."""
    mon = target.monitoring
    endpoints: dict[str, tuple[str, dict[str, str]]] = {}
    for name in (mon.prometheus, mon.alertmanager):
        creds = target.component(name).credentials
        assert creds is not None, f"the target gives no credentials for {name}"
        path = "/api/v1/query?query=up" if name == mon.prometheus else "/api/v2/status"
        endpoints[f"{name} API"] = (
            target.url(name, "main") + path,
            basic_auth_header(creds.username, creds.password()),
        )
    if mon.dashboards is not None:
        ui = dashboards_ui(target, "grafana")
        creds = target.component(ui.component).credentials
        assert creds is not None, f"the target gives no credentials for {ui.component}"
        endpoints[f"{ui.component} (Grafana) API"] = (
            ui.url + "/api/search",
            basic_auth_header(creds.username, creds.password()),
        )
    for name, component in target.components.items():
        if component.metrics is not None:
            endpoints[f"{name} metrics"] = (component.metrics.url, component.metrics.auth_headers())
    return endpoints


@pytest.mark.checklist("mon-access-secured")
def test_anonymous_and_wrong_passwords_are_refused(target: Target) -> None:
    problems_found = []
    with httpx.Client(timeout=5) as client:
        for what, (url, headers) in _access_endpoints(target).items():
            if "Authorization" not in headers:
                problems_found.append(f"{what} ({url}): the target gives no credentials for it")
                continue
            basic = headers["Authorization"].startswith("Basic ")
            wrong = basic_auth_header("admin", "wrong") if basic else {"Authorization": "Bearer x"}
            for label, sent in (("anonymous", {}), ("wrong credentials", wrong)):
                status = client.get(url, headers=sent).status_code
                if status not in (401, 403):
                    problems_found.append(f"{what} ({url}): {label} got {status}, expected 401")
            status = client.get(url, headers=headers).status_code
            if status != 200:
                problems_found.append(f"{what} ({url}): the right credentials got {status}")
        problems_found += _viewers_cannot_write(target, client)
    assert not problems_found, "\n".join(problems_found)


def _viewers_cannot_write(target: Target, client: httpx.Client) -> list[str]:
    """Grafana's viewer may read dashboards but not save one (403).
    https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/"""
    if target.monitoring.dashboards is None:
        return []
    ui = dashboards_ui(target, "grafana")
    viewer = target.component(ui.component).viewer
    if viewer is None:
        return [f"{ui.component}: the target gives no viewer login to prove read-only access with"]
    login = basic_auth_header(viewer.username, viewer.password())
    problems_found = []
    if (status := client.get(f"{ui.url}/api/search", headers=login).status_code) != 200:
        problems_found.append(f"{ui.component}: the viewer could not read (HTTP {status})")
    body = {"dashboard": {"title": "grader write probe", "panels": []}, "overwrite": False}
    status = client.post(f"{ui.url}/api/dashboards/db", json=body, headers=login).status_code
    if status != 403:
        problems_found.append(
            f"{ui.component}: the viewer saving a dashboard got {status}, expected 403"
        )
    return problems_found
