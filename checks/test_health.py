"""Health checks and the status page (the course's module 4, minor). Every judgement is the grader's
own: it reads each /health itself, stops the database and a service itself, and checks the
page against what its own probes see, rather than trusting the status service's word.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest
from healthprobe import run_probe

from grader import status_page
from grader.errors import CheckFailed
from grader.evidence import EvidenceLog
from grader.polling import poll_until
from grader.target import Target, Timeouts

HEALTH_JSON = "application/health+json"
CHECK_STATUSES = ("pass", "warn", "fail")
VICTIM = "users"  # the service the status-page check stops
log = logging.getLogger(__name__)


def service_health_urls(target: Target) -> dict[str, str]:
    """Each service unit's /health URL, from the profile (a replica set: every replica)."""
    services = target.service_names()
    units = {
        name: c
        for name, c in target.components.items()
        if (c.replica_of or name) in services and c.probe.kind == "http"
    }
    found = {name: str(getattr(c.probe, "url", "")) for name, c in units.items()}
    if len({c.replica_of or name for name, c in units.items()}) < 3:
        raise CheckFailed(f"expected /health of at least 3 of {services}, the target has {found}")
    return found


def health_json_problems(code: int, content_type: str, body: Any) -> list[str]:
    """What makes a /health answer invalid application/health+json
    (draft-inadarei-api-health-check): [] when it is valid."""
    problems = []
    if not content_type.startswith(HEALTH_JSON):
        problems.append(f"Content-Type is {content_type!r}, expected {HEALTH_JSON}")
    if not isinstance(body, dict) or body.get("status") not in CHECK_STATUSES:
        return [*problems, f"`status` must be one of {CHECK_STATUSES}, got {body!r:.200}"]
    if (body["status"] == "fail") != (code >= 400):
        problems.append(f"status {body['status']!r} answered with HTTP {code}")
    checks = body.get("checks", {})
    if not isinstance(checks, dict):
        return [*problems, f"`checks` must be an object, got {type(checks).__name__}"]
    for key, results in checks.items():
        if ":" not in key and not key.isidentifier():
            problems.append(f"check key {key!r} is not 'component:measurement'")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            problems.append(f"checks[{key!r}] must be a list of objects")
            continue
        for r in results:
            if r.get("status") not in CHECK_STATUSES:
                problems.append(f"checks[{key!r}].status = {r.get('status')!r}")
            value = r.get("observedValue")
            if value is not None and not isinstance(value, int | float | str | bool):
                problems.append(f"checks[{key!r}].observedValue has type {type(value).__name__}")
    return problems


def read_health(url: str) -> tuple[int, str, Any]:
    response = httpx.get(url, timeout=5)
    try:
        body = response.json()
    except ValueError:
        body = response.text[:200]
    return response.status_code, response.headers.get("content-type", ""), body


def _health_code(url: str) -> int:
    return read_health(url)[0]


def failing_checks(body: Any) -> list[str]:
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    return [k for k, rs in checks.items() if any(r.get("status") == "fail" for r in rs)]


@pytest.mark.checklist("hc-health-endpoint")
def test_service_health_passes_and_lists_its_checks(service: str, target: Target) -> None:
    """Every unit of the service answers /health as valid health+json, `pass`, with a check
    of its database among its checks."""
    problems = {}
    urls = service_health_urls(target)
    mine = {u: urls[u] for u in target.units(service) if u in urls}
    if not mine:
        raise CheckFailed(f"the target gives no HTTP health probe for {service}")
    for name, url in mine.items():
        code, content_type, body = read_health(url)
        found = health_json_problems(code, content_type, body)
        if code != 200 or not isinstance(body, dict) or body.get("status") != "pass":
            found.append(f"expected HTTP 200 and status 'pass', got {code} {body!r:.300}")
        checks = body.get("checks", {}) if isinstance(body, dict) else {}
        datastores = [
            k
            for k, rs in checks.items()
            if "postgres" in k or any(r.get("componentType") == "datastore" for r in rs)
        ]
        if not datastores:
            found.append(f"no database check among its checks {sorted(checks)}")
        if found:
            problems[name] = found
    assert not problems, f"invalid /health answers: {problems}"


@pytest.mark.checklist("hc-health-endpoint")
# Hung, the database makes users answer 5xx for long enough that HighErrorRate fires, and its
# incident stays open for minutes: that drill runs after every other check.
@pytest.mark.parametrize("fault", ["stopped", pytest.param("hung", marks=pytest.mark.aftereffects)])
def test_health_fails_naming_the_database_when_it_is_stopped_or_hung(
    fault: str, control: Any, target: Target, timeouts: Timeouts
) -> None:
    """Stopped (connections refused) and hung (SIGSTOP: connections accepted, pooled ones
    never answered): each service's /health must answer 503 'fail' naming its database within
    `timeouts.event`. A hung database is what a health check's own timeout is for: without
    one, /health hangs with it."""
    urls = service_health_urls(target)
    if fault == "stopped":
        control.stop("postgres")
    else:
        control.pause("postgres")
    try:
        for name, url in urls.items():
            code, content_type, body = poll_until(
                partial(read_health, url),
                f"{name}'s /health to answer 503 'fail' naming its database check",
                timeout=timeouts.get("event"),
                until=lambda r: r[0] == 503 and any("postgres" in k for k in failing_checks(r[2])),
                show=lambda r: f"HTTP {r[0]} {r[2]!r:.300}",
            )
            assert body["status"] == "fail", f"{name}: expected status 'fail', got {body}"
            assert not health_json_problems(code, content_type, body), (name, body)
    finally:
        if fault == "stopped":
            control.start("postgres")
        else:
            control.resume("postgres")
    for name, url in urls.items():
        poll_until(
            partial(_health_code, url),
            f"{name}'s /health to pass again",
            timeout=timeouts.healthy,
            until=lambda code: code == 200,
        )


# ---- the status page --------------------------------------------------------------------



@pytest.fixture(scope="module")
def public(target: Target) -> Iterator[httpx.Client]:
    """The page as the public sees it: through the gateway, no credentials."""
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=5) as client:
        yield client


def _read(public: httpx.Client) -> tuple[dict[str, Any], str]:
    return status_page.summary(public), status_page.page_html(public)


@pytest.mark.checklist("hc-status-page")
def test_status_page_tracks_a_dead_service_and_its_recovery(
    control: Any,
    public: httpx.Client,
    target: Target,
    timeouts: Timeouts,
    evidence: EvidenceLog,
) -> None:
    # Steady state: public (no login), every component operational, and the grader's own
    # probes agree with the page. What the page says then is what "operational" reads like.
    # The headline counts open incidents too: one an earlier check's alert opened closes when
    # that alert resolves, hence the alert timeout when it is the longer.
    operational: str | None
    try:
        body = poll_until(
            lambda: status_page.summary(public),
            "the status page to show every component operational and no open incident",
            timeout=max(timeouts.healthy, timeouts.get("alert")),
            until=lambda b: bool(b["components"])
            and set(status_page.statuses(b).values()) == {"operational"}
            and b["status"]["indicator"] == "none",
            show=lambda b: f"status {b['status']}, not operational: "
            + str({n: s for n, s in status_page.statuses(b).items() if s != "operational"}),
        )
        operational = str(body["status"]["description"])
    except CheckFailed:
        # Something else stays wrong (a stack whose backups fail keeps incidents of its own
        # open): judged on the victim alone, the headline then need only agree with summary.json.
        body = status_page.summary(public)
        others = status_page.elsewhere(body, VICTIM)
        if not others or status_page.statuses(body).get(VICTIM) != "operational":
            raise
        evidence.add("open before the drill, about something else", others)
        operational = None
    down = target.unhealthy()
    assert not down, f"the page shows every component operational, the grader's probes fail: {down}"
    markup = status_page.page_html(public)
    said, where = status_page.headline(markup)
    expected = str(body["status"]["description"])
    assert expected in said, (
        f"expected the page's {where} to say {expected!r} (summary.json's status), "
        f"it says {said[:200]!r}"
    )
    text = status_page.text_of(markup)
    missing = [n for n in status_page.statuses(body) if n not in text]
    assert not missing, f"components missing from the page: {missing}"

    killed_at = datetime.now(UTC)
    stopped = time.monotonic()
    control.kill(VICTIM, hold=True)  # SIGKILL, and no automatic restart until `start`
    try:
        assert not run_probe(target.component(VICTIM).probe).ok, f"{VICTIM} still answers"
        body, markup = poll_until(
            lambda: _read(public),
            f"summary.json and the page to show {VICTIM} down, with an open incident about it",
            timeout=timeouts.get("status_down"),
            until=lambda r: not status_page.down_problems(
                *r, victim=VICTIM, since=killed_at, operational=operational
            ),
            show=lambda r: "; ".join(
                status_page.down_problems(
                    *r, victim=VICTIM, since=killed_at, operational=operational
                )
            ),
        )
        took_down = time.monotonic() - stopped
    finally:
        restarted = time.monotonic()
        control.start(VICTIM)
    incident = status_page.open_incident_for(body, VICTIM, since=killed_at)
    assert incident is not None  # down_problems required it
    down_headline = status_page.headline(markup)[0]
    evidence.add(
        f"{VICTIM} down: what the page showed",
        {
            "incident": {k: incident.get(k) for k in ("id", "name", "created_at", "status")},
            "summary status": body["status"],
            f"{where} text": down_headline[:200],
        },
    )
    evidence.timing(f"{VICTIM} shown down after", took_down)
    body, markup = poll_until(
        lambda: _read(public),
        f"summary.json and the page to show {VICTIM} operational again, its incident resolved",
        timeout=timeouts.get("status_recovered"),
        until=lambda r: not status_page.recovered_problems(
            *r, victim=VICTIM, operational=operational
        ),
        show=lambda r: "; ".join(
            status_page.recovered_problems(*r, victim=VICTIM, operational=operational)
        ),
    )
    took_up = time.monotonic() - restarted
    history = public.get("/api/v2/incidents.json").json()["incidents"]
    resolved = next((i for i in history if i["id"] == incident["id"]), None)
    assert resolved is not None and resolved["status"] == "resolved", (
        f"expected incident {incident['id']} resolved in incidents.json, saw {resolved}"
    )
    assert incident["name"] in status_page.text_of(markup).split("Incident history", 1)[-1], (
        "the resolved incident is not in the page's incident history"
    )
    evidence.add(
        f"{VICTIM} recovered: what the page showed",
        {
            "incident": {k: resolved.get(k) for k in ("id", "status", "resolved_at")},
            "summary status": body["status"],
            f"{where} text": status_page.headline(markup)[0][:200],
        },
    )
    evidence.timing(f"{VICTIM} shown operational again after", took_up)
    log.info("%s shown down after %.1f s, recovered after %.1f s", VICTIM, took_down, took_up)
