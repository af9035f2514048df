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
from typing import Any

import httpx
import pytest

from grader import browser, faults, journeys
from grader.dashboard_queries import problems, run_dashboards
from grader.errors import CheckFailed
from grader.grafana_api import GrafanaAPI, GrafanaPrometheus, log_panel_problems
from grader.loadgen import run_shape
from grader.monitoring import Notifications, Prometheus, alert_names, now_to_the_second
from grader.polling import poll_until
from grader.target import Target, Timeouts, basic_auth_header, dashboards_ui


@pytest.fixture(scope="module")
def prometheus(target: Target) -> Iterator[Prometheus]:
    prom = Prometheus.of(target)
    yield prom
    prom.close()


@pytest.fixture(scope="module")
def traffic(target: Target, prometheus: Prometheus) -> float:
    """Real use through the gateway (sign-ups, logins, a finished game, profile views), so the
    business counters move; returns the scrape interval, once every target has been scraped
    twice since (a rate needs two samples)."""
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=5) as gateway:
        x, o = journeys.register(gateway, "mon-x"), journeys.register(gateway, "mon-o")
        journeys.play_to_a_win(gateway, x, o)
        journeys.profile(gateway, x)
    used_at, interval = time.time(), prometheus.scrape_interval()

    def oldest_scrape() -> float:
        series, _ = prometheus.instant("min(timestamp(up))")
        return float(series[0]["value"][1]) if series else 0.0

    poll_until(
        oldest_scrape,
        "every target to be scraped twice after the traffic",
        timeout=10 * interval,
        until=lambda at: at > used_at + interval,
    )
    return interval


@pytest.mark.checklist("mon-metrics-collected")
def test_every_target_is_up_and_services_expose_red_and_business_metrics(
    target: Target, prometheus: Prometheus, traffic: float, timeouts: Timeouts
) -> None:
    def down() -> list[str]:
        return [
            f"{t['labels'].get('job')} {t['scrapeUrl']}: {t['lastError'] or t['health']}"
            for t in prometheus.targets()
            if t["health"] != "up"
        ]

    poll_until(down, "every Prometheus target to be up", timeouts.healthy, until=lambda d: not d)
    mon = target.monitoring
    missing = []
    for service in target.monitored_services():
        for metric in (mon.requests_metric, mon.duration_metric):
            selector = f'{metric}{{service="{service}"}} or {metric}{{job="{service}"}}'
            if not prometheus.instant(f"count({selector})")[0]:
                missing.append(f"{metric} of {service}")
    for metric in mon.business_metrics:
        if not prometheus.instant(f"count({metric})")[0]:
            missing.append(metric)
    services = ", ".join(target.monitored_services())
    assert not missing, (
        f"expected RED metrics of {services} and the business metrics in Prometheus, "
        f"missing: {', '.join(missing)}"
    )


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
    target: Target, grafana: GrafanaAPI, traffic: float
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
        interval_ms=int(traffic * 1000),
    )
    results = run_dashboards(through, dashboards, scrape_interval_s=traffic)
    found = problems(results, max_age_s=2 * traffic)
    assert results, "expected Prometheus panel queries in the dashboards, found none"
    assert not found, (
        f"expected every panel query of {len(dashboards)} dashboards in "
        f"{grafana.ui.component} to return data (Prometheus samples newer than two scrape "
        f"intervals, {2 * traffic:g} s); {len(found)} did not:\n" + "\n".join(found)
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
    """What the drills saw: failures per step, so each check reports its own part."""

    failures: dict[str, str] = field(default_factory=dict)

    def step(self, name: str, fn: Callable[[], object]) -> None:
        try:
            fn()
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
    notified. Both alerts must fire, be notified, and resolve once the fault is gone."""
    mon, record = target.monitoring, DrillRecord()
    alert_timeout = timeouts.get("alert")
    notifications = Notifications(target, timeouts.get("notification"))

    def steady() -> None:
        poll_until(
            prometheus.firing,
            f"only {mon.watchdog_alert} to fire at steady state",
            alert_timeout,
            interval=2,
            until=lambda alerts: {a["alertname"] for a in alerts} == {mon.watchdog_alert},
            show=alert_names,
        )

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
        # Held down until notified: an alert that resolves within group_wait is never sent.
        record.step("firing email", lambda: notifications.email(killed_at, "firing"))
        record.step("firing webhook", lambda: notifications.posted("firing"))
    finally:
        restarted_at = now_to_the_second()
        for unit in down:
            control.start(unit)
    record.step("down resolves", lambda: resolves(mon.down_alert, mon.down_service))
    record.step("resolved email", lambda: notifications.email(restarted_at, "resolved"))
    record.step("resolved webhook", lambda: notifications.posted("resolved"))
    record.step("errors fire", lambda: fires(mon.error_alert, mon.error_service))
    spike.join(mon.error_spike_seconds + 120)
    if load_error:
        record.failures["load"] = f"the error-spike load failed: {load_error[0]}"
    record.step("errors resolve", lambda: resolves(mon.error_alert, mon.error_service))
    yield record
    notifications.close()


@pytest.mark.checklist("mon-alerts-trigger")
def test_alerts_fire_for_real_faults_and_resolve(drills: DrillRecord) -> None:
    drills.require("steady", "load", "down fires", "down resolves", "errors fire", "errors resolve")


@pytest.mark.checklist("mon-notifications-sent")
def test_email_and_webhook_carry_the_firing_and_the_resolution(drills: DrillRecord) -> None:
    drills.require("firing email", "firing webhook", "resolved email", "resolved webhook")


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
