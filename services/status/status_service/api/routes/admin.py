"""The authenticated side (`Authorization: Bearer <admin token>`): Alertmanager's webhook,
the notifications it received (alerts with all their detail), the components' probe detail,
manual incidents and their updates, maintenance windows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_service import incidents as book
from status_service import maintenances, subscriptions
from status_service.alerts import PayloadError, parse_payload
from status_service.api.deps import Admin, MonitorDep
from status_service.models import Incident, Maintenance, Notification

router = APIRouter(prefix="/api/v1", tags=["admin"], dependencies=[Admin])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    status: Literal["investigating", "identified", "monitoring", "resolved"] = "investigating"
    impact: Literal["none", "minor", "major", "critical"] = "minor"
    body: str = Field(min_length=1, max_length=5000)
    component: str | None = None


class UpdateCreate(_In):
    status: Literal["investigating", "identified", "monitoring", "resolved"]
    body: str = Field(min_length=1, max_length=5000)


class MaintenanceCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    components: list[str] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    body: str = Field(default="", max_length=5000, description="what visitors read about it")
    until_healthy: bool = Field(
        default=False,
        description="planned work: in progress until its components are operational again "
        "(ends_at is an estimate)",
    )


class MaintenanceUpdate(_In):
    status: Literal["in_progress", "verifying", "completed"]


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/alerts", status_code=200)
async def receive_alerts(request: Request, monitor: MonitorDep) -> dict[str, Any]:
    """Alertmanager's webhook (payload version 4). Incidents are deduplicated by fingerprint."""
    try:
        payload, raw = parse_payload(await request.body())
    except PayloadError as exc:
        raise HTTPException(400, f"not an Alertmanager v4 webhook payload: {exc}") from None
    known = monitor.known_components()
    touched = await monitor.write(
        lambda s: book.apply_notification(s, payload, raw=raw, now=_now(), known=known)
    )
    return {"status": "accepted", "alerts": len(payload.alerts), "incidents": touched}


@router.get("/alerts")
async def received_alerts(monitor: MonitorDep) -> list[dict[str, Any]]:
    """The last 200 notifications, newest first, as received."""

    def load(session: Session) -> list[dict[str, Any]]:
        rows = session.scalars(select(Notification).order_by(Notification.id.desc()).limit(200))
        return [
            {
                "received_at": r.received_at.isoformat(),
                "status": r.status,
                "receiver": r.receiver,
                "groupKey": r.group_key,
                "alerts": r.payload.get("alerts", []),
                "payload": r.payload,
            }
            for r in rows
        ]

    return await monitor.transaction(load)


@router.get("/components")
async def component_detail(monitor: MonitorDep) -> list[dict[str, Any]]:
    """Each component's status with what its failing probes said (addresses, errors): the
    detail the public page leaves out."""
    return monitor.summary_rows()


@router.post("/incidents", status_code=201)
async def create_incident(body: IncidentCreate, monitor: MonitorDep) -> dict[str, Any]:
    def create(session: Session) -> int:
        incident = book.open_incident(
            session,
            name=body.name,
            impact=body.impact,
            source="manual",
            body=body.body,
            now=_now(),
            component=body.component,
            status=body.status,
        )
        return incident.id

    return {"id": str(await monitor.write(create))}


@router.post("/incidents/{incident_id}/updates", status_code=201)
async def update_incident(
    incident_id: int, body: UpdateCreate, monitor: MonitorDep
) -> dict[str, Any]:
    def update(session: Session) -> int | None:
        incident = session.get(Incident, incident_id)
        if incident is None:
            return None
        return book.add_update(session, incident, status=body.status, body=body.body, now=_now()).id

    created = await monitor.write(update)
    if created is None:
        raise HTTPException(404, f"no incident {incident_id}")
    return {"id": str(created), "incident_id": str(incident_id), "status": body.status}


@router.post("/maintenances", status_code=201)
async def create_maintenance(body: MaintenanceCreate, monitor: MonitorDep) -> dict[str, Any]:
    if body.ends_at <= body.starts_at:
        raise HTTPException(400, f"ends_at {body.ends_at} must be after starts_at {body.starts_at}")
    known = monitor.known_components()
    unknown = sorted(set(body.components) - known) if known else []
    if unknown:
        raise HTTPException(400, f"unknown components {unknown}; known: {', '.join(sorted(known))}")

    def create(session: Session) -> tuple[int, str]:
        window = maintenances.schedule(
            session,
            name=body.name,
            components=body.components,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            body=body.body,
            until_healthy=body.until_healthy,
            now=_now(),
            notify=subscriptions.notify_maintenance,
        )
        return window.id, window.status

    created, status = await monitor.write(create)
    return {"id": str(created), "status": status}


@router.post("/maintenances/{maintenance_id}/status")
async def move_maintenance(
    maintenance_id: int, body: MaintenanceUpdate, monitor: MonitorDep
) -> dict[str, Any]:
    """Start a window early, mark it verifying, or complete it."""

    def move(session: Session) -> str | None:
        window = session.get(Maintenance, maintenance_id)
        if window is None:
            return None
        if window.status == "completed":
            return "completed"
        maintenances.set_status(
            session, window, body.status, now=_now(), notify=subscriptions.notify_maintenance
        )
        return "moved"

    outcome = await monitor.write(move)
    if outcome is None:
        raise HTTPException(404, f"no maintenance {maintenance_id}")
    if outcome == "completed":
        raise HTTPException(409, f"maintenance {maintenance_id} is completed; schedule a new one")
    return {"id": str(maintenance_id), "status": body.status}


@router.get("/maintenances")
async def list_maintenances(monitor: MonitorDep) -> list[dict[str, Any]]:
    def load(session: Session) -> list[dict[str, Any]]:
        rows = session.scalars(select(Maintenance).order_by(Maintenance.starts_at.desc()))
        return [
            {
                "id": str(m.id),
                "name": m.name,
                "status": m.status,
                "components": m.components,
                "starts_at": m.starts_at.isoformat(),
                "ends_at": m.ends_at.isoformat(),
                "until_healthy": m.until_healthy,
                "started_at": m.started_at.isoformat() if m.started_at else None,
                "completed_at": m.completed_at.isoformat() if m.completed_at else None,
                "body": m.body,
            }
            for m in rows
        ]

    return await monitor.transaction(load)
