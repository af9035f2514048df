"""Maintenance windows, in Statuspage's states: `scheduled` until `starts_at`, `in_progress`
(its components show "under maintenance" and open no automatic incident), an optional
`verifying` set by hand, then `completed`.

A window ends at `ends_at`. Planned work (`until_healthy`: `stack restart`, `stack down` then
`up`) ends instead once the work has happened (this process started after it began, or a
probe of one of its components failed since) and every one of its components has then been
seen operational by this process. Its `ends_at` is only an estimate, enforced once this
process has been watching for longer than its start-up grace (the stack may have stayed down
for hours). Every move is told to the subscribers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_service.models import Maintenance

MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
OPEN_STATES = ("scheduled", "in_progress", "verifying")
UNDER_WAY = ("in_progress", "verifying")
Event = Literal["scheduled", "started", "completed"]
# Called for every move a subscriber is told about (subscriptions.notify_maintenance).
Notify = Callable[[Session, Maintenance, Event, datetime], None]


def _no_notify(session: Session, window: Maintenance, event: Event, now: datetime) -> None:
    return None


def schedule(
    session: Session,
    *,
    name: str,
    components: list[str],
    starts_at: datetime,
    ends_at: datetime,
    body: str,
    until_healthy: bool,
    now: datetime,
    notify: Notify = _no_notify,
) -> Maintenance:
    window = Maintenance(
        name=name[:200],
        components=components,
        starts_at=starts_at,
        ends_at=ends_at,
        body=body,
        until_healthy=until_healthy,
        status="scheduled",
        created_at=now,
    )
    session.add(window)
    session.flush()
    notify(session, window, "scheduled", now)
    advance_one(session, window, now=now, done=lambda _: False, overrun_ends=False, notify=notify)
    return window


def under_way(session: Session) -> dict[str, str]:
    """component -> the name of the maintenance in progress on it."""
    windows = session.scalars(select(Maintenance).where(Maintenance.status.in_(UNDER_WAY))).all()
    return {c: w.name for w in windows for c in w.components}


def advance(
    session: Session,
    *,
    now: datetime,
    done: Callable[[Maintenance], bool],
    overrun_ends: bool,
    notify: Notify = _no_notify,
) -> bool:
    """Move every open window along its states. `done(window)`: its planned work happened and
    its components are operational again; `overrun_ends`: planned work may outlast its
    `ends_at` (this process started lately). True if anything moved."""
    windows = session.scalars(select(Maintenance).where(Maintenance.status.in_(OPEN_STATES)))
    moved = False
    for window in windows:
        moved |= advance_one(
            session, window, now=now, done=done, overrun_ends=overrun_ends, notify=notify
        )
    return moved


def advance_one(
    session: Session,
    window: Maintenance,
    *,
    now: datetime,
    done: Callable[[Maintenance], bool],
    overrun_ends: bool,
    notify: Notify,
) -> bool:
    if window.status == "scheduled" and window.starts_at <= now:
        window.status, window.started_at = "in_progress", now
        notify(session, window, "started", now)
        return True
    if window.status not in UNDER_WAY or window.started_at is None or window.started_at >= now:
        return False  # planned work is judged from the cycle after it began
    if window.until_healthy:
        over = done(window) or (now >= window.ends_at and not overrun_ends)
    else:
        over = now >= window.ends_at
    if over:
        complete(session, window, now=now, notify=notify)
    return over


def complete(session: Session, window: Maintenance, *, now: datetime, notify: Notify) -> None:
    window.status, window.completed_at = "completed", now
    notify(session, window, "completed", now)


def set_status(
    session: Session,
    window: Maintenance,
    status: MaintenanceStatus,
    *,
    now: datetime,
    notify: Notify = _no_notify,
) -> None:
    """A move by hand (the admin API): start early, verify, or complete."""
    if status == "completed":
        complete(session, window, now=now, notify=notify)
        return
    if status in UNDER_WAY and window.started_at is None:
        window.started_at = now
        notify(session, window, "started", now)
    window.status = status
