"""Incidents: opened and resolved by outages (reconciled every polling cycle), by Alertmanager
notifications (deduplicated by fingerprint, and reconciled every polling cycle with the alerts
Alertmanager holds) and by hand. Every change is an update on the incident's timeline. An
alert's incident says what public_text.py writes for it, never the alert's own detail (kept
as received, for the admin API). Maintenance windows suppress the automatic ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from status_service import maintenances, public_text, subscriptions
from status_service.alerts import Alert, WebhookPayload
from status_service.health_model import OUTAGES, STATUS_LABELS
from status_service.models import Incident, IncidentUpdate, Notification

IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
Impact = Literal["none", "minor", "major", "critical"]
KEEP_NOTIFICATIONS = 200
SEVERITY_IMPACT: dict[str, Impact] = {"critical": "major", "warning": "minor", "info": "none"}
RECONCILED = "reconcile"  # `resolved_by` of an incident closed because its alert was gone
# An alert back within this long reopens the incident its absence closed: Alertmanager lost it
# in a restart, and Prometheus sent it again (it resends firing alerts every minute).
REOPEN_WITHIN = timedelta(hours=1)


def open_incident(
    session: Session,
    *,
    name: str,
    impact: Impact,
    source: str,
    body: str,
    now: datetime,
    component: str | None = None,
    fingerprint: str | None = None,
    status: IncidentStatus = "investigating",
) -> Incident:
    incident = Incident(
        name=name[:200],
        status=status,
        impact=impact,
        source=source,
        component=component,
        fingerprint=fingerprint,
        created_at=now,
        updated_at=now,
        started_at=now,
    )
    session.add(incident)
    session.flush()
    add_update(session, incident, status=status, body=body, now=now)
    return incident


def add_update(
    session: Session, incident: Incident, *, status: IncidentStatus, body: str, now: datetime
) -> IncidentUpdate:
    """A timeline entry; it moves the incident to `status` (resolved sets `resolved_at`)."""
    update = IncidentUpdate(incident_id=incident.id, status=status, body=body, created_at=now)
    session.add(update)
    incident.status = status
    incident.updated_at = now
    if status == "monitoring" and incident.monitoring_at is None:
        incident.monitoring_at = now
    if status == "resolved":
        incident.resolved_at = incident.resolved_at or now
    else:
        incident.resolved_at = None  # an update after resolution reopens it
        incident.resolved_by = None
    session.flush()
    session.expire(incident, ["updates"])
    subscriptions.notify_incident(session, incident, update, now)  # queued: never waits
    return update


def open_outages(session: Session) -> dict[str, Incident]:
    rows = session.scalars(
        select(Incident).where(Incident.source == "outage", Incident.resolved_at.is_(None))
    ).all()
    return {i.component: i for i in rows if i.component}


def reconcile_outages(
    session: Session, statuses: dict[str, str], *, now: datetime, suppressed: set[str]
) -> bool:
    """Make the open outage incidents match the components' statuses: one open incident per
    component in outage (unless suppressed: maintenance, start-up grace), none otherwise.
    State-based, so a cycle missed while the database was away is caught up. True if changed."""
    changed = False
    incidents = open_outages(session)
    for component, status in statuses.items():
        incident = incidents.get(component)
        impact: Impact = "major" if status == "major_outage" else "minor"
        label = STATUS_LABELS.get(status, status).lower()
        if status in OUTAGES and incident is None and component not in suppressed:
            open_incident(
                session,
                name=f"{component}: {label}",
                impact=impact,
                source="outage",
                component=component,
                body=f"Automatic: {component} is in {label}; its health probe fails.",
                now=now,
            )
            changed = True
        elif status in OUTAGES and incident is not None and incident.impact != impact:
            incident.impact = impact
            add_update(
                session,
                incident,
                status="identified",
                body=f"{component} is now in {label}.",
                now=now,
            )
            changed = True
        elif status not in OUTAGES and incident is not None:
            add_update(
                session,
                incident,
                status="resolved",
                body=f"Automatic: {component} recovered ({label}).",
                now=now,
            )
            changed = True
    return changed


def alert_component(alert: Alert, known: set[str]) -> str | None:
    """The component an alert is about: its `component`, `service` or `job` label, if known."""
    for key in ("component", "service", "job"):
        value = alert.labels.get(key)
        if value in known:
            return value
    return None


def apply_notification(
    session: Session,
    payload: WebhookPayload,
    *,
    raw: dict[str, Any],
    now: datetime,
    known: set[str],
) -> list[int]:
    """Store the notification (the last 200 are kept) and open or resolve one incident per
    alert fingerprint. Returns the ids of the incidents it opened or resolved."""
    session.add(
        Notification(
            received_at=now,
            status=payload.status,
            receiver=payload.receiver,
            group_key=payload.groupKey,
            payload=raw,
        )
    )
    maintenance = maintenances.under_way(session)
    touched = []
    for alert in payload.alerts:
        current = session.scalars(
            select(Incident).where(
                Incident.fingerprint == alert.fingerprint, Incident.resolved_at.is_(None)
            )
        ).first()
        component = alert_component(alert, known)
        if alert.status == "firing" and current is None:
            if component is not None and component in maintenance:
                continue  # planned work: the alert is expected
            closed = _reopenable(session, alert.fingerprint, now)
            if closed is not None:
                _reopen(session, closed, now)
                touched.append(closed.id)
                continue
            severity = alert.labels.get("severity", "warning")
            incident = open_incident(
                session,
                name=public_text.alert_title(alert, component),
                impact=SEVERITY_IMPACT.get(severity, "minor"),
                source="alert",
                component=component,
                fingerprint=alert.fingerprint,
                body=public_text.alert_body(alert, component),
                now=now,
            )
            touched.append(incident.id)
        elif alert.status == "resolved" and current is not None:
            add_update(session, current, status="resolved", body=public_text.RESOLVED_BODY, now=now)
            touched.append(current.id)
    session.flush()
    _trim_notifications(session)
    return touched


def reconcile_alerts(
    session: Session, active: set[str], *, asked_at: datetime, now: datetime
) -> bool:
    """Make the alert incidents follow the alerts Alertmanager holds (`active`, fingerprints,
    as it answered at `asked_at`): an open incident whose alert it no longer holds is resolved
    (its resolved notification was lost: the stack went down first, or Alertmanager
    restarted); one closed that way whose alert is back is reopened. Only incidents opened
    before Alertmanager was asked are judged: a notification since is newer than its answer.
    True if anything changed."""
    changed = False
    gone = session.scalars(
        select(Incident).where(
            Incident.source == "alert",
            Incident.resolved_at.is_(None),
            Incident.fingerprint.is_not(None),
            Incident.created_at < asked_at,
        )
    ).all()
    for incident in gone:
        if incident.fingerprint in active:
            continue
        add_update(
            session,
            incident,
            status="resolved",
            body="Resolved: the alert behind this incident is no longer active.",
            now=now,
        )
        incident.resolved_by = RECONCILED
        changed = True
    back = session.scalars(
        select(Incident).where(
            Incident.source == "alert",
            Incident.resolved_by == RECONCILED,
            Incident.resolved_at >= now - REOPEN_WITHIN,
            Incident.resolved_at < asked_at,
            Incident.fingerprint.in_(active),
        )
    ).all()
    for incident in back:
        if incident.fingerprint and _reopenable(session, incident.fingerprint, now) is incident:
            _reopen(session, incident, now)
            changed = True
    return changed


def _reopenable(session: Session, fingerprint: str, now: datetime) -> Incident | None:
    """The incident of `fingerprint` closed lately by reconciliation, if no other is open."""
    latest = session.scalars(
        select(Incident)
        .where(Incident.source == "alert", Incident.fingerprint == fingerprint)
        .order_by(Incident.id.desc())
        .limit(1)
    ).first()
    if (
        latest is None
        or latest.resolved_by != RECONCILED
        or latest.resolved_at is None
        or now - latest.resolved_at > REOPEN_WITHIN
    ):
        return None
    return latest


def _reopen(session: Session, incident: Incident, now: datetime) -> None:
    add_update(
        session,
        incident,
        status="investigating",
        body="The alert behind this incident is active again.",
        now=now,
    )


def _trim_notifications(session: Session) -> None:
    count = session.scalar(select(func.count()).select_from(Notification)) or 0
    if count > KEEP_NOTIFICATIONS:
        keep = (
            select(Notification.id).order_by(Notification.id.desc()).limit(KEEP_NOTIFICATIONS)
        ).scalar_subquery()
        session.execute(delete(Notification).where(Notification.id.not_in(keep)))
