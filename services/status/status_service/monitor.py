"""The poller: every POLL_INTERVAL_S, probe every unit of the target profile concurrently,
each in its own thread with a timeout (a hung probe never delays the others), map the results
to statuses with hysteresis, store the checks, reconcile outage incidents, roll up aggregates.

The state the page shows lives here, in memory, so reading the page costs no probe and little
database work; the database keeps the history, and the last states survive a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from chassis import Database
from healthprobe import ProbeResult, run_probe
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from status_service import aggregates, incidents, maintenances, subscriptions
from status_service.alertmanager import AlertSource, AlertsUnavailable
from status_service.health_model import (
    STATUS_LEVELS,
    ComponentStatus,
    Observation,
    Policy,
    UnitState,
    UnitTracker,
    component_status,
)
from status_service.metrics import COMPONENT_STATUS, OPEN_INCIDENTS, PROBE_LATENCY
from status_service.models import Check, DailyStat, Incident, Maintenance, MinuteStat
from status_service.units import TargetsError, Unit, load_profile

log = logging.getLogger("status.monitor")
T = TypeVar("T")
HISTORY_DAYS = 90
SPARK_MINUTES = 60
PRUNE_EVERY = timedelta(hours=1)


@dataclass
class History:
    """What the page shows from the database, refreshed after each change."""

    daily: dict[str, dict[date, DailyStat]] = field(default_factory=dict)
    spark: dict[str, list[float | None]] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    maintenances: list[Maintenance] = field(default_factory=list)


@dataclass(frozen=True)
class Retention:
    raw: timedelta
    aggregates: timedelta


class Monitor:
    def __init__(
        self,
        *,
        db: Database,
        targets_file: Path,
        self_name: str,
        policy: Policy,
        interval_s: float,
        timeout_s: float,
        grace_s: float,
        retention: Retention,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.targets_file = targets_file
        self.self_name = self_name
        self.policy = policy
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.grace_s = grace_s
        self.retention = retention
        self.clock = clock
        self.units: list[Unit] = []
        self.roles: dict[str, str] = {}
        self.trackers: dict[str, UnitTracker] = {}
        self.observations: dict[str, Observation] = {}
        self.statuses: dict[str, ComponentStatus] = {}
        self.maintenance: dict[str, str] = {}
        self.history = History()
        self.updated_at = clock()
        self.targets_error: str | None = None
        self.alert_source: AlertSource | None = None
        # Since when Alertmanager has not answered: alert incidents are not reconciled meanwhile.
        self.alerts_stale_since: datetime | None = None
        self.version = 0  # bumped on every visible change: the page cache's key
        self.lock = asyncio.Lock()  # one writer of incidents at a time
        self._started = time.monotonic()
        self._started_at = clock()
        # Maintenances whose planned work this process has seen happen (see maintenances.py).
        self._work_seen: set[int] = set()
        self._raw_statuses: dict[str, ComponentStatus] = {}
        self._mtime: float | None = None
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="probe")
        self._inflight: dict[str, Future[ProbeResult]] = {}
        self._last_rollup: datetime | None = None
        self._last_prune: datetime | None = None

    # ---- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            began = time.monotonic()
            try:
                await self.cycle()
            except Exception:  # one bad cycle must not end the polling
                log.exception("polling cycle failed")
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - began)))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def cycle(self) -> None:
        self._reload_targets()
        if not self.units:
            return
        asked_at = self.clock()
        results, active = await asyncio.gather(
            asyncio.gather(*(self._probe(u) for u in self.units)), self._active_alerts(asked_at)
        )
        now = self.clock()
        observed = dict(zip((u.name for u in self.units), results, strict=True))
        states: dict[str, UnitState] = {}
        for unit in self.units:
            obs = observed[unit.name]
            tracker = self.trackers.setdefault(unit.name, UnitTracker())
            states[unit.name] = tracker.observe(obs, self.policy)
            PROBE_LATENCY.labels(unit.component).observe(obs.latency_ms / 1000)
        statuses = self._statuses(states)
        self._raw_statuses = self._statuses(states, honour_maintenance=False)
        changed = statuses != self.statuses
        try:
            async with self.lock:
                touched = await self.transaction(
                    lambda s: (
                        self._persist(s, now, observed, states, statuses)
                        | self._reconcile_alerts(s, active, asked_at, now)
                    )  # `|`: both run
                )
        except Exception as exc:  # the page keeps serving from memory; /health says why
            log.warning("cannot store the checks of this cycle: %s", exc)
            touched = False
        history = await self._fetch_history() if touched or changed else None
        # Statuses and the incidents they opened are published together, in one step of the
        # event loop: no reader sees a component down without its incident, or the reverse.
        self.statuses, self.observations, self.updated_at = statuses, observed, now
        for component, status in statuses.items():
            COMPONENT_STATUS.labels(component).set(STATUS_LEVELS[status])
        self._publish(history)

    def _statuses(
        self, states: dict[str, UnitState], *, honour_maintenance: bool = True
    ) -> dict[str, ComponentStatus]:
        by_component: dict[str, list[UnitState | None]] = {}
        for unit in self.units:
            by_component.setdefault(unit.component, []).append(states.get(unit.name))
        return {
            c: component_status(units, in_maintenance=honour_maintenance and c in self.maintenance)
            for c, units in by_component.items()
        }

    def _work_done(self, window: Maintenance, observed: dict[str, Observation]) -> bool:
        """Planned work is done once it has happened (this process started after it began, or
        one of its probes failed since) and its components are operational again, each unit
        seen answering by this process."""
        members = [u for u in self.units if u.component in window.components]
        if window.started_at is not None and (
            self._started_at > window.started_at
            or any(not observed[u.name].ok for u in members if u.name in observed)
        ):
            self._work_seen.add(window.id)
        # Judged on this cycle's answers too: hysteresis holds a unit up for a failure or two.
        return window.id in self._work_seen and all(
            self._raw_statuses.get(u.component) == "operational"
            and self.trackers.get(u.name, UnitTracker()).seen_up
            and u.name in observed
            and observed[u.name].ok
            for u in members
        )

    # ---- probing --------------------------------------------------------------------------

    async def _probe(self, unit: Unit) -> Observation:
        if unit.probe is None:
            return await self._probe_self()
        pending = self._inflight.get(unit.name)
        if pending is not None and not pending.done():
            # Its last probe is still stuck past its timeout: don't stack threads behind it.
            return Observation(False, self.timeout_s * 1000, detail="previous probe still hung")
        future = self._pool.submit(run_probe, unit.probe, timeout=self.timeout_s)
        self._inflight[unit.name] = future
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s + 1)
        except TimeoutError:
            return Observation(
                False, (self.timeout_s + 1) * 1000, detail=f"no answer in {self.timeout_s + 1:g}s"
            )
        return Observation(result.ok, result.latency_ms, warn=result.warn, detail=result.detail)

    async def _probe_self(self) -> Observation:
        """This service, judged in-process: it is answering (this code runs) and its database
        ping tells whether it can keep history. No HTTP to itself, hence no self-inflicted loop."""
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self.db.probe(), self.timeout_s)
            warn, detail = False, "serving; database reachable"
        except Exception as exc:
            warn, detail = True, f"serving from memory; database unreachable: {exc}"[:300]
        elapsed = (time.perf_counter() - started) * 1000
        return Observation(True, elapsed, warn=warn, detail=detail)

    async def _active_alerts(self, now: datetime) -> set[str] | None:
        """The fingerprints of Alertmanager's active alerts; None when there is no Alertmanager
        in the profile, or it did not answer (then the page says its alert data is stale)."""
        source = self.alert_source
        if source is None:
            self.alerts_stale_since = None
            return None
        try:
            active = await asyncio.to_thread(
                source.active_fingerprints, timeout=self.timeout_s, now=now
            )
        except AlertsUnavailable as exc:
            if self.alerts_stale_since is None:
                log.warning(
                    "Alertmanager's alerts unavailable (%s): no alert incident is "
                    "reconciled until it answers",
                    exc,
                )
                self.alerts_stale_since = now
            return None
        if self.alerts_stale_since is not None:
            log.info("Alertmanager answers again: alert incidents reconciled")
            self.alerts_stale_since = None
        return active

    # ---- targets --------------------------------------------------------------------------

    def _reload_targets(self) -> None:
        try:
            mtime = self.targets_file.stat().st_mtime
        except OSError:
            if self.targets_error is None:
                log.warning("waiting for %s (written by `python -m stack up`)", self.targets_file)
            self.targets_error = f"no target profile at {self.targets_file} yet"
            return
        if mtime == self._mtime:
            return
        try:
            profile = load_profile(self.targets_file, self_name=self.self_name)
        except TargetsError as exc:
            log.error("%s", exc)
            self.targets_error = str(exc)
            self._mtime = mtime
            return
        self.units, self._mtime, self.targets_error = profile.units, mtime, None
        self.alert_source = profile.alerts
        self.roles = {u.component: u.role for u in profile.units}
        log.info("probing %d units of %s", len(profile.units), self.targets_file)

    # ---- the database ---------------------------------------------------------------------

    async def transaction(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.db.sessions.begin() as session:
                return work(session)

        return await asyncio.to_thread(run)

    def _suppressed(self) -> set[str]:
        """Components that open no outage incident now: in maintenance, or still starting
        (within the start-up grace, none of their units has been up yet)."""
        suppressed = set(self.maintenance)
        if time.monotonic() - self._started < self.grace_s:
            seen: dict[str, bool] = {}
            for unit in self.units:
                up = self.trackers.get(unit.name, UnitTracker()).seen_up
                seen[unit.component] = seen.get(unit.component, False) or up
            suppressed |= {c for c, up in seen.items() if not up}
        return suppressed

    def _persist(
        self,
        session: Session,
        now: datetime,
        observed: dict[str, Observation],
        states: dict[str, UnitState],
        statuses: dict[str, ComponentStatus],
    ) -> bool:
        session.add_all(
            Check(
                component=u.component,
                unit=u.name,
                at=now,
                ok=observed[u.name].ok,
                state=states[u.name],
                latency_ms=round(observed[u.name].latency_ms, 2),
                status=statuses[u.component],
                # The detail of a passing probe says nothing new: store it for failures only.
                detail=observed[u.name].detail[:500]
                if not observed[u.name].ok or observed[u.name].warn
                else "",
            )
            for u in self.units
        )
        moved = maintenances.advance(
            session,
            now=now,
            done=lambda window: self._work_done(window, observed),
            overrun_ends=time.monotonic() - self._started < self.grace_s,
            notify=subscriptions.notify_maintenance,
        )
        maintenance = maintenances.under_way(session)
        maintenance_changed = moved or maintenance != self.maintenance
        self.maintenance = maintenance
        changed = incidents.reconcile_outages(
            session, dict(statuses), now=now, suppressed=self._suppressed()
        )
        if self._last_rollup is None or now - self._last_rollup >= timedelta(minutes=1):
            session.flush()
            aggregates.rollup(session, now)
            self._last_rollup = now
            changed = True
        if self._last_prune is None or now - self._last_prune >= PRUNE_EVERY:
            aggregates.prune(
                session, now, raw=self.retention.raw, aggregates=self.retention.aggregates
            )
            self._last_prune = now
        return changed or maintenance_changed

    def _reconcile_alerts(
        self, session: Session, active: set[str] | None, asked_at: datetime, now: datetime
    ) -> bool:
        if active is None:  # no Alertmanager, or no answer: no ground to resolve anything on
            return False
        return incidents.reconcile_alerts(session, active, asked_at=asked_at, now=now)

    async def restore(self) -> None:
        """The units' last stored states: after a restart the page resumes, not restarts."""
        try:
            rows = await self.transaction(_last_states)
        except Exception as exc:
            log.warning("cannot restore the last states: %s", exc)
            return
        for unit, state in rows.items():
            if state in ("up", "degraded", "down"):
                self.trackers[unit] = UnitTracker(state)  # type: ignore[arg-type]
        try:
            self.maintenance = await self.transaction(maintenances.under_way)
        except Exception as exc:
            log.warning("cannot restore the maintenances under way: %s", exc)
        # Show the restored states at once: an empty page would read "all operational".
        self._reload_targets()
        self.statuses = self._statuses({n: t.state for n, t in self.trackers.items() if t.state})
        await self.refresh_history()

    async def _fetch_history(self) -> History | None:
        try:
            return await self.transaction(_load_history)
        except Exception as exc:
            log.warning("cannot load the history: %s", exc)
            return None

    def _publish(self, history: History | None) -> None:
        if history is not None:
            self.history = history
            OPEN_INCIDENTS.set(sum(1 for i in history.incidents if i.resolved_at is None))
        self.version += 1  # cached answers are stale (at least `updated_at` moved)

    async def refresh_history(self) -> None:
        self._publish(await self._fetch_history())

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run an incident-changing transaction (webhook, admin API), then refresh the page."""
        async with self.lock:
            result = await self.transaction(work)
        await self.refresh_history()
        return result

    def known_components(self) -> set[str]:
        return {u.component for u in self.units}

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per component in profile order, for the page and the JSON API."""
        rows, seen = [], set()
        for unit in self.units:
            if unit.component in seen:
                continue
            seen.add(unit.component)
            members = [u for u in self.units if u.component == unit.component]
            observed = [self.observations[u.name] for u in members if u.name in self.observations]
            rows.append(
                {
                    "name": unit.component,
                    "role": self.roles.get(unit.component, ""),
                    "group": unit.group,
                    "internal": unit.internal,
                    "status": self.statuses.get(unit.component, "operational"),
                    "units": len(members),
                    "units_down": sum(
                        1
                        for u in members
                        if self.trackers.get(u.name, UnitTracker()).state == "down"
                    ),
                    "latency_ms": max((o.latency_ms for o in observed), default=None),
                    "detail": "; ".join(o.detail for o in observed if not o.ok or o.warn),
                    "maintenance": self.maintenance.get(unit.component),
                }
            )
        return rows


def _last_states(session: Session) -> dict[str, str]:
    latest = select(Check.unit, func.max(Check.id).label("id")).group_by(Check.unit).subquery()
    rows = session.execute(select(Check.unit, Check.state).join(latest, Check.id == latest.c.id))
    return {unit: state for unit, state in rows}


def _load_history(session: Session) -> History:
    now = datetime.now(UTC)
    first_day = (now - timedelta(days=HISTORY_DAYS - 1)).date()
    daily: dict[str, dict[date, DailyStat]] = {}
    for row in session.scalars(select(DailyStat).where(DailyStat.day >= first_day)):
        daily.setdefault(row.component, {})[row.day] = row
    since = aggregates.minute_of(now - timedelta(minutes=SPARK_MINUTES - 1))
    minutes: dict[str, dict[datetime, float | None]] = {}
    for m in session.scalars(select(MinuteStat).where(MinuteStat.minute >= since)):
        minutes.setdefault(m.component, {})[m.minute] = m.p95_ms
    slots = [since + timedelta(minutes=i) for i in range(SPARK_MINUTES)]
    spark = {c: [values.get(t) for t in slots] for c, values in minutes.items()}
    recent = now - timedelta(days=HISTORY_DAYS)
    found = session.scalars(
        select(Incident)
        .where((Incident.resolved_at.is_(None)) | (Incident.created_at >= recent))
        .order_by(Incident.created_at.desc())
        .limit(200)
    ).all()
    for incident in found:
        incident.updates  # noqa: B018  (loaded now: the page reads them outside the session)
    windows = session.scalars(
        select(Maintenance)
        .where(Maintenance.status.in_(maintenances.OPEN_STATES) | (Maintenance.ends_at >= recent))
        .order_by(Maintenance.starts_at.desc())
        .limit(50)
    ).all()
    session.expunge_all()
    return History(daily=daily, spark=spark, incidents=list(found), maintenances=list(windows))
