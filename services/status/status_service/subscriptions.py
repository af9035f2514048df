"""Subscriptions: visitors ask to be told about incidents and maintenance, by email (from the
moment they follow the link of a confirmation email) or by webhook (at once). Sign-ups are
limited per address and per client, counted in the database so a restart forgets nothing.

`notify_incident` and `notify_maintenance` only queue deliveries, one per confirmed
subscriber, in the caller's transaction (the outbox): the courier (courier.py) sends them, so
no request and no polling cycle ever waits on a mail server or a webhook. What is queued is
public text only: the incident's name and updates, its component, the window's description."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from status_service.models import (
    Delivery,
    Incident,
    IncidentUpdate,
    Maintenance,
    SignUp,
    Subscriber,
)
from status_service.signup import SignUpRequest

MaintenanceEvent = Literal["scheduled", "started", "completed"]
SIGNUP_WINDOW = timedelta(hours=1)
PER_ADDRESS = 3  # sign-ups of one address (email or URL) per window
PER_CLIENT = 10  # sign-ups from one client address per window
# Sign-ups are counted and recorded one at a time (a transaction-scoped advisory lock), so
# two at once cannot both slip under a limit.
_SIGNUP_LOCK = int.from_bytes(b"signup", "big")  # any constant of this service's own


class SignUpLimited(Exception):
    """Too many sign-ups (HTTP 429): the message says which limit, `retry_after` when."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignedUp:
    kind: str
    state: str
    unsubscribe_token: str


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits; URL-safe, 43 characters


def subscribe(
    session: Session, request: SignUpRequest, *, client: str, page_url: str, now: datetime
) -> SignedUp:
    """Record a sign-up (within the limits) and make the subscriber: an email address is
    pending and gets a confirmation email (again, if it was pending or had unsubscribed); a
    webhook is confirmed at once (again, if it was failing or had unsubscribed)."""
    client = client[:64]  # as stored: a longer one must not slip past its own count
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SIGNUP_LOCK})
    session.execute(delete(SignUp).where(SignUp.at <= now - SIGNUP_WINDOW))
    _check_limit(session, SignUp.address == request.address, PER_ADDRESS, "for this address", now)
    _check_limit(session, SignUp.client == client, PER_CLIENT, "from your network address", now)
    session.add(SignUp(address=request.address, client=client, at=now))
    subscriber = session.scalars(
        select(Subscriber).where(
            Subscriber.kind == request.kind, Subscriber.address == request.address
        )
    ).first()
    if subscriber is None:
        subscriber = Subscriber(
            kind=request.kind,
            address=request.address,
            state="pending",
            unsubscribe_token=new_token(),
            page_url=page_url,
            created_at=now,
            consecutive_failures=0,
        )
        session.add(subscriber)
    elif subscriber.state == "unsubscribed":
        subscriber.state, subscriber.unsubscribed_at = "pending", None
        subscriber.unsubscribe_token = new_token()  # links of the old subscription stay dead
    subscriber.page_url = page_url
    if request.kind == "webhook" and subscriber.state != "confirmed":
        subscriber.state, subscriber.confirmed_at = "confirmed", now
        subscriber.consecutive_failures = 0
    if subscriber.state == "pending":  # an email address, until its link is followed
        subscriber.confirm_token = subscriber.confirm_token or new_token()
        session.flush()
        _queue(session, [subscriber.id], kind="confirmation", event="confirm", payload={}, now=now)
    session.flush()
    return SignedUp(subscriber.kind, subscriber.state, subscriber.unsubscribe_token)


def _check_limit(session: Session, which: Any, limit: int, whose: str, now: datetime) -> None:
    since = now - SIGNUP_WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(SignUp.at)).where(which, SignUp.at > since)
    ).one()
    if count >= limit:
        wait = max(1, math.ceil((oldest + SIGNUP_WINDOW - now).total_seconds()))
        raise SignUpLimited(
            f"too many sign-ups {whose}: at most {limit} an hour; try again in {wait} s",
            retry_after=wait,
        )


def confirm(session: Session, token: str, now: datetime) -> Subscriber | None:
    """The subscriber whose confirmation link this is, confirmed (None: no such link)."""
    subscriber = session.scalars(
        select(Subscriber).where(Subscriber.confirm_token == token)
    ).first()
    if subscriber is not None and subscriber.state == "pending":
        subscriber.state, subscriber.confirmed_at = "confirmed", now
    return subscriber


def find_by_unsubscribe_token(session: Session, token: str) -> Subscriber | None:
    return session.scalars(select(Subscriber).where(Subscriber.unsubscribe_token == token)).first()


def unsubscribe(session: Session, token: str, now: datetime) -> Subscriber | None:
    """Unsubscribed for good: nothing queued for it is sent, its confirmation link is dead."""
    subscriber = find_by_unsubscribe_token(session, token)
    if subscriber is None:
        return None
    if subscriber.state != "unsubscribed":
        subscriber.state, subscriber.unsubscribed_at = "unsubscribed", now
        subscriber.confirm_token = None
    cancel_pending(session, subscriber.id, "unsubscribed")
    return subscriber


def cancel_pending(session: Session, subscriber_id: int, reason: str) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.state == "pending")
        .values(state="cancelled", last_error=reason)
    )


# ---- what subscribers are told ------------------------------------------------------------


def notify_incident(
    session: Session, incident: Incident, update: IncidentUpdate, now: datetime
) -> None:
    """Queue the incident's new timeline entry (its opening, an update, its resolution)."""
    payload = {"incident": incident_facts(incident), "update_id": str(update.id)}
    _queue(
        session, _confirmed(session), kind="incident", event=update.status, payload=payload, now=now
    )


def notify_maintenance(
    session: Session, maintenance: Maintenance, event: MaintenanceEvent, now: datetime
) -> None:
    """Queue a maintenance window's step: scheduled, started, or completed."""
    payload = {"maintenance": maintenance_facts(maintenance)}
    _queue(session, _confirmed(session), kind="maintenance", event=event, payload=payload, now=now)


def _confirmed(session: Session) -> list[int]:
    return list(session.scalars(select(Subscriber.id).where(Subscriber.state == "confirmed")))


def _queue(
    session: Session,
    subscriber_ids: list[int],
    *,
    kind: str,
    event: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    session.add_all(
        Delivery(
            subscriber_id=subscriber_id,
            kind=kind,
            event=event,
            payload=payload,
            subject="",
            created_at=now,
            attempts=0,
            next_attempt_at=now,
            state="pending",
            last_error="",
        )
        for subscriber_id in subscriber_ids
    )


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _components(names: list[str]) -> list[dict[str, str]]:
    return [{"id": name, "name": name} for name in names]


def incident_facts(incident: Incident) -> dict[str, Any]:
    """The incident in Statuspage's webhook shape, less what depends on where the page is
    served (shortlink, added when sent). Its updates come newest first, as Statuspage's."""
    return {
        "id": str(incident.id),
        "name": incident.name,
        "status": incident.status,
        "impact": incident.impact,
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "started_at": iso(incident.started_at),
        "monitoring_at": iso(incident.monitoring_at),
        "resolved_at": iso(incident.resolved_at),
        "components": _components([incident.component] if incident.component else []),
        "incident_updates": [
            {
                "id": str(u.id),
                "incident_id": str(incident.id),
                "status": u.status,
                "body": u.body,
                "created_at": iso(u.created_at),
                "updated_at": iso(u.created_at),
                "display_at": iso(u.created_at),
            }
            for u in sorted(incident.updates, key=lambda u: u.id, reverse=True)
        ],
    }


def maintenance_facts(maintenance: Maintenance) -> dict[str, Any]:
    """The window, with Statuspage's names for its times (scheduled_for, scheduled_until)."""
    return {
        "id": str(maintenance.id),
        "name": maintenance.name,
        "status": maintenance.status,
        "impact": "maintenance",
        "body": maintenance.body,
        "scheduled_for": iso(maintenance.starts_at),
        "scheduled_until": iso(maintenance.ends_at),
        "started_at": iso(maintenance.started_at),
        "completed_at": iso(maintenance.completed_at),
        "created_at": iso(maintenance.created_at),
        "components": _components(list(maintenance.components)),
    }


# ---- the operators' view ------------------------------------------------------------------


def list_subscribers(session: Session) -> list[dict[str, Any]]:
    """Every subscriber with its state and how many deliveries were sent, failed, pending."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(Delivery.subscriber_id, Delivery.state, func.count()).group_by(
            Delivery.subscriber_id, Delivery.state
        )
    )
    for subscriber_id, state, count in rows:
        counts.setdefault(subscriber_id, {})[state] = count
    return [
        {
            "id": str(s.id),
            "kind": s.kind,
            "address": s.address,
            "state": s.state,
            "created_at": iso(s.created_at),
            "confirmed_at": iso(s.confirmed_at),
            "unsubscribed_at": iso(s.unsubscribed_at),
            "consecutive_failures": s.consecutive_failures,
            "deliveries": {
                state: counts.get(s.id, {}).get(state, 0)
                for state in ("sent", "failed", "pending", "cancelled")
            },
        }
        for s in session.scalars(select(Subscriber).order_by(Subscriber.id))
    ]
