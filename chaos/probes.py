"""The probes of the chaos experiments (`chaos/experiments/*.json`), called by Chaos Toolkit
as `python` providers: the steady state, and the timed consequences of a fault (an alert
fires, an email arrives, the status page shows it, health says so, data comes back). Each
timed probe returns its delay from the fault or the repair with its budget, and raises when
it came late or never (chaos/context.py).
"""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from chaos import budgets, context, disk, dr, log_events
from chaos.context import ChaosFailed, Configuration
from grader import backups, journeys, status_page
from grader.errors import CheckFailed
from grader.faults import read_faults
from grader.monitoring import (
    MailCatcher,
    Prometheus,
    alert_names,
    alertmanager_alerts,
    matches,
)
from grader.notifications import Notifications, subject_names
from grader.polling import poll_until
from grader.target import Target

SETTLE_S = 5.0  # the outbox relay publishes every 0.5 s (chassis/outbox.py): ten rounds


def stack_is_healthy(configuration: Configuration) -> bool:
    """Every component's health probe passes, and the ledger holds no fault."""
    target = context.target_of(configuration)
    unhealthy = target.unhealthy()
    left = [f.what for f in context.ledger_of(target).open_faults()]
    if unhealthy or left:
        raise ChaosFailed(f"unhealthy: {unhealthy or 'none'}; faults still open: {left or 'none'}")
    return True


def no_fault_left(configuration: Configuration) -> bool:
    """The final probe: nothing in the ledger, and every service's fault flags off."""
    target = context.target_of(configuration)
    left = [f.what for f in context.ledger_of(target).open_faults()]
    flagged = {
        unit: str(flags)
        for service in target.service_databases()
        for unit, flags in read_faults(target, service).items()
        if not flags.off
    }
    if left or flagged:
        raise ChaosFailed(f"faults left: ledger {left or 'empty'}; flags on {flagged or 'none'}")
    return True


def alert_fires(
    alertname: str,
    service: str,
    budget_s: float,
    configuration: Configuration,
    mark: str = "fault",
) -> dict[str, Any]:
    """`alertname` fires for `service` within `budget_s` of the fault marked `mark` (time to
    detect)."""
    prom = Prometheus.of(context.target_of(configuration))

    def fired() -> str:
        prom.wait_firing(alertname, service, timeout=context.patience(budget_s))
        return alert_names(prom.firing())

    try:
        return context.timed(
            configuration, "detect", mark, f"{alertname} fires for {service}", fired, budget_s
        )
    finally:
        prom.close()


def alert_resolves(
    alertname: str,
    service: str,
    budget_s: float,
    configuration: Configuration,
    mark: str = "repair",
) -> dict[str, Any]:
    prom = Prometheus.of(context.target_of(configuration))

    def resolved() -> str:
        prom.wait_firing(alertname, service, timeout=context.patience(budget_s), firing=False)
        return alert_names(prom.firing())

    try:
        return context.timed(
            configuration,
            "resolve",
            mark,
            f"{alertname} of {service} resolves",
            resolved,
            budget_s,
        )
    finally:
        prom.close()


def cpu_alert_resolves(
    alertname: str, service: str, configuration: Configuration
) -> dict[str, Any]:
    """`alertname` (HostHighCpu) of `service` resolves after the repair within the budget of how
    busy the machine stayed meanwhile: the rule's window must gather its idle allowance, and
    the load and the stack slow that down (chaos/budgets.py `resolve_cpu_s`). The busy share is
    Prometheus' own, from node-exporter's counters over the wait; the busiest host counts."""
    target = context.target_of(configuration)
    what = f"{alertname} of {service} resolves"
    at, _ = context.mark_time(configuration, "repair")
    longest = budgets.resolve_cpu_s(target.runtime, budgets.BUSY_AFTER_CPU_HOG_MAX)
    prom = Prometheus.of(target)
    try:
        try:
            prom.wait_firing(alertname, service, timeout=context.patience(longest), firing=False)
        except CheckFailed as exc:
            raise ChaosFailed(f"{what}: never happened ({exc})") from None
        waited = round(time.time() - at, 1)
        window = f"{max(int(waited), 30)}s"
        busy = prom.value(
            f'max(1 - sum by (instance) (rate(node_cpu_seconds_total{{mode="idle"}}[{window}]))'
            f" / sum by (instance) (rate(node_cpu_seconds_total[{window}])))"
        )
    finally:
        prom.close()
    if busy is None:
        raise ChaosFailed(f"{what}: Prometheus has no node_cpu_seconds_total to judge it by")
    budget_s = budgets.resolve_cpu_s(target.runtime, busy)
    detail = f"the host was {busy:.0%} busy after the repair"
    return context.judged("resolve", "repair", what, waited, budget_s, detail)


def email_arrives(
    service: str,
    status: str,
    budget_s: float,
    configuration: Configuration,
    mark: str | None = None,
) -> dict[str, Any]:
    """The `status` (firing | resolved) email of the down alert naming `service` reaches the
    mail catcher within `budget_s` of the fault (firing) or the repair (resolved), or of the
    clock mark named."""
    target = context.target_of(configuration)
    mark = mark or ("fault" if status == "firing" else "repair")
    _, since = context.mark_time(configuration, mark)
    notifications = Notifications(target, timeout=context.patience(budget_s))
    try:
        return context.timed(
            configuration,
            "notify" if status == "firing" else "notify resolved",
            mark,
            f"the {status} email of {target.monitoring.down_alert} ({service})",
            lambda: notifications.email(since, status, service=service),  # type: ignore[arg-type]
            budget_s,
        )
    finally:
        notifications.close()


def status_page_shows_outage(
    service: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """The public summary.json shows `service` in an outage, with an incident opened after the
    fault (time to show)."""
    return _status_page_shows(service, budget_s, configuration, outage=True)


def status_page_shows_incident(
    service: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """The public summary.json lists an open incident about `service` opened after the fault,
    while the service still answers its health probe (an alert's incident, through
    Alertmanager's webhook: time to show)."""
    return _status_page_shows(service, budget_s, configuration, outage=False)


def _status_page_shows(
    service: str, budget_s: float, configuration: Configuration, *, outage: bool
) -> dict[str, Any]:
    target = context.target_of(configuration)
    _, since = context.mark_time(configuration, "fault")
    what = f"{service} down with an incident" if outage else f"an incident about {service}"

    def shown() -> dict[str, Any]:
        with context.gateway_of(target) as public:

            def look() -> dict[str, Any]:
                body = status_page.summary(public)
                incident = status_page.open_incident_for(body, service, since=since)
                down = status_page.statuses(body).get(service) in status_page.OUTAGES
                return {
                    "status": status_page.statuses(body).get(service),
                    "incident": incident,
                    "ok": (down or not outage) and incident is not None,
                }

            seen = poll_until(
                look,
                f"the status page to show {what}",
                context.patience(budget_s),
                interval=0.5,
                until=lambda s: s["ok"],
            )
            return {"status": seen["status"], "incident": seen["incident"]["name"]}

    return context.timed(
        configuration, "show", "fault", f"the status page shows {what}", shown, budget_s
    )


def status_page_recovers(
    service: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """summary.json shows `service` operational again, and the incident the fault opened
    resolved (an older one left open is the status page's own matter, not this drill's)."""
    target = context.target_of(configuration)
    _, since = context.mark_time(configuration, "fault")

    def recovered() -> str:
        with context.gateway_of(target) as public:

            def look() -> dict[str, Any]:
                body = status_page.summary(public)
                return {
                    "status": status_page.statuses(body).get(service),
                    "open": status_page.open_incident_for(body, service, since=since),
                }

            seen = poll_until(
                look,
                f"the status page to show {service} operational again",
                context.patience(budget_s),
                interval=0.5,
                until=lambda s: s["status"] == "operational" and not s["open"],
            )
            return str(seen["status"])

    return context.timed(
        configuration,
        "show recovered",
        "repair",
        f"the status page shows {service} operational, its incident resolved",
        recovered,
        budget_s,
    )


def alertmanager_holds(
    alertname: str,
    service: str,
    budget_s: float,
    configuration: Configuration,
    mark: str = "fault",
) -> dict[str, Any]:
    """`alertname` about `service` is among Alertmanager's active alerts within `budget_s` of
    the mark (time to detect). How a log alert is seen: ElastAlert posts it to Alertmanager,
    Prometheus never has it."""
    target = context.target_of(configuration)

    def held() -> str:
        found = poll_until(
            lambda: alertmanager_alerts(target),
            f"{alertname} about {service} in Alertmanager",
            context.patience(budget_s),
            interval=1,
            until=lambda alerts: any(matches(a, alertname, service) for a in alerts),
            show=alert_names,
        )
        return alert_names(found)

    return context.timed(
        configuration,
        "detect",
        mark,
        f"{alertname} about {service} in Alertmanager",
        held,
        budget_s,
    )


def alerts_firing_besides(allowed: list[str], configuration: Configuration) -> list[str]:
    """The alerts firing now other than `allowed` and the Watchdog: an alert storm shows here.
    Raises when there is any."""
    target = context.target_of(configuration)
    prom = Prometheus.of(target)
    ignored = {*allowed, target.monitoring.watchdog_alert}
    try:
        others = sorted({a["alertname"] for a in prom.firing() if a["alertname"] not in ignored})
    finally:
        prom.close()
    if others:
        raise ChaosFailed(f"alerts firing besides {sorted(ignored)}: {others}")
    return others


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
    target = context.target_of(configuration)
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
    return context.timed(
        configuration,
        "show" if status == "fail" else "recover",
        mark,
        f"/health of {', '.join(urls)} says {wanted!r}",
        lambda: poll_until(
            says,
            f"every unit's /health to say {wanted!r}",
            context.patience(budget_s),
            interval=0.5,
            until=lambda seen: all(v == wanted for v in seen.values()),
        ),
        budget_s,
    )


def marker_is_back(budget_s: float, configuration: Configuration) -> dict[str, Any]:
    """The marker user logs in through the gateway again: the data is served (the RTO, from
    the fault)."""
    target = context.target_of(configuration)
    username = context.read_marks(configuration)["marker"]["username"]

    def back() -> dict[str, Any]:
        with context.gateway_of(target) as gateway:
            poll_until(
                lambda: dr.can_log_in(gateway, username),
                f"{username} to log in again",
                context.patience(budget_s),
                interval=0.5,
            )
        return {"username": username, "counted": 1, "lost": 0}

    return context.timed(
        configuration, "recover", "fault", f"{username} logs in again", back, budget_s
    )


def damaged_backup_is_caught(database: str, configuration: Configuration) -> dict[str, Any]:
    """The damaged backup came out unverified, and the drill's own pg_restore of it fails too
    (the damage took: its sha256 still matches the manifest)."""
    target = context.target_of(configuration)
    bad_id = context.read_marks(configuration)["damaged"]["backup"]
    api = backups.BackupApi(target)
    try:
        bad = next((b for b in api.backups(database) if b["id"] == bad_id), None)
        if bad is None:
            raise ChaosFailed(f"{bad_id} is not listed any more")
        with tempfile.TemporaryDirectory(prefix="chaos-damaged-") as tmp:
            dump = Path(tmp) / "bad.dump"
            api.download(bad, dump)
            signed = backups.sha256_of(dump) == bad["sha256"]
            error = backups.restore_error(target, dump)
    finally:
        api.client.close()
    if not signed or error is None:
        raise ChaosFailed(
            f"{bad_id}: sha256 matches the manifest {signed}, pg_restore error {error!r}: "
            "the damage did not take as the drill expects, nothing to judge"
        )
    if bad.get("verified"):
        raise ChaosFailed(f"{bad_id} was marked verified, yet pg_restore of it fails: {error}")
    return {"backup": bad_id, "verified": bad.get("verified"), "pg_restore": error}


def an_older_verified_backup_restores(
    database: str, configuration: Configuration
) -> dict[str, Any]:
    """A verified backup older than the damaged one is kept, intact, and is what `restore`
    would pick now (never the damaged one): restored into a scratch database here."""
    target = context.target_of(configuration)
    bad_id = context.read_marks(configuration)["damaged"]["backup"]
    api = backups.BackupApi(target)
    try:
        verified = [b for b in api.backups(database) if b.get("verified")]
        older = [b for b in verified if b["id"] < bad_id]
        if not older:
            raise ChaosFailed(f"no verified backup of {database} older than {bad_id} was kept")
        if verified[-1]["id"] == bad_id:
            raise ChaosFailed(f"the newest verified backup is the damaged {bad_id}")
        observed, _ = backups.restore_and_inspect(target, api, older[-1])
        problems = backups.differences(older[-1]["tables"], observed)
    finally:
        api.client.close()
    if problems:
        raise ChaosFailed(f"{older[-1]['id']} restored, but differs from its manifest: {problems}")
    return {"restored": older[-1]["id"], "newest_verified": verified[-1]["id"]}


def _names_alert(subject: str, alertname: str, about: str) -> bool:
    """A firing email's subject naming `alertname` and `about` as words (so that
    BackupVerificationFailedX, another alert, does not count)."""
    return subject_names(subject, alertname=alertname, service=about, status="firing")


def alert_email_arrives(
    alertname: str, about: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """An email whose subject names `alertname` and `about` (a service, a database) reaches
    the mail catcher after the fault, within `budget_s`."""
    target = context.target_of(configuration)
    _, since = context.mark_time(configuration, "fault")
    mail = MailCatcher(target)

    def names(subject: str) -> bool:
        return _names_alert(subject, alertname, about)

    def arrived() -> str:
        found = poll_until(
            lambda: [m.subject for m in mail.messages() if m.created >= since],
            f"the email of {alertname} ({about}) in the mail catcher",
            context.patience(budget_s),
            interval=1,
            until=lambda subjects: any(names(s) for s in subjects),
            show=lambda subjects: f"subjects since the fault: {subjects}",
        )
        return next(s for s in found if names(s))

    try:
        return context.timed(
            configuration,
            "notify",
            "fault",
            f"the email of {alertname} ({about})",
            arrived,
            budget_s,
        )
    finally:
        mail.close()


def events_delivered_exactly_once(budget_s: float, configuration: Configuration) -> dict[str, Any]:
    """After the repair, the games played during the fault reach users' stats exactly once:
    each player's `games_played` equals the games played (fewer: events lost or still
    waiting; more: events delivered twice). Timed from the repair."""
    target = context.target_of(configuration)
    played = context.read_marks(configuration)["played"]
    wanted = int(played["games"])

    def counted() -> dict[str, Any]:
        with context.gateway_of(target) as gateway:
            players = []
            for p in played["players"]:
                player = journeys.Player(username=p["username"], user_id=p["user_id"], token="")
                players.append(journeys.login(gateway, player))

            def look() -> dict[str, int]:
                return {
                    p.username: int(journeys.stats(gateway, p).get("games_played", -1))
                    for p in players
                }

            seen = poll_until(
                look,
                f"users' stats to count {wanted} games for each player",
                context.patience(budget_s),
                interval=1,
                until=lambda counts: all(n >= wanted for n in counts.values()),
            )
            time.sleep(SETTLE_S)  # a duplicate would come in the next relay round or two
            seen = look()
        if any(n != wanted for n in seen.values()):
            raise ChaosFailed(f"expected {wanted} games per player, users counts {seen}")
        return {"counts": seen, "counted": wanted * len(seen), "lost": 0}

    return context.timed(
        configuration,
        "recover",
        "repair",
        f"{wanted} games counted once each",
        counted,
        budget_s,
    )


def logs_arrive_exactly_once(budget_s: float, configuration: Configuration) -> dict[str, Any]:
    """Every request marked during the fault is found in the log store as many times per
    dataset as the baseline request (chaos/log_events.py), none missing and none doubled,
    within `budget_s` of the repair. The lines counted and lost are in the result (`counted`,
    `lost`: the report's lost-data column)."""
    target = context.target_of(configuration)
    marks = context.read_marks(configuration)
    markers = list(marks["sent"]["markers"])
    wanted = {k: int(v) for k, v in marks["baseline"]["counts"].items()}

    def arrived() -> dict[str, Any]:
        log_events.wait_counts(target, markers, wanted, context.patience(budget_s))
        time.sleep(SETTLE_S)  # a resend that doubles a line would come in the next seconds
        seen = log_events.counts(target, markers)
        tally = log_events.lost_and_doubled(seen, wanted)
        if any(n for dataset in tally.values() for n in dataset.values()):
            raise ChaosFailed(log_events.summary(seen, wanted))
        return {
            "markers": len(markers),
            "per_marker": wanted,
            "by_dataset": tally,
            "counted": len(markers) * sum(wanted.values()),
            "lost": 0,
        }

    return context.timed(
        configuration,
        "recover",
        "repair",
        f"the {len(markers)} marked requests' log lines in the log store, once each",
        arrived,
        budget_s,
    )


def backup_run_failed_cleanly(database: str, configuration: Configuration) -> dict[str, Any]:
    """The run on the full disk failed for `database`, left no partial file next to the
    backups that were there, and the newest verified backup is still the one before."""
    target = context.target_of(configuration)
    ran = context.read_marks(configuration)["ran"]
    if database not in ran["failed"]:
        raise ChaosFailed(
            f"the backup run on a full disk did not fail for {database} (failed: "
            f"{ran['failed'] or 'none'}): the dump was written somewhere with room"
        )
    now = disk.listing(disk.backup_directory(target, database))
    added = sorted(set(now) - set(ran["files"]))
    removed = sorted(set(ran["files"]) - set(now))
    api = backups.BackupApi(target)
    try:
        verified = [b["id"] for b in api.backups(database) if b.get("verified")]
    finally:
        api.client.close()
    problems = []
    if added:
        problems.append(f"files left by the failed run: {added}")
    if removed:
        problems.append(f"files gone since the fault: {removed}")
    if ran["newest_verified"] and (not verified or verified[-1] != ran["newest_verified"]):
        problems.append(
            f"the newest verified backup was {ran['newest_verified']}, now "
            f"{verified[-1] if verified else 'none'}"
        )
    if problems:
        raise ChaosFailed("; ".join(problems))
    return {"failed": ran["failed"], "kept": ran["newest_verified"], "files": len(now)}


def backup_runs_again(
    database: str, budget_s: float, configuration: Configuration
) -> dict[str, Any]:
    """After the repair, a requested run makes a verified backup of `database` again, and the
    newest verified backup from before the fault is still listed (time to recover)."""
    target = context.target_of(configuration)
    ran = context.read_marks(configuration)["ran"]

    def verified_again() -> dict[str, Any]:
        api = backups.BackupApi(target)
        try:
            outcome = api.run_now()
            listed = {b["id"] for b in api.backups(database)}
        finally:
            api.client.close()
        made = [b for b in outcome["backups"] if b["database"] == database]
        if not made or not made[0].get("verified"):
            raise ChaosFailed(f"the run after the repair: {made or outcome['failed']}")
        kept = ran["newest_verified"]
        if kept and kept not in listed:  # rotation may prune older ones, never the newest
            raise ChaosFailed(f"{kept}, the newest verified backup before the fault, is gone")
        return {"backup": made[0]["id"], "kept": kept}

    return context.timed(
        configuration,
        "recover",
        "repair",
        f"a verified backup of {database} again",
        verified_again,
        budget_s,
    )


def _alertmanager_names(target: Target) -> list[str]:
    return sorted({a["alertname"] for a in alertmanager_alerts(target)})


def watchdog_in_alertmanager(
    budget_s: float, configuration: Configuration, mark: str = "repair"
) -> dict[str, Any]:
    """The Watchdog is among Alertmanager's active alerts within `budget_s` of `mark`: the
    path from Prometheus to Alertmanager works (docs/monitoring.md, Watchdog)."""
    target = context.target_of(configuration)
    name = target.monitoring.watchdog_alert

    def present() -> list[str]:
        return poll_until(
            lambda: _alertmanager_names(target),
            f"{name} among Alertmanager's alerts",
            context.patience(budget_s),
            interval=1,
            until=lambda names: name in names,
        )

    return context.timed(
        configuration, "recover", mark, f"{name} in Alertmanager", present, budget_s
    )


def watchdog_stays_in_alertmanager(configuration: Configuration) -> dict[str, Any]:
    """The Watchdog is still among Alertmanager's active alerts now (during a Prometheus
    outage: Alertmanager keeps an alert until the endsAt Prometheus gave it)."""
    target = context.target_of(configuration)
    name = target.monitoring.watchdog_alert
    held = _alertmanager_names(target)
    if name not in held:
        raise ChaosFailed(f"{name} is gone from Alertmanager's alerts (it holds: {held})")
    _, since = context.mark_time(configuration, "fault")
    return {"alerts": held, "seconds_since_fault": round(time.time() - since.timestamp(), 1)}


def alert_email_sent(
    alertname: str, about: str, configuration: Configuration, mark: str = "fault"
) -> dict[str, Any]:
    """Whether an email of `alertname` about `about` arrived since `mark`: a report, never a
    failure (what a dead Alertmanager could not deliver is reported, not hidden)."""
    target = context.target_of(configuration)
    _, since = context.mark_time(configuration, mark)
    mail = MailCatcher(target)
    try:
        subjects = [m.subject for m in mail.messages() if m.created >= since]
    finally:
        mail.close()
    found = [s for s in subjects if _names_alert(s, alertname, about)]
    return {"alert": f"{alertname} ({about})", "emailed": bool(found), "subjects": found}


def prometheus_evaluates_again(budget_s: float, configuration: Configuration) -> dict[str, Any]:
    """Prometheus answers queries and its rules run again: the Watchdog fires in it within
    `budget_s` of the repair."""
    target = context.target_of(configuration)
    name = target.monitoring.watchdog_alert
    prom = Prometheus.of(target)

    def evaluating() -> str:
        poll_until(
            lambda: prom.is_firing(name),
            f"{name} to fire in Prometheus again",
            context.patience(budget_s),
            interval=1,
        )
        return alert_names(prom.firing())

    try:
        return context.timed(
            configuration, "recover", "repair", f"{name} fires in Prometheus", evaluating, budget_s
        )
    finally:
        prom.close()


def status_page_hides_internals(configuration: Configuration) -> dict[str, Any]:
    """After the drill's incidents (opened by a probe, a Prometheus alert or a log alert, each
    carrying paths, hosts and addresses in its detail), no public answer of the status page
    names this server's host, the stack's data directory or the project's directory. The
    drill's incidents must be on the page, or there was nothing to judge."""
    target = context.target_of(configuration)
    _, since = context.mark_time(configuration, "fault")
    internals = {"host name": socket.gethostname()}
    if target.control.data_dir is not None:
        internals["data directory"] = str(target.control.data_dir.resolve())
    if target.control.project_dir is not None:
        internals["project directory"] = str(target.control.project_dir.resolve())
    with context.gateway_of(target) as public:
        incidents = public.get("/api/v2/incidents.json").json()["incidents"]
        drilled = [i["name"] for i in incidents if status_page.opened_since(i, since)]
        if not drilled:
            raise ChaosFailed(
                "expected the drill's incidents in the public incidents.json, saw none opened "
                f"since the fault ({len(incidents)} older ones)"
            )
        leaks = status_page.internals_shown(status_page.public_responses(public), internals)
    if leaks:
        raise ChaosFailed("the public status page shows internals: " + "; ".join(leaks))
    return {"incidents judged": drilled, "internals looked for": sorted(internals)}
