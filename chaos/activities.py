"""The actions and probes of the chaos experiments (`chaos/experiments/*.json`), called by Chaos
Toolkit as `python` providers.

Every action writes its fault in the stack's fault ledger (stack/ledger.py) *before* injecting
it, with its undo and its maximum duration, so `python -m stack heal` (and the fault's own
expiry) can undo it whatever happens to the runner. Rollbacks call `heal`.

Timings: an action marks the moment it broke or repaired something (`fault`, `repair`) in the
run's clock file; a probe that waits for a consequence returns how long after the mark it
came, with its budget, and raises when it came late or not at all. A raised probe is a failed
activity in the journal, which the runner reports as a deviation naming it.

Every function takes `configuration` (Chaos Toolkit passes it by name): `target_file`, the
target profile, and `run_dir`, where the clock file lives; both are set by the runner.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from healthprobe import run_probe

from chaos import dr
from grader import backups, journeys, status_page
from grader.faults import FIELDS, Faults, admin_token_file, set_faults, units
from grader.monitoring import Prometheus, alert_names
from grader.notifications import Notifications
from grader.polling import poll_until
from grader.target import Target, load_target
from stack.control import Controls, connect
from stack.ledger import Ledger, Undo
from stack.paths import DataDir

Configuration = dict[str, Any]
FAULT_MAX_S = 300.0  # a fault left behind undoes itself after this long (five minutes)


class ChaosFailed(Exception):
    """What the experiment waited for did not happen, or came over its budget."""


def _target(configuration: Configuration) -> Target:
    return load_target(Path(configuration["target_file"]))


def _ledger(target: Target) -> Ledger:
    if target.control.data_dir is None:
        raise ChaosFailed(
            f"target {target.name!r} has no control.data_dir: the fault ledger lives there"
        )
    return Ledger(DataDir(target.control.data_dir))


def _controls(target: Target) -> Controls:
    return connect(target.control)


# --- the run's clock ---------------------------------------------------------------------


def _clock_file(configuration: Configuration) -> Path:
    return Path(configuration["run_dir"]) / "clock.json"


def _marks(configuration: Configuration) -> dict[str, dict[str, Any]]:
    path = _clock_file(configuration)
    return json.loads(path.read_text()) if path.exists() else {}


def _mark(configuration: Configuration, name: str, **extra: Any) -> dict[str, Any]:
    marks = _marks(configuration)
    marks[name] = {"at": time.time(), **extra}
    path = _clock_file(configuration)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(marks))
    return marks[name]


def _since(configuration: Configuration, mark: str) -> tuple[float, datetime]:
    """(Unix time of the mark, the same as a UTC datetime); an unmarked clock is a mistake of
    the experiment (a probe placed before its action)."""
    marks = _marks(configuration)
    if mark not in marks:
        raise ChaosFailed(f"no `{mark}` mark on the clock: put the probe after its action")
    at = float(marks[mark]["at"])
    return at, datetime.fromtimestamp(at, UTC)


def _timed(
    configuration: Configuration, timing: str, mark: str, what: str, wait: Any, budget_s: float
) -> dict[str, Any]:
    """Run `wait` (it returns once `what` happened, or raises), and judge its delay from
    `mark` against the budget."""
    at, _ = _since(configuration, mark)
    try:
        detail = wait()
    except Exception as exc:
        raise ChaosFailed(f"{what}: never happened ({exc})") from None
    seconds = round(time.time() - at, 1)
    result = {
        "timing": timing,
        "from": mark,
        "what": what,
        "seconds": seconds,
        "budget_s": budget_s,
        "detail": detail,
    }
    if seconds > budget_s:
        raise ChaosFailed(f"{what}: {seconds} s after the {mark}, over its budget of {budget_s} s")
    return result


# --- actions -----------------------------------------------------------------------------


def kill_service(service: str, configuration: Configuration) -> dict[str, Any]:
    """SIGKILL every unit of `service` and hold it down (a crash nobody restarts)."""
    target = _target(configuration)
    names = target.units(service)
    fault = _ledger(target).record(
        f"{service} killed ({', '.join(names)})", [Undo("start", {"units": names})], FAULT_MAX_S
    )
    controls = _controls(target)
    mark = _mark(configuration, "fault", fault=fault.id)
    for name in names:
        controls.kill(name, hold=True)
    return {"fault": fault.id, "units": names, "at": mark["at"]}


def kill_one_replica(service: str, configuration: Configuration) -> dict[str, Any]:
    """SIGKILL the first replica of `service` and hold it down until the repair: a replica
    restarted within a second would hide whether the gateway moves on to the others."""
    target = _target(configuration)
    name = target.units(service)[0]
    fault = _ledger(target).record(
        f"{name} killed (one replica of {service})", [Undo("start", {"units": [name]})], FAULT_MAX_S
    )
    mark = _mark(configuration, "fault", fault=fault.id)
    _controls(target).kill(name, hold=True)
    return {"fault": fault.id, "unit": name, "at": mark["at"]}


def set_fault_flags(
    service: str, configuration: Configuration, error_rate: float = 0.0, latency_ms: int = 0
) -> dict[str, Any]:
    """Turn on `service`'s fault flags on every unit (chassis `PUT /admin/faults`)."""
    target = _target(configuration)
    off = {"error_rate": 0.0, "latency_ms": 0, "fail_health": False}
    token = str(admin_token_file(target))
    undo = [
        Undo("http-put", {"url": f"{url}/admin/faults", "body": off, "token_file": token})
        for url in units(target, service).values()
    ]
    flags = Faults.of({"error_rate": error_rate, "latency_ms": latency_ms})
    named = ", ".join(f"{k}={v}" for k, v in asdict(flags).items() if v)
    fault = _ledger(target).record(f"{service} fault flags {named}", undo, FAULT_MAX_S)
    mark = _mark(configuration, "fault", fault=fault.id)
    set_faults(target, service, flags)
    return {"fault": fault.id, "flags": str(flags), "at": mark["at"]}


def repair(configuration: Configuration) -> dict[str, Any]:
    """Undo the run's fault (through the ledger, as `heal` would) and mark the repair."""
    target = _target(configuration)
    fault_id = _marks(configuration).get("fault", {}).get("fault")
    if fault_id is None:
        raise ChaosFailed("nothing to repair: no fault was marked on the clock")
    mark = _mark(configuration, "repair")
    done = _ledger(target).heal(_controls(target), fault_id)
    return {"undone": done, "at": mark["at"]}


def heal(configuration: Configuration) -> list[str]:
    """The rollback of every experiment: undo whatever the ledger still holds."""
    target = _target(configuration)
    return _ledger(target).heal(_controls(target))


# --- probes ------------------------------------------------------------------------------


def stack_is_healthy(configuration: Configuration) -> bool:
    """Every component's health probe passes, and the ledger holds no fault."""
    target = _target(configuration)
    unhealthy = {}
    for name, component in target.components.items():
        if component.probe is None:
            continue
        result = run_probe(component.probe)
        if not result.ok:
            unhealthy[name] = result.detail
    left = [f.what for f in _ledger(target).open_faults()]
    if unhealthy or left:
        raise ChaosFailed(f"unhealthy: {unhealthy or 'none'}; faults still open: {left or 'none'}")
    return True


def no_fault_left(configuration: Configuration) -> bool:
    """The final probe: nothing in the ledger, and every service's fault flags off."""
    target = _target(configuration)
    left = [f.what for f in _ledger(target).open_faults()]
    token = Path(admin_token_file(target)).read_text().strip()
    flagged = {}
    for service in target.service_databases():
        for unit, url in units(target, service).items():
            body = httpx.get(
                f"{url}/admin/faults", headers={"Authorization": f"Bearer {token}"}, timeout=5
            ).json()
            if Faults.of({k: v for k, v in body.items() if k in FIELDS}).off:
                continue
            flagged[unit] = body
    if left or flagged:
        raise ChaosFailed(f"faults left: ledger {left or 'empty'}; flags on {flagged or 'none'}")
    return True


def alert_fires(
    alertname: str, service: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """`alertname` fires for `service` within `budget_s` of the fault (time to detect)."""
    prom = Prometheus.of(_target(configuration))

    def fired() -> str:
        prom.wait_firing(alertname, service, timeout=max(3 * budget_s, 60))
        return alert_names(prom.firing())

    try:
        return _timed(
            configuration, "detect", "fault", f"{alertname} fires for {service}", fired, budget_s
        )
    finally:
        prom.close()


def alert_resolves(
    alertname: str, service: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    prom = Prometheus.of(_target(configuration))

    def resolved() -> str:
        prom.wait_firing(alertname, service, timeout=max(3 * budget_s, 60), firing=False)
        return alert_names(prom.firing())

    try:
        return _timed(
            configuration,
            "resolve",
            "repair",
            f"{alertname} of {service} resolves",
            resolved,
            budget_s,
        )
    finally:
        prom.close()


def email_arrives(
    service: str, status: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """The `status` (firing | resolved) email of the down alert naming `service` reaches the
    mail catcher within `budget_s` of the fault (firing) or the repair (resolved)."""
    target = _target(configuration)
    mark = "fault" if status == "firing" else "repair"
    _, since = _since(configuration, mark)
    notifications = Notifications(target, timeout=max(3 * budget_s, 60))
    try:
        return _timed(
            configuration,
            "notify" if status == "firing" else "notify resolved",
            mark,
            f"the {status} email of {target.monitoring.down_alert} ({service})",
            lambda: notifications.email(since, status, service=service),  # type: ignore[arg-type]
            budget_s,
        )
    finally:
        notifications.close()


def _public(target: Target) -> httpx.Client:
    return httpx.Client(base_url=target.url("gateway", "main"), timeout=5)


def status_page_shows_outage(
    service: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """The public summary.json shows `service` in an outage, with an incident opened after the
    fault (time to show)."""
    target = _target(configuration)
    _, since = _since(configuration, "fault")

    def shown() -> dict[str, Any]:
        with _public(target) as public:

            def look() -> dict[str, Any]:
                body = status_page.summary(public)
                incident = status_page.open_incident_for(body, service, since=since)
                down = status_page.statuses(body).get(service) in status_page.OUTAGES
                return {
                    "status": status_page.statuses(body).get(service),
                    "incident": incident,
                    "ok": down and incident is not None,
                }

            seen = poll_until(
                look,
                f"the status page to show {service} down with an incident",
                max(3 * budget_s, 60),
                interval=0.5,
                until=lambda s: s["ok"],
            )
            return {"status": seen["status"], "incident": seen["incident"]["name"]}

    return _timed(
        configuration, "show", "fault", f"the status page shows {service} down", shown, budget_s
    )


def status_page_recovers(
    service: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """summary.json shows `service` operational again, and the incident the fault opened
    resolved (an older one left open is the status page's own matter, not this drill's)."""
    target = _target(configuration)
    _, since = _since(configuration, "fault")

    def recovered() -> str:
        with _public(target) as public:

            def look() -> dict[str, Any]:
                body = status_page.summary(public)
                return {
                    "status": status_page.statuses(body).get(service),
                    "open": status_page.open_incident_for(body, service, since=since),
                }

            seen = poll_until(
                look,
                f"the status page to show {service} operational again",
                max(3 * budget_s, 60),
                interval=0.5,
                until=lambda s: s["status"] == "operational" and not s["open"],
            )
            return str(seen["status"])

    return _timed(
        configuration,
        "show recovered",
        "repair",
        f"the status page shows {service} operational, its incident resolved",
        recovered,
        budget_s,
    )


def alerts_firing_besides(allowed: list[str], configuration: Configuration) -> list[str]:
    """The alerts firing now other than `allowed` and the Watchdog: an alert storm shows here.
    Raises when there is any."""
    target = _target(configuration)
    prom = Prometheus.of(target)
    ignored = {*allowed, target.monitoring.watchdog_alert}
    try:
        others = sorted({a["alertname"] for a in prom.firing() if a["alertname"] not in ignored})
    finally:
        prom.close()
    if others:
        raise ChaosFailed(f"alerts firing besides {sorted(ignored)}: {others}")
    return others


def stop_component(name: str, configuration: Configuration) -> dict[str, Any]:
    """Stop a component (PostgreSQL, RabbitMQ, the log store...) until the repair."""
    target = _target(configuration)
    fault = _ledger(target).record(
        f"{name} stopped", [Undo("start", {"units": [name]})], FAULT_MAX_S
    )
    mark = _mark(configuration, "fault", fault=fault.id)
    _controls(target).stop(name)
    return {"fault": fault.id, "stopped": name, "at": mark["at"]}


def _health(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=5)
    body: dict[str, Any] = response.json()
    return body


def health_reports(
    services: list[str],
    dependency: str,
    status: str,
    budget_s: float,
    configuration: Configuration,
) -> dict[str, Any]:
    """Every unit of each service answers `/health` with `status` (fail | pass) overall and for
    its `dependency` check: with `fail`, timed from the fault (the outage named where it is);
    with `pass`, from the repair (the services reconnected by themselves)."""
    target = _target(configuration)
    urls = {
        unit: str(getattr(target.component(unit).probe, "url", ""))
        for service in services
        for unit in target.units(service)
    }

    def says() -> dict[str, str]:
        seen = {}
        for unit, url in urls.items():
            try:
                body = _health(url)
            except (httpx.HTTPError, ValueError) as exc:
                seen[unit] = f"no health+json answer: {type(exc).__name__}"
                continue
            check = body.get("checks", {}).get(f"{dependency}:responseTime", [{}])[0]
            seen[unit] = f"{body.get('status')}, {dependency} {check.get('status')}"
        return seen

    wanted = f"{status}, {dependency} {status}"
    mark = "fault" if status == "fail" else "repair"
    return _timed(
        configuration,
        "show" if status == "fail" else "recover",
        mark,
        f"/health of {', '.join(urls)} says {wanted!r}",
        lambda: poll_until(
            says,
            f"every unit's /health to say {wanted!r}",
            max(3 * budget_s, 60),
            interval=0.5,
            until=lambda seen: all(v == wanted for v in seen.values()),
        ),
        budget_s,
    )


def _gateway(target: Target) -> httpx.Client:
    return httpx.Client(base_url=target.url("gateway", "main"), timeout=5)


def backed_up_marker(service: str, configuration: Configuration) -> dict[str, Any]:
    """A user registered through the gateway (the marker), then a verified backup of
    `service`'s database taken after it: what a restore must bring back."""
    target = _target(configuration)
    database = target.service_databases()[service]
    with _gateway(target) as gateway:
        player = journeys.register(gateway, "chaos")
    since = backups.now()
    api = backups.BackupApi(target)
    backup = poll_until(
        lambda: backups.verified_since(api, database, since),
        f"a verified backup of {database} taken after {player.username} registered",
        target.timeouts.get("backup"),
        interval=2,
    )
    if backup is None:  # poll_until returned a truthy value; this tells mypy
        raise ChaosFailed(f"no verified backup of {database}")
    marks = _marks(configuration)
    marks["marker"] = {"at": time.time(), "username": player.username, "backup": backup["id"]}
    _clock_file(configuration).write_text(json.dumps(marks))
    return {"username": player.username, "backup": backup["id"]}


def drop_database(service: str, configuration: Configuration) -> dict[str, Any]:
    """DROP DATABASE of `service` (its data is lost). The ledger's undo is a restore."""
    target = _target(configuration)
    database = target.service_databases()[service]
    fault = _ledger(target).record(
        f"database {database} dropped",
        [Undo("restore", {"service": service})],
        FAULT_MAX_S,
    )
    mark = _mark(configuration, "fault", fault=fault.id)
    dr.drop_database(target, database)
    return {"fault": fault.id, "dropped": database, "at": mark["at"]}


def marker_is_back(budget_s: float, configuration: Configuration) -> dict[str, Any]:
    """The marker user logs in through the gateway again: the data is served (the RTO, from
    the fault)."""
    target = _target(configuration)
    username = _marks(configuration)["marker"]["username"]
    player = journeys.Player(username=username, user_id="", token="")

    def back() -> bool:
        with _gateway(target) as gateway:
            return poll_until(
                lambda: dr.can_log_in(gateway, player),
                f"{username} to log in again",
                max(3 * budget_s, 60),
                interval=0.5,
            )

    return _timed(configuration, "recover", "fault", f"{username} logs in again", back, budget_s)
