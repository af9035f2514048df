"""Tables (SQLAlchemy). Raw checks are kept 48 h, aggregates 90 days (retention.yaml);
incidents, their updates and maintenance windows are the page's history; subscribers, their
deliveries (the outbox) and the last hour's sign-ups are its subscriptions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """This service's own metadata: no table is shared with another service."""


class Check(Base):
    """One probe of one unit (a component, or one replica of it) in one polling cycle. All
    units of a cycle share `at`; `status` is their component's status after that cycle."""

    __tablename__ = "checks"
    __table_args__ = (
        Index("ix_checks_component_at", "component", "at"),
        Index("ix_checks_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    component: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))  # the unit's state after hysteresis
    latency_ms: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class MinuteStat(Base):
    __tablename__ = "minute_stats"

    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    up_samples: Mapped[int] = mapped_column(Integer)
    p50_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    p95_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class DailyStat(Base):
    __tablename__ = "daily_stats"

    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    up_samples: Mapped[int] = mapped_column(Integer)
    p50_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    p95_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_open", "resolved_at"),
        Index("ix_incidents_fingerprint", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # investigating|identified|monitoring|resolved
    impact: Mapped[str] = mapped_column(String(16))  # none|minor|major|critical
    source: Mapped[str] = mapped_column(String(16))  # outage|alert|manual
    component: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    monitoring_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # what resolved it: "reconcile" (Alertmanager no longer held its alert) may be reopened
    resolved_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident", order_by="IncidentUpdate.id.desc()", lazy="selectin"
    )


class IncidentUpdate(Base):
    __tablename__ = "incident_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    incident: Mapped[Incident] = relationship(back_populates="updates")


class Maintenance(Base):
    """A maintenance window, in Statuspage's states: scheduled -> in_progress -> (verifying)
    -> completed. Planned work (`until_healthy`) stays in progress past `ends_at` until its
    components are operational again, then completes."""

    __tablename__ = "maintenances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    components: Mapped[list[str]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    body: Mapped[str] = mapped_column(Text, default="")
    until_healthy: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Notification(Base):
    """An Alertmanager webhook notification as received (the last 200 are kept)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    receiver: Mapped[str] = mapped_column(String(200))
    group_key: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Subscriber(Base):
    """A visitor who asked to be told: an email address (pending until its confirmation link
    is followed) or a webhook URL (confirmed at once). The tokens go out in links, so they are
    kept as issued: every notice must carry the unsubscribe link again."""

    __tablename__ = "subscribers"
    __table_args__ = (
        Index("ux_subscribers_address", "kind", "address", unique=True),
        Index("ux_subscribers_confirm_token", "confirm_token", unique=True),
        Index("ux_subscribers_unsubscribe_token", "unsubscribe_token", unique=True),
        Index("ix_subscribers_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # email|webhook
    address: Mapped[str] = mapped_column(String(2048))  # the address (lower case) or the URL
    state: Mapped[str] = mapped_column(String(16))  # pending|confirmed|failing|unsubscribed
    confirm_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unsubscribe_token: Mapped[str] = mapped_column(String(64))
    # The page's base URL as the subscriber reached it (PUBLIC_URL wins when set): the links
    # in its notices, written later by the courier, which has no request to ask.
    page_url: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Deliveries that failed for good in a row; a webhook is `failing` after a few.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)


class Delivery(Base):
    """One notice to one subscriber: the outbox row the courier sends, retries with backoff,
    and keeps as the record. `payload` holds the public facts as they were when it was queued;
    the message itself is written when sent (it needs the page's title and URLs)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_subscriber", "subscriber_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # confirmation|incident|maintenance
    event: Mapped[str] = mapped_column(String(16))  # the incident's status, the window's step
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text, default="")  # emails: as sent
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))  # pending|sent|failed|cancelled
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SignUp(Base):
    """An accepted sign-up, kept an hour: the limits per address and per client count these,
    so they hold across restarts."""

    __tablename__ = "signups"
    __table_args__ = (Index("ix_signups_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(2048))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
