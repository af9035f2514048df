"""The transactional outbox: an event is a row written in the same transaction as the change
it announces; a relay publishes unsent rows with publisher confirms, then marks them sent.
While RabbitMQ is down rows wait; delivery is at least once (consumers are idempotent).
Messages are published `mandatory`: an event no queue is bound for yet stays in the outbox.

Message body: {"event_id", "type", "occurred_at", "data"}; AMQP message_id = event_id.
Hand-written: the outbox packages on PyPI are young one-author projects or tied to another
framework or broker, and this one is only a table, a loop and a publish with confirms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from aio_pika.exceptions import DeliveryError
from prometheus_client import Counter, Gauge
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from chassis.db import Database
from chassis.messaging import Broker, BrokerUnavailable

log = logging.getLogger("chassis.outbox")
PUBLISHED = Counter("outbox_published", "Events published from the outbox", ["type"])
PENDING = Gauge("outbox_pending", "Events left unsent by the relay's last pass (at most one batch)")
TABLE = "outbox"


def outbox_columns() -> list[Column[Any]]:
    """Fresh columns, for `op.create_table("outbox", *outbox_columns())` in a migration."""
    return [
        Column("event_id", Uuid, primary_key=True),
        Column("type", String(100), nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
    ]


def outbox_table(metadata: MetaData) -> Table:
    table = Table(TABLE, metadata, *outbox_columns())
    Index("ix_outbox_unsent", table.c.occurred_at, postgresql_where=table.c.sent_at.is_(None))
    return table


_table = outbox_table(MetaData())


def add_event(session: Session, event_type: str, data: dict[str, Any]) -> uuid.UUID:
    """Stage an event in the caller's transaction; it is published only if that commits."""
    event_id = uuid.uuid4()
    occurred_at = datetime.now(UTC)
    payload = {
        "event_id": str(event_id),
        "type": event_type,
        "occurred_at": occurred_at.isoformat(),
        "data": data,
    }
    session.execute(
        insert(_table).values(
            event_id=event_id, type=event_type, payload=payload, occurred_at=occurred_at
        )
    )
    return event_id


class OutboxRelay:
    """Background task: every `interval_s`, publish up to `batch` unsent events in order."""

    def __init__(
        self, db: Database, broker: Broker, *, interval_s: float = 0.5, batch: int = 100
    ) -> None:
        self.db = db
        self.broker = broker
        self.interval_s = interval_s
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.relay_once()
            except BrokerUnavailable:
                pass
            except Exception:
                log.exception("outbox relay failed; retrying")
            await asyncio.sleep(self.interval_s)

    async def relay_once(self) -> int:
        """Publish what is pending; returns how many events went out."""
        if not self.broker.connected:
            return 0
        rows = await asyncio.to_thread(self._pending)
        sent = 0
        for event_id, event_type, payload in rows:
            try:
                await self.broker.publish(
                    event_type, json.dumps(payload).encode(), message_id=str(event_id)
                )
            except DeliveryError:
                # Returned as unroutable: no queue is bound yet. Keep it for a later pass.
                log.debug("no queue bound for %s; event %s kept", event_type, event_id)
                await asyncio.to_thread(self._count_attempt, event_id)
                continue
            except Exception:
                await asyncio.to_thread(self._count_attempt, event_id)
                raise
            await asyncio.to_thread(self._mark_sent, event_id)
            PUBLISHED.labels(event_type).inc()
            sent += 1
        PENDING.set(len(rows) - sent)
        return sent

    def _pending(self) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
        with self.db.sessions() as session:
            rows = session.execute(
                select(_table.c.event_id, _table.c.type, _table.c.payload)
                .where(_table.c.sent_at.is_(None))
                .order_by(_table.c.occurred_at)
                .limit(self.batch)
            )
            return [(r.event_id, r.type, r.payload) for r in rows]

    def _mark_sent(self, event_id: uuid.UUID) -> None:
        with self.db.sessions.begin() as session:
            session.execute(
                update(_table)
                .where(_table.c.event_id == event_id)
                .values(sent_at=datetime.now(UTC), attempts=_table.c.attempts + 1)
            )

    def _count_attempt(self, event_id: uuid.UUID) -> None:
        with self.db.sessions.begin() as session:
            session.execute(
                update(_table)
                .where(_table.c.event_id == event_id)
                .values(attempts=_table.c.attempts + 1)
            )
